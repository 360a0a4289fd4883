package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vigil-ipsec/vigil/crypto"
)

// Lazily built per-SA state.
//
// The expanded AES key schedules and GHASH tables of an AES-GCM SA take about
// 1.4 KiB, several times the rest of the SA, and a gateway with 100,000
// tunnels has most of them idle at any moment. So New only copies the keys,
// and the first Seal or Open builds the cipher state from them. The state
// lives behind an atomic pointer: once built, getting it costs one atomic
// load (a plain load on amd64 and arm64), the same as reading a field.
//
// Packets racing on a fresh SA each build a state (a few microseconds, no
// locks) and try to install theirs with a compare-and-swap; the losers
// switch to the winner's. All candidates are built from the same keys and
// are interchangeable, so a packet that went through a losing candidate is
// byte for byte what the winner would have produced.
//
// Release drops the state again; the next packet rebuilds it. It is safe at
// any time because a state is never modified after it is installed and the
// values that must survive (sequence counter, replay window, keys) are not
// part of it.

// cipherState is the cipher material Seal and Open use. It is immutable once
// installed in an SA.
type cipherState struct {
	aead cipher.AEAD // AEAD suites
	salt [saltLen]byte
	cbc  *cbcState // AES-CBC + HMAC suites
}

// cbcState holds the AES-CBC + HMAC material. The pools let Seal and Open
// reuse CBC modes and HMAC instances without allocating per packet.
type cbcState struct {
	block   cipher.Block // data key
	ivBlock cipher.Block // IV key (see cbc.go)
	encPool sync.Pool    // cbcMode encrypters
	decPool sync.Pool    // cbcMode decrypters
	macPool sync.Pool    // hash.Hash (HMAC keyed with the integrity key)
}

// cbcMode is a cipher.BlockMode whose IV can be reset, which lets pooled
// modes be reused across packets. crypto/cipher's AES CBC modes provide it.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// state returns the SA's cipher state, building it on first use.
func (s *SA) state() *cipherState {
	if st := s.cipher.Load(); st != nil {
		return st
	}
	return s.buildState()
}

// buildState builds a cipher state and installs it unless another goroutine
// was first, returning the installed one.
func (s *SA) buildState() *cipherState {
	st, err := s.newState()
	if err != nil {
		// New checked the key lengths and that the platform accepts the
		// suite, which is all the constructors check.
		panic(fmt.Sprintf("esp: building the cipher state of %v: %v", s, err))
	}
	for {
		if s.cipher.CompareAndSwap(nil, st) {
			return st
		}
		// Release may have emptied the slot again since the failed swap.
		if cur := s.cipher.Load(); cur != nil {
			return cur
		}
	}
}

// newState expands the SA's keys into a cipher state.
func (s *SA) newState() (*cipherState, error) {
	keys, n := s.keyMaterial(), int(s.keyLen)
	if s.isAEAD() {
		a, err := newAEAD(s.encr, keys[:n])
		if err != nil {
			return nil, err
		}
		st := &cipherState{aead: a}
		copy(st.salt[:], keys[n:n+saltLen])
		return st, nil
	}
	macKey := keys[n : len(keys)-ivKeyLen]
	b, err := aes.NewCipher(keys[:n])
	if err != nil {
		return nil, err
	}
	ivb, err := aes.NewCipher(keys[len(keys)-ivKeyLen:])
	if err != nil {
		return nil, err
	}
	newHash := hmacHash(s.integ)
	c := &cbcState{block: b, ivBlock: ivb}
	c.macPool.New = func() any { return hmac.New(newHash, macKey) }
	var zeroIV [cbcIVLen]byte
	c.encPool.New = func() any { return cipher.NewCBCEncrypter(b, zeroIV[:]) }
	c.decPool.New = func() any { return cipher.NewCBCDecrypter(b, zeroIV[:]) }
	return &cipherState{cbc: c}, nil
}

// newAEAD builds the AEAD of an AEAD suite from its key (without the salt).
func newAEAD(encr uint16, key []byte) (cipher.AEAD, error) {
	if encr == crypto.EncrChaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// hmacHash is the hash function of an HMAC-SHA2 integrity transform.
func hmacHash(integ uint16) func() hash.Hash {
	switch integ {
	case crypto.IntegHMACSHA384192:
		return sha512.New384
	case crypto.IntegHMACSHA512256:
		return sha512.New
	}
	return sha256.New
}

// Release drops the SA's cipher state, returning its memory to the garbage
// collector; the next Seal or Open builds it again from the keys, at the
// cost of a key expansion (about a microsecond). Callers may use it for SAs
// that have carried no traffic for a long time. Packets being processed
// while Release runs finish with the state they started with.
func (s *SA) Release() { s.cipher.Store(nil) }

// seqCounter returns the SA's sequence counter, creating it on the first
// Seal. The counter is never dropped: sequence numbers must not repeat.
func (s *SA) seqCounter() *seqCounter {
	if c := s.seq.Load(); c != nil {
		return c
	}
	return s.newSeqCounter()
}

// newSeqCounter installs a counter unless another goroutine was first, and
// returns the installed one. (Kept apart so that seqCounter is inlined.)
func (s *SA) newSeqCounter() *seqCounter {
	s.seq.CompareAndSwap(nil, new(seqCounter))
	return s.seq.Load()
}

// replayWindow returns the SA's replay window, creating it for the first
// packet Open accepts. Until then Open's pre-check treats the window as empty,
// which it is, so forged packets sent to an idle SA do not allocate one.
func (s *SA) replayWindow() *ReplayWindow {
	if w := s.replay.Load(); w != nil {
		return w
	}
	s.replay.CompareAndSwap(nil, NewReplayWindow(int(s.windowSize())))
	return s.replay.Load()
}

// suiteUsable reports whether this process can build the given suite's
// cipher at all: FIPS 140-only mode, for one, refuses AES-GCM with nonces
// chosen by the caller and ChaCha20-Poly1305 whatever the key. Each suite is
// tried once per process, with a zero key.
func suiteUsable(encr uint16) error {
	switch encr {
	case crypto.EncrAESGCM16:
		return gcmUsable()
	case crypto.EncrChaCha20Poly1305:
		return chachaUsable()
	}
	return nil // AES-CBC and HMAC-SHA2: New's checks suffice
}

var (
	gcmUsable = sync.OnceValue(func() error {
		_, err := newAEAD(crypto.EncrAESGCM16, make([]byte, 16))
		return err
	})
	chachaUsable = sync.OnceValue(func() error {
		_, err := newAEAD(crypto.EncrChaCha20Poly1305, make([]byte, chacha20poly1305.KeySize))
		return err
	})
)
