package crypto

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"sync"
)

// PRF is an IKEv2 pseudorandom function (HMAC-SHA2). The zero value is
// not usable; create one with NewPRF.
type PRF struct {
	id   uint16
	macs *sync.Pool // of *mac for the PRF's hash (mac.go)
	size int
}

// NewPRF returns the PRF for an IANA PRF transform ID.
func NewPRF(id uint16) (PRF, error) {
	switch id {
	case PRFHMACSHA256:
		return PRF{id: id, macs: sha256MACs, size: sha256.Size}, nil
	case PRFHMACSHA384:
		return PRF{id: id, macs: sha384MACs, size: sha512.Size384}, nil
	case PRFHMACSHA512:
		return PRF{id: id, macs: sha512MACs, size: sha512.Size}, nil
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

// mac returns a mac of the PRF's hash keyed with the concatenation of
// keyParts; the caller releases it.
func (p PRF) mac(keyParts ...[]byte) *mac {
	if p.macs == nil {
		panic("crypto: use of an uninitialised PRF (use NewPRF)")
	}
	return getMAC(p.macs, keyParts...)
}

// Compute returns prf(key, data).
func (p PRF) Compute(key, data []byte) []byte {
	return p.computeParts(key, data)
}

// computeParts returns prf(key, parts[0] | parts[1] | ...).
func (p PRF) computeParts(key []byte, parts ...[]byte) []byte {
	m := p.mac(key)
	for _, b := range parts {
		m.write(b)
	}
	out := m.sum(make([]byte, 0, p.size))
	m.release()
	return out
}

// MaxPlus is the largest output prf+ can produce for this PRF (255 blocks).
func (p PRF) MaxPlus() int { return 255 * p.size }

// Plus returns the first n bytes of prf+(key, seed) (RFC 7296 section
// 2.13): T1 = prf(K, S | 0x01), Tk = prf(K, Tk-1 | S | k). It panics if n
// is negative or larger than MaxPlus, which no supported suite needs.
func (p PRF) Plus(key, seed []byte, n int) []byte {
	p.checkPlusLen(n) // before taking a mac, which a panic would not wipe
	m := p.mac(key)
	out := p.plus(m, n, seed)
	m.release()
	return out
}

func (p PRF) checkPlusLen(n int) {
	if n < 0 || n > p.MaxPlus() {
		panic(fmt.Sprintf("crypto: prf+ output of %d bytes out of range", n))
	}
}

// plus returns the first n bytes of prf+ under m's key with the seed given
// as the concatenation of seedParts (which may be m's spis).
func (p PRF) plus(m *mac, n int, seedParts ...[]byte) []byte {
	p.checkPlusLen(n)
	out := make([]byte, 0, n+p.size) // room for the last whole block
	for i := 1; len(out) < n; i++ {
		m.reset()
		if i > 1 {
			m.write(out[len(out)-p.size:])
		}
		for _, s := range seedParts {
			m.write(s)
		}
		m.ctr[0] = byte(i)
		m.write(m.ctr[:])
		out = m.sum(out)
	}
	clear(out[n:cap(out)]) // key material past the end
	return out[:n:n]
}
