package crypto

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"hash"
	"sync"
)

// An HMAC (RFC 2104) that does not allocate per computation.
//
// crypto/hmac.New allocates two hashes, two padded keys and, on the first
// Reset, two marshalled states: about 1 KiB and a dozen objects for every
// prf() of a handshake, which at thousands of handshakes a second kept the
// garbage collector busy. A mac holds all of that, and the scratch buffers the
// PRF functions need, in one object that sync.Pools hand out per hash
// function: a computation takes one, keys it, and puts it back wiped.
//
// Keying writes K0 xor ipad and K0 xor opad into the two hashes once and
// keeps their marshalled states (FIPS 198-1 section 6 allows precomputing
// them), so each further block of prf+ costs no more than with crypto/hmac.

// maxBlock and maxSize are the largest block and output sizes of the hashes
// the PRFs and integrity algorithms use (SHA-512's).
const (
	maxBlock = sha512.BlockSize
	maxSize  = sha512.Size
)

// stateHash is a hash whose state can be saved and restored without
// allocating: every hash the standard library offers, whichever backend.
type stateHash interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// mac computes HMACs with one hash function. Its fields hold key material
// while it is taken from its pool; release wipes them before putting it back.
type mac struct {
	pool         *sync.Pool // where it came from and goes back to
	inner, outer stateHash
	block        int // the hash's block size
	// istate and ostate are the marshalled hash states after K0 xor ipad
	// and K0 xor opad; blank is a fresh hash's state, which restoring wipes
	// every buffered byte (Reset keeps the block buffer's old contents).
	istate, ostate, blank []byte

	pad  [maxBlock]byte // K0, then K0 xor ipad or opad
	in   [maxSize]byte  // the inner hash's output
	key  [maxSize]byte  // a derived key: SKEYSEED, prf(PSK, key pad)
	aux  [maxSize]byte  // another PRF output: prf(SK_p, ID)
	ctr  [1]byte        // the prf+ block counter
	spis [16]byte       // SPIi | SPIr for the prf+ seed
}

// Pools of macs by hash function. The PRF transforms and the integrity
// transforms of the SK payload use the same three hashes.
var (
	sha256MACs = newMACPool(sha256.New)
	sha384MACs = newMACPool(sha512.New384)
	sha512MACs = newMACPool(sha512.New)
)

func newMACPool(h func() hash.Hash) *sync.Pool {
	p := new(sync.Pool)
	p.New = func() any { return newMAC(p, h) }
	return p
}

func newMAC(pool *sync.Pool, h func() hash.Hash) *mac {
	inner, ok1 := h().(stateHash)
	outer, ok2 := h().(stateHash)
	if !ok1 || !ok2 {
		panic("crypto: the hash implementation cannot save its state (needs AppendBinary and UnmarshalBinary)")
	}
	m := &mac{pool: pool, inner: inner, outer: outer, block: inner.BlockSize()}
	m.blank = m.appendState(inner, nil)
	n := len(m.blank)
	m.istate, m.ostate = make([]byte, 0, n), make([]byte, 0, n)
	return m
}

// getMAC takes a mac from pool and keys it with the concatenation of
// keyParts (HMAC keys are used as they are, so a key given in pieces needs no
// copy).
func getMAC(pool *sync.Pool, keyParts ...[]byte) *mac {
	m := pool.Get().(*mac)
	m.setKey(keyParts...)
	return m
}

func (m *mac) appendState(h stateHash, dst []byte) []byte {
	b, err := h.AppendBinary(dst)
	if err != nil {
		panic("crypto: saving a hash state: " + err.Error())
	}
	return b
}

func (m *mac) restore(h stateHash, state []byte) {
	if err := h.UnmarshalBinary(state); err != nil {
		panic("crypto: restoring a hash state: " + err.Error())
	}
}

// setKey keys m with the concatenation of keyParts and leaves it ready for
// write. Keys longer than the block are hashed first (RFC 2104 section 2).
// The parts may be m's own buffers other than pad and sum.
func (m *mac) setKey(keyParts ...[]byte) {
	n := 0
	for _, p := range keyParts {
		n += len(p)
	}
	clear(m.pad[:])
	if n > m.block {
		m.outer.Reset()
		for _, p := range keyParts {
			m.outer.Write(p)
		}
		m.outer.Sum(m.pad[:0])
	} else {
		k := m.pad[:0]
		for _, p := range keyParts {
			k = append(k, p...)
		}
	}
	pad := m.pad[:m.block]
	for i := range pad {
		pad[i] ^= 0x36
	}
	m.inner.Reset()
	m.inner.Write(pad)
	m.istate = m.appendState(m.inner, m.istate[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	m.outer.Reset()
	m.outer.Write(pad)
	m.ostate = m.appendState(m.outer, m.ostate[:0])
	clear(pad)
}

// reset starts a new message under the same key.
func (m *mac) reset() { m.restore(m.inner, m.istate) }

func (m *mac) write(b []byte) { m.inner.Write(b) }

// sum appends the HMAC of what was written since keying or reset to dst.
func (m *mac) sum(dst []byte) []byte {
	in := m.inner.Sum(m.in[:0])
	m.restore(m.outer, m.ostate)
	m.outer.Write(in)
	return m.outer.Sum(dst)
}

// release wipes every trace of keys and messages from m and returns it to
// its pool; m must not be used afterwards.
func (m *mac) release() {
	m.restore(m.inner, m.blank)
	m.restore(m.outer, m.blank)
	clear(m.istate[:cap(m.istate)])
	clear(m.ostate[:cap(m.ostate)])
	clear(m.pad[:])
	clear(m.in[:])
	clear(m.key[:])
	clear(m.aux[:])
	clear(m.spis[:])
	m.ctr[0] = 0
	m.pool.Put(m)
}
