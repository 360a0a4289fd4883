package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vigil-ipsec/vigil/crypto"
)

// Next Header values of interest to a tunnel-mode dataplane.
const (
	NextHeaderIPv4  uint8 = 4
	NextHeaderIPv6  uint8 = 41
	NextHeaderDummy uint8 = 59 // "no next header": dummy packet, RFC 4303 2.6
)

const (
	espHdrLen = 8  // SPI + sequence number
	saltLen   = 4  // RFC 4106 / RFC 7634 salt
	aeadIVLen = 8  // explicit IV carried in the packet
	aeadTag   = 16 // GCM-16 and Poly1305 tags
	cbcIVLen  = aes.BlockSize
	ivKeyLen  = 16 // AES-128 key deriving CBC IVs (cbc.go)
)

// Config describes one direction of a child SA. Keys are copied by New; the
// caller may wipe or reuse its slices afterwards. Config's String and GoString
// methods never print key material.
type Config struct {
	SPI  uint32
	Encr uint16 // crypto.EncrAESCBC, crypto.EncrAESGCM16 or crypto.EncrChaCha20Poly1305
	// EncrKey is, for AEAD ciphers, the key followed by the 4-byte salt
	// (RFC 4106 section 8.1, RFC 7634 section 2): 20, 28 or 36 bytes for
	// AES-GCM, 36 for ChaCha20-Poly1305. For AES-CBC it is the 16, 24 or
	// 32-byte AES key.
	EncrKey []byte
	// Integ must be crypto.IntegNone with AEAD ciphers and one of the HMAC-SHA2
	// transforms with AES-CBC.
	Integ uint16
	// IntegKey is 32, 48 or 64 bytes for HMAC-SHA-256/384/512 (RFC 4868).
	IntegKey []byte
	// ESN enables 64-bit Extended Sequence Numbers (RFC 4303 section 2.2.1).
	ESN bool
	// ReplayWindow is the inbound anti-replay window in packets: 0 selects
	// 1024; other values are raised to at least 1024 and rounded up to a
	// multiple of 64. At most 65536.
	ReplayWindow int
}

// String describes c without key material.
func (c Config) String() string {
	return fmt.Sprintf("esp.Config{SPI:%#08x Encr:%s EncrKey:[%d bytes] Integ:%s IntegKey:[%d bytes] ESN:%t ReplayWindow:%d}",
		c.SPI, encrName(c.Encr), len(c.EncrKey), integName(c.Integ), len(c.IntegKey), c.ESN, c.ReplayWindow)
}

// GoString is like String, so that %#v does not print keys either.
func (c Config) GoString() string { return c.String() }

func encrName(id uint16) string {
	switch id {
	case crypto.EncrAESCBC:
		return "AES-CBC"
	case crypto.EncrAESGCM16:
		return "AES-GCM-16"
	case crypto.EncrChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("encr(%d)", id)
}

func integName(id uint16) string {
	switch id {
	case crypto.IntegNone:
		return "none"
	case crypto.IntegHMACSHA256128:
		return "HMAC-SHA2-256-128"
	case crypto.IntegHMACSHA384192:
		return "HMAC-SHA2-384-192"
	case crypto.IntegHMACSHA512256:
		return "HMAC-SHA2-512-256"
	}
	return fmt.Sprintf("integ(%d)", id)
}

// Stats is a cheap snapshot of an SA's counters.
type Stats struct {
	// LastSeq is the last sequence number handed out by Seal (0 if none).
	// Compare it with the 2^32-1 (or 2^64-1 with ESN) limit to rekey in
	// time.
	LastSeq uint64
	// ReplayTop is the highest authenticated sequence number accepted by
	// Open (0 if none).
	ReplayTop uint64
}

// SA is one direction of an ESP security association in tunnel mode. All
// methods are safe for concurrent use: several goroutines may call Seal, and
// several may call Open, at the same time.
//
// A gateway holds many SAs that carry no traffic for long stretches, so an SA
// is built small: New keeps the parameters and a copy of the keys (48 bytes
// plus the keys). What a packet needs is built by the first packet that needs
// it (see lazy.go): the cipher state on the first Seal or Open, the sequence
// counter on the first Seal and the replay window on the first authentic
// packet Open accepts. An outbound SA therefore never has a replay window,
// and an inbound one never has a sequence counter.
type SA struct {
	spi    uint32
	encr   uint16
	integ  uint16
	esn    bool
	hdrLen uint8  // 8 + IV length
	icvLen uint8  // ICV bytes after the ciphertext (AEAD tag or truncated HMAC)
	align  uint8  // plaintext alignment: 4 (AEAD) or 16 (CBC)
	keyLen uint8  // cipher key length in bytes (without the AEAD salt)
	window uint16 // replay window size in 64-packet blocks

	// keys points to the encryption key (with the salt for AEAD suites),
	// followed for AES-CBC by the integrity key and the IV key (cbc.go):
	// everything the cipher state is built from; keyMaterial returns it as
	// a slice. A bare pointer rather than a slice saves 16 bytes per SA,
	// and fmt prints a pointer inside a struct as an address, so even
	// printing the SA's fields (rather than its String) shows no key byte.
	keys *byte

	cipher atomic.Pointer[cipherState]  // nil until the first packet
	replay atomic.Pointer[ReplayWindow] // nil until Open accepts a packet
	seq    atomic.Pointer[seqCounter]   // nil until the first Seal
}

// seqCounter is the outbound sequence counter, the only field Seal writes. It
// is allocated alone and fills a 64-byte cache line, so that concurrent
// writers do not keep invalidating the line holding the SA's read-mostly
// fields (an allocation of exactly 64 bytes is 64-byte aligned).
type seqCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// New validates c and builds an SA. Keys are copied; c may be modified after
// New returns. New checks everything that could make building the cipher
// state fail, so that the packet path never has to report a configuration
// error.
func New(c Config) (*SA, error) {
	if c.ReplayWindow < 0 || c.ReplayWindow > MaxReplayWindow {
		return nil, fmt.Errorf("%w: replay window %d outside 0..%d", ErrConfig, c.ReplayWindow, MaxReplayWindow)
	}
	if c.SPI == 0 {
		return nil, fmt.Errorf("%w: SPI 0 is reserved", ErrConfig)
	}
	s := &SA{
		spi:    c.SPI,
		encr:   c.Encr,
		integ:  c.Integ,
		esn:    c.ESN,
		window: uint16(normaliseWindow(c.ReplayWindow) / 64),
	}
	var err error
	switch c.Encr {
	case crypto.EncrAESGCM16, crypto.EncrChaCha20Poly1305:
		err = s.initAEAD(c)
	case crypto.EncrAESCBC:
		err = s.initCBC(c)
	default:
		return nil, fmt.Errorf("%w: unsupported encryption transform %d", ErrConfig, c.Encr)
	}
	if err != nil {
		return nil, err
	}
	// Some platforms refuse a cipher whatever the key (FIPS 140-only mode
	// refuses GCM with caller-chosen nonces, and ChaCha20-Poly1305): ask
	// once per suite, so that New reports it rather than the first packet.
	if err := suiteUsable(c.Encr); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, encrName(c.Encr), err)
	}
	return s, nil
}

