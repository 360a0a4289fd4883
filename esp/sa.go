package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
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
type SA struct {
	spi    uint32
	encr   uint16
	integ  uint16
	esn    bool
	hdrLen int    // 8 + IV length
	icvLen int    // ICV bytes after the ciphertext (AEAD tag or truncated HMAC)
	align  int    // plaintext alignment: 4 (AEAD) or 16 (CBC)
	maxSeq uint64 // largest sequence number Seal may use
	keyLen int    // cipher key length in bytes, for String

	// AEAD suites.
	aead cipher.AEAD
	salt [saltLen]byte

	// AES-CBC + HMAC suites.
	block   cipher.Block // data key
	ivBlock cipher.Block // independent random key used to derive IVs
	encPool sync.Pool    // cbcMode encrypters
	decPool sync.Pool    // cbcMode decrypters
	macPool sync.Pool    // hash.Hash (HMAC keyed with the integrity key)

	replay *ReplayWindow

	// seq is written by every Seal; keep it off the cache lines holding the
	// read-mostly fields above.
	_   [64]byte
	seq atomic.Uint64
	_   [56]byte
}

// cbcMode is a cipher.BlockMode whose IV can be reset, which lets pooled
// modes be reused across packets. crypto/cipher's AES CBC modes provide it.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// New validates c and builds an SA. Keys are copied; c may be modified after
// New returns.
func New(c Config) (*SA, error) {
	if c.ReplayWindow < 0 || c.ReplayWindow > MaxReplayWindow {
		return nil, fmt.Errorf("%w: replay window %d outside 0..%d", ErrConfig, c.ReplayWindow, MaxReplayWindow)
	}
	s := &SA{
		spi:    c.SPI,
		encr:   c.Encr,
		integ:  c.Integ,
		esn:    c.ESN,
		maxSeq: math.MaxUint32,
		replay: NewReplayWindow(c.ReplayWindow),
	}
	if c.ESN {
		s.maxSeq = math.MaxUint64
	}
	if c.SPI == 0 {
		return nil, fmt.Errorf("%w: SPI 0 is reserved", ErrConfig)
	}
	switch c.Encr {
	case crypto.EncrAESGCM16, crypto.EncrChaCha20Poly1305:
		if err := s.initAEAD(c); err != nil {
			return nil, err
		}
	case crypto.EncrAESCBC:
		if err := s.initCBC(c); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unsupported encryption transform %d", ErrConfig, c.Encr)
	}
	return s, nil
}

