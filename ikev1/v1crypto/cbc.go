package v1crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
)

// BlockSize is the AES block size, which is also the IV length.
const BlockSize = aes.BlockSize

// ErrCiphertextLength reports ciphertext that is empty or not a multiple of
// the block size.
var ErrCiphertextLength = errors.New("v1crypto: ciphertext is not a positive multiple of the block size")

// CBC is the AES-CBC state of one IKEv1 exchange: the key (from
// Phase1Keys.EncKey) and the running IV. Each Encrypt or Decrypt uses the
// current IV and then replaces it with the last ciphertext block, which is
// the IV of the next message of the same exchange (RFC 2409 Appendix B).
// It implements ikev1/wire.Cipher. A CBC is not safe for concurrent use.
//
// To decrypt a message that may turn out to be forged or garbled (its HASH
// is only checked after decryption) without losing the IV, decrypt with a
// Clone and keep the clone only once the message is accepted; strongSwan
// likewise advances the IV only for messages it has verified.
type CBC struct {
	block cipher.Block
	iv    [BlockSize]byte
}

// NewCBC returns a CBC state for an AES key of 16, 24 or 32 bytes and a
// 16-byte IV.
func NewCBC(key, iv []byte) (*CBC, error) {
	if len(iv) != BlockSize {
		return nil, fmt.Errorf("v1crypto: IV of %d bytes, want %d", len(iv), BlockSize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("v1crypto: AES key of %d bytes", len(key))
	}
	c := &CBC{block: b}
	copy(c.iv[:], iv)
	return c, nil
}

// BlockSize returns the cipher block size (16).
func (c *CBC) BlockSize() int { return BlockSize }

// IV returns a copy of the current IV: after the last message of Main Mode
// this is the "last phase-1 CBC output block" that Phase2IV needs.
func (c *CBC) IV() []byte { return append([]byte(nil), c.iv[:]...) }

// WithIV returns a new state with the same key and the given IV, such as
// the one of a Quick Mode or Informational exchange (Phase2IV).
func (c *CBC) WithIV(iv []byte) (*CBC, error) {
	if len(iv) != BlockSize {
		return nil, fmt.Errorf("v1crypto: IV of %d bytes, want %d", len(iv), BlockSize)
	}
	d := &CBC{block: c.block}
	copy(d.iv[:], iv)
	return d, nil
}

// Clone returns an independent copy of the state (same key, same IV).
func (c *CBC) Clone() *CBC {
	d := *c
	return &d
}

// Encrypt pads plaintext, encrypts it with the current IV, appends the
// ciphertext to dst and advances the IV to the last ciphertext block.
//
// Padding follows RFC 2409 section 5.3: there is always padding, 1 to 16
// bytes, all zero except the last, which holds the number of padding bytes
// before it. strongSwan 5.9 (encrypted_payload.c, encrypt_v1) also always
// pads 1 to 16 bytes but makes them all zero, without a length byte, and
// on receipt ignores whatever follows the last payload, as does
// ikev1/wire.OpenEncrypted; the RFC form is therefore accepted by
// strongSwan and also by receivers that honour the pad length byte.
func (c *CBC) Encrypt(dst, plaintext []byte) []byte {
	pad := BlockSize - len(plaintext)%BlockSize
	n := len(plaintext) + pad
	start := len(dst)
	dst = grow(dst, n)
	out := dst[start:]
	copy(out, plaintext)
	clear(out[len(plaintext):])
	out[n-1] = byte(pad - 1)
	prev := c.iv[:]
	for i := 0; i < n; i += BlockSize {
		blk := out[i : i+BlockSize]
		subtle.XORBytes(blk, blk, prev)
		c.block.Encrypt(blk, blk)
		prev = blk
	}
	copy(c.iv[:], prev)
	return dst
}

// grow extends b by n bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*len(b)+n)
	copy(nb, b)
	return nb
}

// Decrypt decrypts ciphertext in place with the current IV, advances the IV
// to the last ciphertext block and returns the plaintext, padding
// included. Empty ciphertext or a length that is not a multiple of 16 is
// an error wrapping ErrCiphertextLength and leaves the state unchanged.
func (c *CBC) Decrypt(ciphertext []byte) ([]byte, error) {
	n := len(ciphertext)
	if n == 0 || n%BlockSize != 0 {
		return nil, fmt.Errorf("%w (%d bytes)", ErrCiphertextLength, n)
	}
	var prev, cur [BlockSize]byte
	prev = c.iv
	for i := 0; i < n; i += BlockSize {
		blk := ciphertext[i : i+BlockSize]
		copy(cur[:], blk)
		c.block.Decrypt(blk, blk)
		subtle.XORBytes(blk, blk, prev[:])
		prev = cur
	}
	c.iv = prev
	return ciphertext, nil
}

// String describes the state without key or IV.
func (c CBC) String() string { return "v1crypto.CBC{AES, key and IV redacted}" }

// GoString is String, so that %#v does not print the key schedule either.
func (c CBC) GoString() string { return c.String() }
