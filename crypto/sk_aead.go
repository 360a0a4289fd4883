package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
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
type aeadSK struct {
	aead cipher.AEAD
	salt [aeadSaltLen]byte
	ctr  atomic.Uint64 // next IV
}

func newAEADSK(s Suite, key []byte) (*aeadSK, error) {
	k, salt := key[:len(key)-aeadSaltLen], key[len(key)-aeadSaltLen:]
	var a cipher.AEAD
	var err error
	switch s.Encr {
	case EncrAESGCM16:
		var b cipher.Block
		if b, err = aes.NewCipher(k); err == nil {
			a, err = cipher.NewGCM(b)
		}
	case EncrChaCha20Poly1305:
		a, err = chacha20poly1305.New(k)
	default:
		err = fmt.Errorf("not an AEAD cipher")
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: %s setup: %w", encrName(s.Encr, s.EncrKeyBits), err)
	}
	c := &aeadSK{aead: a}
	copy(c.salt[:], salt)
	var start [8]byte
	rand.Read(start[:]) // never fails (Go 1.24+)
	c.ctr.Store(binary.BigEndian.Uint64(start[:]))
	return c, nil
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
	var nonce [aeadSaltLen + aeadIVLen]byte
	copy(nonce[:], c.salt[:])
	binary.BigEndian.PutUint64(nonce[aeadSaltLen:], iv)
	copy(out[:aeadIVLen], nonce[aeadSaltLen:])
	c.aead.Seal(body[:0], nonce[:], body, aad)
	return whole
}

// Open authenticates and decrypts body = IV | ciphertext | tag.
func (c *aeadSK) Open(aad, body []byte) ([]byte, error) {
	if len(body) < aeadIVLen+1+aeadTagLen {
		return nil, fmt.Errorf("%w: %d-byte body too short", ErrMalformedSK, len(body))
	}
	var nonce [aeadSaltLen + aeadIVLen]byte
	copy(nonce[:], c.salt[:])
	copy(nonce[aeadSaltLen:], body[:aeadIVLen])
	pt, err := c.aead.Open(nil, nonce[:], body[aeadIVLen:], aad)
	if err != nil {
		return nil, ErrIntegrity
	}
	return unpad(pt)
}