func (s *SA) initAEAD(c Config) error {
	if c.Integ != crypto.IntegNone {
		return fmt.Errorf("%w: %s is an AEAD cipher and takes no integrity transform (got %s)",
			ErrConfig, encrName(c.Encr), integName(c.Integ))
	}
	n := len(c.EncrKey) - saltLen
	var err error
	switch {
	case c.Encr == crypto.EncrAESGCM16 && (n == 16 || n == 24 || n == 32):
		var b cipher.Block
		if b, err = aes.NewCipher(c.EncrKey[:n]); err == nil {
			s.aead, err = cipher.NewGCM(b)
		}
	case c.Encr == crypto.EncrChaCha20Poly1305 && n == chacha20poly1305.KeySize:
		s.aead, err = chacha20poly1305.New(c.EncrKey[:n])
	default:
		return fmt.Errorf("%w: %s key+salt length %d is invalid", ErrConfig, encrName(c.Encr), len(c.EncrKey))
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, encrName(c.Encr), err)
	}
	copy(s.salt[:], c.EncrKey[n:])
	s.keyLen = n
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
	var newHash func() hash.Hash
	var icv int
	switch c.Integ {
	case crypto.IntegHMACSHA256128:
		newHash, icv = sha256.New, 16
	case crypto.IntegHMACSHA384192:
		newHash, icv = sha512.New384, 24
	case crypto.IntegHMACSHA512256:
		newHash, icv = sha512.New, 32
	case crypto.IntegNone:
		return fmt.Errorf("%w: AES-CBC requires an integrity transform", ErrConfig)
	default:
		return fmt.Errorf("%w: unsupported integrity transform %d", ErrConfig, c.Integ)
	}
	// RFC 4868 section 2.1.1: the key is as long as the hash output.
	if want := icv * 2; len(c.IntegKey) != want {
		return fmt.Errorf("%w: %s key length %d, want %d", ErrConfig, integName(c.Integ), len(c.IntegKey), want)
	}
	b, err := aes.NewCipher(c.EncrKey)
	if err != nil {
		return fmt.Errorf("%w: AES-CBC: %v", ErrConfig, err)
	}
	// See cbc.go for why IVs come from a separate random AES key.
	var ivKey [16]byte
	if _, err := rand.Read(ivKey[:]); err != nil {
		return fmt.Errorf("esp: generating IV key: %w", err)
	}
	ivb, err := aes.NewCipher(ivKey[:])
	clear(ivKey[:])
	if err != nil {
		return fmt.Errorf("esp: IV key: %w", err)
	}
	macKey := append([]byte(nil), c.IntegKey...)
	s.block, s.ivBlock = b, ivb
	s.macPool.New = func() any { return hmac.New(newHash, macKey) }
	var zeroIV [cbcIVLen]byte
	s.encPool.New = func() any { return cipher.NewCBCEncrypter(b, zeroIV[:]) }
	s.decPool.New = func() any { return cipher.NewCBCDecrypter(b, zeroIV[:]) }
	s.keyLen = len(c.EncrKey)
	s.hdrLen = espHdrLen + cbcIVLen
	s.icvLen = icv
	s.align = aes.BlockSize
	return nil
}

// SPI returns the SA's Security Parameter Index.
func (s *SA) SPI() uint32 { return s.spi }

// HeaderLen returns the number of bytes before the ciphertext: 8 (SPI and
// sequence number) plus the IV length (8 for AEAD, 16 for CBC).
func (s *SA) HeaderLen() int { return s.hdrLen }

// tailLen is the number of bytes after the ciphertext: the ICV (for AEAD
// suites, the tag the AEAD appends).
func (s *SA) tailLen() int { return s.icvLen }

// Overhead returns the worst-case number of bytes Seal adds to an inner
// packet: header, IV, maximum padding, Pad Length, Next Header and ICV.
func (s *SA) Overhead() int { return s.hdrLen + s.align - 1 + 2 + s.tailLen() }

// SealedLen returns the exact length of the ESP packet Seal produces for an
// inner packet of n bytes.
func (s *SA) SealedLen(n int) int { return s.hdrLen + s.ptLen(n) + s.tailLen() }

// ptLen is the padded plaintext length (inner, padding, Pad Length, Next
// Header) for an inner packet of n bytes.
func (s *SA) ptLen(n int) int { return (n + 2 + s.align - 1) &^ (s.align - 1) }

// Stats returns a snapshot of the SA's counters.
func (s *SA) Stats() Stats {
	return Stats{LastSeq: s.seq.Load(), ReplayTop: s.replay.Top()}
}

// String describes the SA without key material.
func (s *SA) String() string {
	integ := integName(s.integ)
	return fmt.Sprintf("esp.SA{spi=%#08x %s-%d integ=%s esn=%t window=%d}",
		s.spi, encrName(s.encr), s.keyLen*8, integ, s.esn, s.replay.Size())
}

// GoString is like String, so that %#v does not print keys.
func (s *SA) GoString() string { return s.String() }

// nextSeq atomically takes the next outbound sequence number. A CAS loop
// (rather than Add) guarantees the counter never moves past maxSeq, so it
// can never wrap back to a used value however many callers race at the end.
func (s *SA) nextSeq() (uint64, error) {
	for {
		cur := s.seq.Load()
		if cur >= s.maxSeq {
			return 0, ErrSeqExhausted
		}
		if s.seq.CompareAndSwap(cur, cur+1) {
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
