package v1crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// HashAlg is a negotiated IKEv1 hash algorithm, numbered as the phase 1
// Hash Algorithm attribute (RFC 2409 Appendix A, RFC 4868).
type HashAlg uint16

// Supported hash algorithms.
const (
	SHA256 HashAlg = 4
	SHA384 HashAlg = 5
	SHA512 HashAlg = 6
)

// Valid reports whether h is supported.
func (h HashAlg) Valid() bool { return h.newFunc() != nil }

// Check returns an error for an unsupported h.
func (h HashAlg) Check() error {
	if !h.Valid() {
		return fmt.Errorf("v1crypto: unsupported hash algorithm %d", uint16(h))
	}
	return nil
}

// Size returns the output length in bytes of the hash and of its PRF (0
// for an unsupported h).
func (h HashAlg) Size() int {
	switch h {
	case SHA256:
		return sha256.Size
	case SHA384:
		return sha512.Size384
	case SHA512:
		return sha512.Size
	}
	return 0
}

// String names the algorithm.
func (h HashAlg) String() string {
	switch h {
	case SHA256:
		return "SHA2-256"
	case SHA384:
		return "SHA2-384"
	case SHA512:
		return "SHA2-512"
	}
	return fmt.Sprintf("HASH(%d)", uint16(h))
}

func (h HashAlg) newFunc() func() hash.Hash {
	switch h {
	case SHA256:
		return sha256.New
	case SHA384:
		return sha512.New384
	case SHA512:
		return sha512.New
	}
	return nil
}

// mustNew returns the hash constructor, panicking for an unsupported h:
// callers validate the negotiated algorithm (Check) before deriving keys.
func (h HashAlg) mustNew() func() hash.Hash {
	f := h.newFunc()
	if f == nil {
		panic(fmt.Sprintf("v1crypto: use of unsupported hash algorithm %d", uint16(h)))
	}
	return f
}

// PRF returns prf(key, data[0] | data[1] | ...), the HMAC of h. It panics
// for an unsupported h.
func (h HashAlg) PRF(key []byte, data ...[]byte) []byte {
	m := hmac.New(h.mustNew(), key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// Sum returns hash(data[0] | data[1] | ...). It panics for an unsupported h.
func (h HashAlg) Sum(data ...[]byte) []byte {
	m := h.mustNew()()
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}
