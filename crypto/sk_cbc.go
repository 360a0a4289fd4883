package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
)

// cbcSK protects SK payloads with AES-CBC and a truncated HMAC-SHA2
// (RFC 7296 section 3.14, RFC 3602, RFC 4868).
type cbcSK struct {
	block    cipher.Block
	macs     *sync.Pool // of *mac for the integrity algorithm's hash (mac.go)
	integKey []byte
	icvLen   int
	rand     io.Reader // IV source
}

// integMACs returns the pool of macs for an integrity algorithm's hash.
func integMACs(id uint16) *sync.Pool {
	switch id {
	case IntegHMACSHA256128:
		return sha256MACs
	case IntegHMACSHA384192:
		return sha384MACs
	case IntegHMACSHA512256:
		return sha512MACs
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
		macs:     integMACs(integ),
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

// icv appends the truncated HMAC over aad | data to dst.
func (c *cbcSK) icv(dst, aad, data []byte) []byte {
	m := getMAC(c.macs, c.integKey)
	m.write(aad)
	m.write(data)
	dst = append(dst, m.sum(m.aux[:0])[:c.icvLen]...)
	m.release()
	return dst
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
	c.icv(out[aes.BlockSize+ctLen:][:0], aad, out[:aes.BlockSize+ctLen]) // in place
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
	var buf [maxSize]byte
	want := c.icv(buf[:0], aad, signed)
	if !hmac.Equal(want, body[aes.BlockSize+ctLen:]) {
		return nil, ErrIntegrity
	}
	pt := make([]byte, ctLen)
	cipher.NewCBCDecrypter(c.block, body[:aes.BlockSize]).CryptBlocks(pt, body[aes.BlockSize:aes.BlockSize+ctLen])
	return unpad(pt)
}
