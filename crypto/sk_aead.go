package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// AEAD framing for the SK payload (RFC 5282, RFC 7634).
const (
	aeadSaltLen = 4
	aeadIVLen   = 8
	aeadTagLen  = 16
)

// aeadSK protects SK payloads with AES-GCM-16 or ChaCha20-Poly1305. The
// nonce is salt (4 bytes from the key material) | IV (8 bytes, sent).
//
// The cipher state (AES key schedule and GHASH tables: about 1.5 KiB) is
// built from the key on first use: an IKE SA exchanges a few messages at its
// start and then, for hours, nothing but the odd rekey or liveness check,
// and a gateway may hold 100,000 of them. newAEADSK only checks that it can
// be built (key length, and once per process that the platform allows the
// cipher at all), so a tunnel set-up builds each direction's state once, for
// IKE_AUTH, rather than once more to throw away.
type aeadSK struct {
	aead   atomic.Pointer[cipher.AEAD] // nil until first use
	encr   uint16
	keyLen uint8
	key    [aeadMaxKeyLen]byte // the encryption key without the salt, in key[:keyLen]
	salt   [aeadSaltLen]byte
	ctr    atomic.Uint64 // next IV
}

// aeadMaxKeyLen is the longest AEAD key: AES-256 and ChaCha20-Poly1305. The
// key is held in the cipher's own struct, one allocation rather than two.
const aeadMaxKeyLen = 32

func buildAEAD(encr uint16, k []byte) (cipher.AEAD, error) {
	switch encr {
	case EncrAESGCM16:
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	case EncrChaCha20Poly1305:
		return chacha20poly1305.New(k)
	}
	return nil, fmt.Errorf("not an AEAD cipher")
}

// aeadUsable reports why this process cannot build an AEAD cipher with a
// key of keyLen bytes, or nil. The lengths are all the constructors check
// about a key; the rest depends on the platform only (FIPS 140-only mode
// refuses GCM with caller-chosen nonces and ChaCha20-Poly1305 whatever the
// key), and is tried once per process with a zero key.
func aeadUsable(encr uint16, keyLen int) error {
	switch encr {
	case EncrAESGCM16:
		if keyLen != 16 && keyLen != 24 && keyLen != 32 {
			return fmt.Errorf("invalid AES key length %d", keyLen)
		}
		return gcmUsable()
	case EncrChaCha20Poly1305:
		if keyLen != chacha20poly1305.KeySize {
			return fmt.Errorf("invalid ChaCha20-Poly1305 key length %d", keyLen)
		}
		return chachaUsable()
	}
	return fmt.Errorf("not an AEAD cipher")
}

var (
	gcmUsable = sync.OnceValue(func() error {
		_, err := buildAEAD(EncrAESGCM16, make([]byte, 16))
		return err
	})
	chachaUsable = sync.OnceValue(func() error {
		_, err := buildAEAD(EncrChaCha20Poly1305, make([]byte, chacha20poly1305.KeySize))
		return err
	})
)

func newAEADSK(s Suite, key []byte) (*aeadSK, error) {
	k, salt := key[:len(key)-aeadSaltLen], key[len(key)-aeadSaltLen:]
	if err := aeadUsable(s.Encr, len(k)); err != nil {
		return nil, fmt.Errorf("crypto: %s setup: %w", encrName(s.Encr, s.EncrKeyBits), err)
	}
	c := &aeadSK{encr: s.Encr, keyLen: uint8(len(k))} // at most aeadMaxKeyLen: checked above
	copy(c.key[:], k)
	copy(c.salt[:], salt)
	var start [8]byte
	rand.Read(start[:]) // never fails (Go 1.24+)
	c.ctr.Store(binary.BigEndian.Uint64(start[:]))
	return c, nil
}

// release drops the cipher state; the next use builds it again.
func (c *aeadSK) release() { c.aead.Store(nil) }

// ReleaseSK drops the state an SK cipher can rebuild from its keys (the AEAD's key schedule
// and tables), for an IKE SA that is going quiet: an established SA exchanges nothing for
// long stretches. The next message rebuilds it. Other ciphers are left as they are.
func ReleaseSK(c any) {
	if a, ok := c.(*aeadSK); ok {
		a.release()
	}
}

// SKHoldsState reports whether an SK cipher holds built cipher state (an AEAD's key schedule
// and tables) rather than only its keys. For tests and memory accounting.
func SKHoldsState(c any) bool {
	a, ok := c.(*aeadSK)
	return ok && a.aead.Load() != nil
}

// cipher returns the AEAD, building it on first use. Racing first uses build
// one each and all use the one installed first; every copy is the same.
func (c *aeadSK) cipher() cipher.AEAD {
	if a := c.aead.Load(); a != nil {
		return *a
	}
	a, err := buildAEAD(c.encr, c.key[:c.keyLen])
	if err != nil {
		panic("crypto: AEAD key and cipher checked by newAEADSK refused: " + err.Error())
	}
	c.aead.CompareAndSwap(nil, &a)
	return *c.aead.Load()
}

// aeadNonce is salt | IV. A nonce passed to the cipher.AEAD interface would
// escape to the heap from the stack, so Seal and Open take one from a pool.
type aeadNonce [aeadSaltLen + aeadIVLen]byte

var aeadNonces = sync.Pool{New: func() any { return new(aeadNonce) }}

// nonce returns a pooled nonce holding c's salt; putNonce returns it.
func (c *aeadSK) nonce() *aeadNonce {
	n := aeadNonces.Get().(*aeadNonce)
	copy(n[:], c.salt[:])
	return n
}

func putNonce(n *aeadNonce) {
	clear(n[:]) // the salt is key material
	aeadNonces.Put(n)
}

// SealedLen returns IV + plaintext + pad length byte + tag; no padding
// beyond the pad length byte is added (AEAD ciphers need no alignment).
func (c *aeadSK) SealedLen(plainLen int) int {
	return aeadIVLen + plainLen + 1 + aeadTagLen
}

// Seal appends IV | ciphertext(plaintext | 0x00) | tag to dst.
func (c *aeadSK) Seal(dst, aad, plaintext []byte) []byte {
	n := len(plaintext)
	whole, out := sliceForAppend(dst, c.SealedLen(n))
	body := out[aeadIVLen : aeadIVLen+n+1]
	copy(body, plaintext) // before writing the IV: plaintext may overlap out
	body[n] = 0
	iv := c.ctr.Add(1) - 1
	nonce := c.nonce()
	binary.BigEndian.PutUint64(nonce[aeadSaltLen:], iv)
	copy(out[:aeadIVLen], nonce[aeadSaltLen:])
	c.cipher().Seal(body[:0], nonce[:], body, aad)
	putNonce(nonce)
	return whole
}

// Open authenticates and decrypts body = IV | ciphertext | tag.
func (c *aeadSK) Open(aad, body []byte) ([]byte, error) {
	if len(body) < aeadIVLen+1+aeadTagLen {
		return nil, fmt.Errorf("%w: %d-byte body too short", ErrMalformedSK, len(body))
	}
	nonce := c.nonce()
	copy(nonce[aeadSaltLen:], body[:aeadIVLen])
	pt, err := c.cipher().Open(nil, nonce[:], body[aeadIVLen:], aad)
	putNonce(nonce)
	if err != nil {
		return nil, ErrIntegrity
	}
	return unpad(pt)
}
