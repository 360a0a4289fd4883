package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// gcmCipher is a test double for an RFC 5282 AES-GCM SK cipher: 8-byte
// explicit IV, 16-byte ICV, nonce = 4-byte salt | IV, no padding beyond
// the mandatory pad length byte.
type gcmCipher struct {
	aead    cipher.AEAD
	salt    [4]byte
	counter uint64
	lastAAD []byte
}

func newGCMCipher(key []byte, salt [4]byte) *gcmCipher {
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		panic(err)
	}
	return &gcmCipher{aead: aead, salt: salt}
}

func (g *gcmCipher) SealedLen(n int) int { return 8 + n + 1 + 16 }

func (g *gcmCipher) Seal(dst, aad, plaintext []byte) []byte {
	g.lastAAD = bytes.Clone(aad)
	g.counter++
	var iv [8]byte
	binary.BigEndian.PutUint64(iv[:], g.counter)
	nonce := append(g.salt[:4:4], iv[:]...)
	dst = append(dst, iv[:]...)
	pt := append(bytes.Clone(plaintext), 0) // pad length 0
	return g.aead.Seal(dst, nonce, pt, aad)
}

func (g *gcmCipher) Open(aad, body []byte) ([]byte, error) {
	if len(body) < 8+16+1 {
		return nil, errors.New("gcm: body too short")
	}
	nonce := append(g.salt[:4:4], body[:8]...)
	pt, err := g.aead.Open(body[8:8], nonce, body[8:], aad)
	if err != nil {
		return nil, ErrIntegrity
	}
	return stripPad(pt)
}

func stripPad(pt []byte) ([]byte, error) {
	if len(pt) < 1 {
		return nil, errors.New("missing pad length")
	}
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return nil, errors.New("bad pad length")
	}
	return pt[:len(pt)-1-pad], nil
}

// cbcCipher is a test double for AES-CBC with HMAC-SHA256-128 (16-byte IV,
// ICV over aad | IV | ciphertext).
type cbcCipher struct {
	blk     cipher.Block
	macKey  []byte
	counter byte
	lastAAD []byte
}

func newCBCCipher(encKey, macKey []byte) *cbcCipher {
	blk, err := aes.NewCipher(encKey)
	if err != nil {
		panic(err)
	}
	return &cbcCipher{blk: blk, macKey: macKey}
}

func (c *cbcCipher) SealedLen(n int) int { return 16 + (n+1+15)/16*16 + 16 }

func (c *cbcCipher) Seal(dst, aad, plaintext []byte) []byte {
	c.lastAAD = bytes.Clone(aad)
	c.counter++
	iv := bytes.Repeat([]byte{c.counter}, 16)
	padded := (len(plaintext) + 1 + 15) / 16 * 16
	pt := make([]byte, padded)
	copy(pt, plaintext)
	pad := padded - len(plaintext) - 1
	for i := 0; i < pad; i++ {
		pt[len(plaintext)+i] = byte(i + 1)
	}
	pt[padded-1] = byte(pad)
	start := len(dst)
	dst = append(dst, iv...)
	ct := make([]byte, padded)
	cipher.NewCBCEncrypter(c.blk, iv).CryptBlocks(ct, pt)
	dst = append(dst, ct...)
	m := hmac.New(sha256.New, c.macKey)
	m.Write(aad)
	m.Write(dst[start:])
	return append(dst, m.Sum(nil)[:16]...)
}

func (c *cbcCipher) Open(aad, body []byte) ([]byte, error) {
	if len(body) < 16+16+16 || (len(body)-32)%16 != 0 {
		return nil, errors.New("cbc: bad body length")
	}
	icv := body[len(body)-16:]
	m := hmac.New(sha256.New, c.macKey)
	m.Write(aad)
	m.Write(body[:len(body)-16])
	if !hmac.Equal(m.Sum(nil)[:16], icv) {
		return nil, ErrIntegrity
	}
	ct := body[16 : len(body)-16]
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.blk, body[:16]).CryptBlocks(pt, ct)
	return stripPad(pt)
}

// nullCipher provides no protection at all; it lets the fuzzer reach the
// inner payload parser. Layout: plaintext | padding | pad length.
type nullCipher struct{}

func (nullCipher) SealedLen(n int) int { return n + 1 }

func (nullCipher) Seal(dst, _, plaintext []byte) []byte { return append(append(dst, plaintext...), 0) }

func (nullCipher) Open(_, body []byte) ([]byte, error) { return stripPad(body) }
