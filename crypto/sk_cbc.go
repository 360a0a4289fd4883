package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
)

// cbcSK protects SK payloads with AES-CBC and a truncated HMAC-SHA2
// (RFC 7296 section 3.14, RFC 3602, RFC 4868).
type cbcSK struct {
	block    cipher.Block
	newHash  func() hash.Hash
	integKey []byte
	icvLen   int
	rand     io.Reader // IV source
}

func integHash(id uint16) func() hash.Hash {
	switch id {
	case IntegHMACSHA256128:
		return sha256.New
	case IntegHMACSHA384192:
		return sha512.New384
	case IntegHMACSHA512256:
		return sha512.New
	}
	return nil
}

func newCBCSK(encrKey []byte, integ uint16, integKey []byte) (*cbcSK, error) {
	b, err := aes.NewCipher(encrKey)
	if err != nil {
		return nil, fmt.Errorf("crypto: AES setup: %w", err)
	}
	return &cbcSK{
		block:    b,
		newHash:  integHash(integ),
		integKey: append([]byte(nil), integKey...),
		icvLen:   IntegICVLen(integ),
		rand:     rand.Reader,
	}, nil
}

// cbcPadded returns the ciphertext length for n plaintext bytes: the
// plaintext plus the pad length byte rounded up to whole blocks.
func cbcPadded(n int) int {
	return (n + 1 + aes.BlockSize - 1) / aes.BlockSize * aes.BlockSize
}

// SealedLen returns IV + padded ciphertext + ICV.
func (c *cbcSK) SealedLen(plainLen int) int {
	return aes.BlockSize + cbcPadded(plainLen) + c.icvLen
}

// icv computes the truncated HMAC over aad | data into dst.
func (c *cbcSK) icv(dst, aad, data []byte) []byte {
	m := hmac.New(c.newHash, c.integKey)
	m.Write(aad)
	m.Write(data)
	return m.Sum(dst)[:len(dst)+c.icvLen]
}

// Seal appends IV | AES-CBC(plaintext | zero padding | pad length) | ICV.
func (c *cbcSK) Seal(dst, aad, plaintext []byte) []byte {
	n := len(plaintext)
	ctLen := cbcPadded(n)
	whole, out := sliceForAppend(dst, aes.BlockSize+ctLen+c.icvLen)
	body := out[aes.BlockSize : aes.BlockSize+ctLen]
	copy(body, plaintext) // before writing the IV: plaintext may overlap out
	clear(body[n : ctLen-1])
	body[ctLen-1] = byte(ctLen - n - 1)
	iv := out[:aes.BlockSize]
	if _, err := io.ReadFull(c.rand, iv); err != nil {
		panic("crypto: reading random IV: " + err.Error())
	}
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(body, body)
	mac := c.icv(make([]byte, 0, c.newHash().Size()), aad, out[:aes.BlockSize+ctLen])
	copy(out[aes.BlockSize+ctLen:], mac)
	return whole
}

// Open checks the ICV over aad | IV | ciphertext in constant time, then
// decrypts and removes the padding.
func (c *cbcSK) Open(aad, body []byte) ([]byte, error) {
	ctLen := len(body) - aes.BlockSize - c.icvLen
	if ctLen < aes.BlockSize || ctLen%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d-byte body is not IV + whole blocks + ICV", ErrMalformedSK, len(body))
	}
	signed := body[:aes.BlockSize+ctLen]
	want := c.icv(make([]byte, 0, c.newHash().Size()), aad, signed)
	if !hmac.Equal(want, body[aes.BlockSize+ctLen:]) {
		return nil, ErrIntegrity
	}
	pt := make([]byte, ctLen)
	cipher.NewCBCDecrypter(c.block, body[:aes.BlockSize]).CryptBlocks(pt, body[aes.BlockSize:aes.BlockSize+ctLen])
	return unpad(pt)
}
