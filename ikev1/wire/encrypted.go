package wire

import (
	"bytes"
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// Cipher encrypts and decrypts the body of an encrypted ISAKMP message
// (everything after the header). It holds the key and the running CBC IV
// of one exchange: phase 1 continues with the last ciphertext block of the
// previous message, each Quick Mode and Informational exchange starts from
// its own derived IV (RFC 2409 Appendix B). v1crypto.CBC implements it.
type Cipher interface {
	// Encrypt pads plaintext to the block size, encrypts it, appends the
	// ciphertext to dst and returns the extended slice. plaintext must not
	// overlap dst's spare capacity.
	Encrypt(dst, plaintext []byte) []byte
	// Decrypt decrypts ciphertext, which must be a non-empty multiple of
	// the block size, and returns the plaintext including the sender's
	// padding. It may decrypt in place, overwriting ciphertext.
	Decrypt(ciphertext []byte) ([]byte, error)
}

// AppendEncrypted appends a complete encrypted message: the ISAKMP header
// (NextPayload = type of the first payload, E flag set, Length covering
// the padded ciphertext, Version 0x10 if zero) followed by the payload
// chain encrypted with c. The other header fields are taken from h as
// given. Padding is the cipher's business (see v1crypto.CBC.Encrypt).
func AppendEncrypted(b []byte, h Header, payloads []Payload, c Cipher) []byte {
	plain := AppendPayloads(nil, payloads)
	start := len(b)
	h.NextPayload = firstType(payloads)
	h.Flags |= FlagEncryption
	if h.Version == 0 {
		h.Version = Version
	}
	b = h.Append(b)
	b = c.Encrypt(b, plain)
	clear(plain)
	isakmp.SetLength(b[start:])
	return b
}

// OpenEncrypted decrypts and parses a message with the E flag set. Bytes
// beyond the header's Length are ignored; b[HeaderLen:Length] is decrypted
// with c. The decrypted payload chain (starting with the header's Next
// Payload) may be followed by at most 255 bytes of padding, whose content
// is not checked: RFC 2409 section 5.3 asks for zeros and a final pad
// length byte, strongSwan sends 1 to blocksize zero bytes without a length
// byte, libreswan pads to the block boundary only, and receivers (strongSwan
// included) rely on the payload lengths. A wrong key or IV therefore shows
// up as ErrMalformed or ErrTruncated, or (should the garbage parse) as a
// HASH mismatch for the caller. The result does not alias b.
func OpenEncrypted(b []byte, c Cipher) (*Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if !h.Encrypted() {
		return nil, ErrNotEncrypted
	}
	plain, err := c.Decrypt(bytes.Clone(b[HeaderLen:h.Length]))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return parseBody(h, plain, true)
}
