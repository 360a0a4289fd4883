package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// PRF is an IKEv2 pseudorandom function (HMAC-SHA2). The zero value is
// not usable; create one with NewPRF.
type PRF struct {
	id   uint16
	hash func() hash.Hash
	size int
}

// NewPRF returns the PRF for an IANA PRF transform ID.
func NewPRF(id uint16) (PRF, error) {
	switch id {
	case PRFHMACSHA256:
		return PRF{id: id, hash: sha256.New, size: sha256.Size}, nil
	case PRFHMACSHA384:
		return PRF{id: id, hash: sha512.New384, size: sha512.Size384}, nil
	case PRFHMACSHA512:
		return PRF{id: id, hash: sha512.New, size: sha512.Size}, nil
	}
	return PRF{}, fmt.Errorf("crypto: unsupported PRF %d", id)
}

// ID returns the IANA PRF transform ID (0 for the zero value).
func (p PRF) ID() uint16 { return p.id }

// Size returns the output length in bytes, which is also the preferred
// key length used for SK_d, SK_pi and SK_pr (RFC 7296 section 2.13).
func (p PRF) Size() int { return p.size }

// String names the PRF.
func (p PRF) String() string { return prfName(p.id) }

func (p PRF) mustHash() func() hash.Hash {
	if p.hash == nil {
		panic("crypto: use of an uninitialised PRF (use NewPRF)")
	}
	return p.hash
}

// Compute returns prf(key, data).
func (p PRF) Compute(key, data []byte) []byte {
	m := hmac.New(p.mustHash(), key)
	m.Write(data)
	return m.Sum(nil)
}

// computeParts returns prf(key, parts[0] | parts[1] | ...).
func (p PRF) computeParts(key []byte, parts ...[]byte) []byte {
	m := hmac.New(p.mustHash(), key)
	for _, b := range parts {
		m.Write(b)
	}
	return m.Sum(nil)
}

// MaxPlus is the largest output prf+ can produce for this PRF (255 blocks).
func (p PRF) MaxPlus() int { return 255 * p.size }

// Plus returns the first n bytes of prf+(key, seed) (RFC 7296 section
// 2.13): T1 = prf(K, S | 0x01), Tk = prf(K, Tk-1 | S | k). It panics if n
// is negative or larger than MaxPlus, which no supported suite needs.
func (p PRF) Plus(key, seed []byte, n int) []byte {
	if n < 0 || n > p.MaxPlus() {
		panic(fmt.Sprintf("crypto: prf+ output of %d bytes out of range", n))
	}
	out := make([]byte, 0, n+p.size)
	m := hmac.New(p.mustHash(), key)
	var t []byte
	for i := 1; len(out) < n; i++ {
		m.Reset()
		m.Write(t)
		m.Write(seed)
		m.Write([]byte{byte(i)})
		out = m.Sum(out)
		t = out[len(out)-p.size:]
	}
	return out[:n:n]
}