func (s *SA) initAEAD(c Config) error {
	if c.Integ != crypto.IntegNone {
		return fmt.Errorf("%w: %s is an AEAD cipher and takes no integrity transform (got %s)",
			ErrConfig, encrName(c.Encr), integName(c.Integ))
	}
	n := len(c.EncrKey) - saltLen
	switch {
	case c.Encr == crypto.EncrAESGCM16 && (n == 16 || n == 24 || n == 32):
	case c.Encr == crypto.EncrChaCha20Poly1305 && n == chacha20poly1305.KeySize:
	default:
		return fmt.Errorf("%w: %s key+salt length %d is invalid", ErrConfig, encrName(c.Encr), len(c.EncrKey))
	}
	s.keys = &bytes.Clone(c.EncrKey)[0]
	s.keyLen = uint8(n)
	s.hdrLen = espHdrLen + aeadIVLen
	s.icvLen = aeadTag
	s.align = 4
	return nil
}

func (s *SA) initCBC(c Config) error {
	switch len(c.EncrKey) {
	case 16, 24, 32:
	default:
		return fmt.Errorf("%w: AES-CBC key length %d is invalid", ErrConfig, len(c.EncrKey))
	}
	icv := 0
	switch c.Integ {
	case crypto.IntegHMACSHA256128, crypto.IntegHMACSHA384192, crypto.IntegHMACSHA512256:
		icv = hmacICVLen(c.Integ)
	case crypto.IntegNone:
		return fmt.Errorf("%w: AES-CBC requires an integrity transform", ErrConfig)
	default:
		return fmt.Errorf("%w: unsupported integrity transform %d", ErrConfig, c.Integ)
	}
	// RFC 4868 section 2.1.1: the key is as long as the hash output.
	if want := icv * 2; len(c.IntegKey) != want {
		return fmt.Errorf("%w: %s key length %d, want %d", ErrConfig, integName(c.Integ), len(c.IntegKey), want)
	}
	// keys = AES key | HMAC key | IV key. See cbc.go for why IVs come from a
	// separate random AES key; it is drawn here, not with the cipher state,
	// so that the IVs depend on nothing but the SA.
	keys := make([]byte, 0, len(c.EncrKey)+len(c.IntegKey)+ivKeyLen)
	keys = append(append(keys, c.EncrKey...), c.IntegKey...)
	keys = keys[:cap(keys)]
	if _, err := rand.Read(keys[len(keys)-ivKeyLen:]); err != nil {
		return fmt.Errorf("esp: generating IV key: %w", err)
	}
	s.keys = &keys[0]
	s.keyLen = uint8(len(c.EncrKey))
	s.hdrLen = espHdrLen + cbcIVLen
	s.icvLen = uint8(icv)
	s.align = aes.BlockSize
	return nil
}

