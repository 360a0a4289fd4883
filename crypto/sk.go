package crypto

import (
	"errors"
	"fmt"
)

// Errors returned by SK cipher Open; the returned error wraps one of them.
var (
	// ErrIntegrity means the ICV or AEAD tag did not verify: the message
	// must be dropped without a response.
	ErrIntegrity = errors.New("crypto: SK payload integrity check failed")
	// ErrMalformedSK means the SK payload body has an impossible length or
	// an invalid pad length.
	ErrMalformedSK = errors.New("crypto: malformed SK payload")
)

// SKCipher protects one direction of an IKE SA's Encrypted (SK) payloads.
// It is defined here, not taken from the IKEv2 wire codec, so that this
// package depends on no protocol package; its method set is the one the
// codec's own SKCipher interface asks for, so any SKCipher can be passed
// to the codec as is.
type SKCipher interface {
	// SealedLen returns the number of bytes Seal appends for a plaintext
	// of plainLen bytes: IV, ciphertext with padding and pad length, ICV.
	SealedLen(plainLen int) int
	// Seal appends IV | encrypted (plaintext | padding | pad length) | ICV
	// to dst. aad is the IKE header and SK payload header, which for
	// AES-CBC the ICV covers together with the IV and ciphertext, and for
	// AEAD ciphers is the associated data (RFC 5282). aad must not overlap
	// the bytes Seal appends.
	Seal(dst, aad, plaintext []byte) []byte
	// Open verifies body (IV | ciphertext | ICV) in constant time before
	// decrypting it, and returns the plaintext without padding in a new
	// slice. Its error wraps ErrIntegrity or ErrMalformedSK.
	Open(aad, body []byte) ([]byte, error)
}

// NewSKCipher returns the protection for one direction of an IKE SA's SK
// payloads (use SK_ei/SK_ai for messages from the original initiator,
// SK_er/SK_ar for the reverse). encrKey includes the trailing 4-byte salt
// for AEAD ciphers; integKey must be empty for AEAD. AES-CBC uses a random
// 16-byte IV; AEAD ciphers use an 8-byte IV from a per-cipher counter that
// starts at a random value.
func NewSKCipher(s Suite, encrKey, integKey []byte) (SKCipher, error) {
	if !validEncr(s.Encr, s.EncrKeyBits) {
		return nil, fmt.Errorf("crypto: unsupported encryption algorithm %d with %d-bit key", s.Encr, s.EncrKeyBits)
	}
	if len(encrKey) != s.EncrKeyLen() {
		return nil, fmt.Errorf("crypto: %s needs a %d-byte encryption key, got %d bytes",
			encrName(s.Encr, s.EncrKeyBits), s.EncrKeyLen(), len(encrKey))
	}
	if s.AEAD() {
		if s.Integ != IntegNone || len(integKey) != 0 {
			return nil, errors.New("crypto: AEAD cipher with an integrity algorithm or key")
		}
		c, err := newAEADSK(s, encrKey)
		if err != nil {
			return nil, err // not a typed nil in a non-nil interface
		}
		return c, nil
	}
	if !validInteg(s.Integ) {
		return nil, fmt.Errorf("crypto: unsupported integrity algorithm %d", s.Integ)
	}
	if len(integKey) != s.IntegKeyLen() {
		return nil, fmt.Errorf("crypto: %s needs a %d-byte integrity key, got %d bytes",
			integName(s.Integ), s.IntegKeyLen(), len(integKey))
	}
	c, err := newCBCSK(encrKey, s.Integ, integKey)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// sliceForAppend extends dst by n bytes, returning the whole slice and the
// new tail.
func sliceForAppend(dst []byte, n int) (whole, tail []byte) {
	total := len(dst) + n
	if cap(dst) >= total {
		whole = dst[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, dst)
	}
	return whole, whole[len(dst):]
}

// unpad strips the padding and pad length byte from a decrypted SK body.
// RFC 7296 section 3.14: the receiver accepts any pad length that fits.
func unpad(pt []byte) ([]byte, error) {
	if len(pt) == 0 {
		return nil, fmt.Errorf("%w: no pad length", ErrMalformedSK)
	}
	padLen := int(pt[len(pt)-1])
	if padLen+1 > len(pt) {
		return nil, fmt.Errorf("%w: pad length %d exceeds %d-byte plaintext", ErrMalformedSK, padLen, len(pt)-1)
	}
	return pt[:len(pt)-1-padLen], nil
}
