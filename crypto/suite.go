package crypto

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// Suite is a negotiated algorithm set for an IKE SA or a Child SA.
type Suite struct {
	Encr        uint16 // ENCR transform ID
	EncrKeyBits int    // key size in bits (256 for ChaCha20-Poly1305)
	PRF         uint16 // PRF transform ID; 0 for ESP
	Integ       uint16 // INTEG transform ID; IntegNone with AEAD ciphers
	DH          uint16 // DH group; DHNone (0) means none (no PFS)
	ESN         bool   // extended sequence numbers (ESP only)
}

// String renders the suite in strongSwan proposal syntax, for example
// "aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048" or
// "aes128gcm16-esn". The PRF is omitted when it is the one implied by the
// integrity algorithm, so the output parses back to the same suite.
//
// The name is computed once per suite and then served from a cache: it is logged for every
// IKE SA and Child SA set up, and a gateway negotiates only a handful of suites.
func (s Suite) String() string {
	if name, ok := (*suiteNames.Load())[s]; ok {
		return name
	}
	name := s.format()
	suiteNamesMu.Lock()
	defer suiteNamesMu.Unlock()
	if old := *suiteNames.Load(); len(old) < maxSuiteNames {
		// Copy on write: readers look names up without a lock.
		m := make(map[Suite]string, len(old)+1)
		maps.Copy(m, old)
		m[s] = name
		suiteNames.Store(&m)
	}
	return name
}

// maxSuiteNames bounds the cache of String, against suites that only pass through (a
// peer's proposals that were parsed but not chosen, fuzzing): the first ones stay.
const maxSuiteNames = 64

var (
	suiteNames   atomic.Pointer[map[Suite]string]
	suiteNamesMu sync.Mutex // serialises the writers of suiteNames
)

func init() { suiteNames.Store(&map[Suite]string{}) }

// format builds String's name.
func (s Suite) format() string {
	parts := make([]string, 0, 5)
	parts = append(parts, encrName(s.Encr, s.EncrKeyBits))
	if s.Integ != IntegNone {
		parts = append(parts, integName(s.Integ))
	}
	if s.PRF != 0 && (s.Integ == IntegNone || prfForInteg(s.Integ) != s.PRF) {
		parts = append(parts, prfName(s.PRF))
	}
	if s.DH != DHNone {
		parts = append(parts, dhName(s.DH))
	}
	if s.ESN {
		parts = append(parts, "esn")
	}
	return strings.Join(parts, "-")
}

// AEAD reports whether the encryption algorithm is a combined-mode cipher
// (no separate integrity algorithm).
func (s Suite) AEAD() bool { return aeadEncr(s.Encr) }

// EncrKeyLen returns the number of bytes of keying material taken for the
// encryption algorithm, including the 4-byte salt of AEAD ciphers
// (RFC 5282, RFC 7634): AES-GCM 16/24/32+4, ChaCha20-Poly1305 32+4,
// AES-CBC 16/24/32. It returns 0 for unsupported algorithms.
func (s Suite) EncrKeyLen() int {
	if !validEncr(s.Encr, s.EncrKeyBits) {
		return 0
	}
	n := s.EncrKeyBits / 8
	if s.AEAD() {
		n += aeadSaltLen
	}
	return n
}

// IntegKeyLen returns the integrity key size in bytes: 32, 48 or 64 for
// HMAC-SHA2-256-128, -384-192 and -512-256; 0 for AEAD or NONE.
func (s Suite) IntegKeyLen() int {
	if s.AEAD() {
		return 0
	}
	return integKeyLen(s.Integ)
}

// IntegICVLen returns the truncated ICV length in bytes of an integrity
// algorithm (16, 24 or 32), or 0 for NONE and unsupported IDs.
func IntegICVLen(id uint16) int {
	switch id {
	case IntegHMACSHA256128:
		return 16
	case IntegHMACSHA384192:
		return 24
	case IntegHMACSHA512256:
		return 32
	}
	return 0
}

// integKeyLen returns the key length of an integrity algorithm (RFC 4868:
// the hash output size).
func integKeyLen(id uint16) int {
	return 2 * IntegICVLen(id)
}

// check validates the suite for an IKE SA (ike) or a Child SA.
func (s Suite) check(ike bool) error {
	if !validEncr(s.Encr, s.EncrKeyBits) {
		return fmt.Errorf("crypto: unsupported encryption algorithm %d with %d-bit key", s.Encr, s.EncrKeyBits)
	}
	if s.AEAD() {
		if s.Integ != IntegNone {
			return fmt.Errorf("crypto: AEAD cipher %s combined with integrity algorithm %s",
				encrName(s.Encr, s.EncrKeyBits), integName(s.Integ))
		}
	} else if !validInteg(s.Integ) {
		return fmt.Errorf("crypto: unsupported integrity algorithm %d", s.Integ)
	}
	if s.DH != DHNone && !validDH(s.DH) {
		return fmt.Errorf("crypto: unsupported Diffie-Hellman group %d", s.DH)
	}
	if ike {
		if !validPRF(s.PRF) {
			return fmt.Errorf("crypto: unsupported PRF %d", s.PRF)
		}
		if s.DH == DHNone {
			return fmt.Errorf("crypto: IKE SA suite without a Diffie-Hellman group")
		}
		if s.ESN {
			return fmt.Errorf("crypto: ESN is not valid for an IKE SA")
		}
	} else if s.PRF != 0 {
		return fmt.Errorf("crypto: PRF in a Child SA suite")
	}
	return nil
}

// Check reports why s is not a usable suite for an IKE SA (ike) or a Child SA, or nil.
func (s Suite) Check(ike bool) error { return s.check(ike) }