// hmacICVLen is the RFC 4868 ICV length of an HMAC-SHA2 integrity transform:
// half the hash output.
func hmacICVLen(integ uint16) int {
	switch integ {
	case crypto.IntegHMACSHA384192:
		return 24
	case crypto.IntegHMACSHA512256:
		return 32
	}
	return 16
}

// SPI returns the SA's Security Parameter Index.
func (s *SA) SPI() uint32 { return s.spi }

// HeaderLen returns the number of bytes before the ciphertext: 8 (SPI and
// sequence number) plus the IV length (8 for AEAD, 16 for CBC).
func (s *SA) HeaderLen() int { return int(s.hdrLen) }

// tailLen is the number of bytes after the ciphertext: the ICV (for AEAD
// suites, the tag the AEAD appends).
func (s *SA) tailLen() int { return int(s.icvLen) }

// Overhead returns the worst-case number of bytes Seal adds to an inner
// packet: header, IV, maximum padding, Pad Length, Next Header and ICV.
func (s *SA) Overhead() int { return int(s.hdrLen) + int(s.align) - 1 + 2 + s.tailLen() }

// SealedLen returns the exact length of the ESP packet Seal produces for an
// inner packet of n bytes.
func (s *SA) SealedLen(n int) int { return int(s.hdrLen) + s.ptLen(n) + s.tailLen() }

// ptLen is the padded plaintext length (inner, padding, Pad Length, Next
// Header) for an inner packet of n bytes.
func (s *SA) ptLen(n int) int {
	a := int(s.align)
	return (n + 2 + a - 1) &^ (a - 1)
}

// isAEAD reports whether the SA uses an AEAD suite (rather than AES-CBC with
// HMAC).
func (s *SA) isAEAD() bool { return s.encr != crypto.EncrAESCBC }

// keyMaterial returns the keys New copied (see SA.keys).
func (s *SA) keyMaterial() []byte {
	n := int(s.keyLen)
	if s.isAEAD() {
		n += saltLen
	} else {
		n += 2*int(s.icvLen) + ivKeyLen
	}
	return unsafe.Slice(s.keys, n)
}

// windowSize is the replay window width in packets.
func (s *SA) windowSize() uint64 { return uint64(s.window) * 64 }

// Stats returns a snapshot of the SA's counters.
func (s *SA) Stats() Stats {
	var st Stats
	if c := s.seq.Load(); c != nil {
		st.LastSeq = c.n.Load()
	}
	if w := s.replay.Load(); w != nil {
		st.ReplayTop = w.Top()
	}
	return st
}

// String describes the SA without key material.
func (s *SA) String() string {
	integ := integName(s.integ)
	return fmt.Sprintf("esp.SA{spi=%#08x %s-%d integ=%s esn=%t window=%d}",
		s.spi, encrName(s.encr), int(s.keyLen)*8, integ, s.esn, s.windowSize())
}

// GoString is like String, so that %#v does not print keys.
func (s *SA) GoString() string { return s.String() }

// nextSeq atomically takes the next outbound sequence number. A CAS loop
// (rather than Add) guarantees the counter never moves past maxSeq, so it
// can never wrap back to a used value however many callers race at the end.
func (s *SA) nextSeq() (uint64, error) {
	limit := uint64(math.MaxUint32)
	if s.esn {
		limit = math.MaxUint64
	}
	c := s.seqCounter()
	for {
		cur := c.n.Load()
		if cur >= limit {
			return 0, ErrSeqExhausted
		}
		if c.n.CompareAndSwap(cur, cur+1) {
			return cur + 1, nil
		}
	}
}

// scratch holds the small per-packet buffers (nonce, AAD, MAC output). Passing
// stack arrays to interface methods (cipher.AEAD, hash.Hash) would make them
// escape to the heap on every packet, so they come from a pool instead.
type scratch struct {
	nonce [saltLen + aeadIVLen]byte
	aad   [12]byte
	blk   [aes.BlockSize]byte
	hi    [4]byte
	sum   [sha512.Size]byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// aad fills sc.aad per RFC 4106 section 5 / RFC 7634 section 2.1: SPI|Seq
// (8 bytes) or, with ESN, SPI|Seq-high|Seq-low (12 bytes). On receipt spi is
// taken from the packet, so that a packet whose SPI was altered fails
// authentication like any other modified byte.
func (s *SA) aad(sc *scratch, spi uint32, seq uint64) []byte {
	binary.BigEndian.PutUint32(sc.aad[0:4], spi)
	if !s.esn {
		binary.BigEndian.PutUint32(sc.aad[4:8], uint32(seq))
		return sc.aad[:8]
	}
	binary.BigEndian.PutUint64(sc.aad[4:12], seq)
	return sc.aad[:12]
}

// sliceForAppend extends in by n bytes, reusing its capacity when possible,
// and returns the whole slice and the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// anyOverlap reports whether x and y share any memory.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}
