package esp

import (
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"hash"
	"sync"
)

// AES-CBC (RFC 3602) with HMAC-SHA-256/384/512 truncated to half the hash
// length (RFC 4868). The ICV covers SPI|Seq|IV|ciphertext and, with ESN, the
// high 32 bits of the sequence number appended at the end (RFC 4303 section
// 2.2.1); those bits are not transmitted.
//
// IV choice. CBC needs IVs that an attacker cannot predict before they are
// used (RFC 3602 section 3), not merely unique ones. Reading crypto/rand for
// every packet costs a system call or a lock-protected DRBG per packet;
// instead New draws a random AES-128 key K_iv from crypto/rand, used for
// nothing else and kept with the SA's keys, and Seal sets IV = AES(K_iv, seq64 || 0^64). The sequence
// number never repeats within an SA and AES is a pseudorandom permutation, so
// IVs are distinct and indistinguishable from random to anyone without K_iv,
// which never leaves the process. The cost is one AES block encryption, with
// no shared mutable state beyond the sequence counter Seal already takes.

// cbcSeal writes the IV, encrypts out[hdrLen:hdrLen+ptLen] in place and
// appends the ICV; out[0:8] already holds SPI and sequence number.
func (s *SA) cbcSeal(st *cbcState, out []byte, ptLen int, seq uint64, ivOverride []byte) {
	sc := scratchPool.Get().(*scratch)
	h := s.HeaderLen()
	iv := out[espHdrLen : espHdrLen+cbcIVLen]
	if ivOverride != nil {
		copy(iv, ivOverride)
	} else {
		binary.BigEndian.PutUint64(sc.blk[:8], seq)
		clear(sc.blk[8:])
		st.ivBlock.Encrypt(iv, sc.blk[:])
	}
	ct := out[h : h+ptLen]
	m := st.getMode(&st.encPool, iv, true)
	m.CryptBlocks(ct, ct)
	st.encPool.Put(m)
	icv := s.mac(st, sc, out[:h+ptLen], seq)
	copy(out[h+ptLen:], icv)
	scratchPool.Put(sc)
}

// cbcOpen verifies the ICV of pkt and, if it is valid, decrypts the
// ciphertext into dst (len(dst) = ciphertext length; no overlap with pkt or
// dst starting exactly at pkt[hdrLen]).
func (s *SA) cbcOpen(st *cbcState, dst, pkt []byte, seq uint64) bool {
	h, end := s.HeaderLen(), len(pkt)-s.tailLen()
	sc := scratchPool.Get().(*scratch)
	ok := hmac.Equal(s.mac(st, sc, pkt[:end], seq), pkt[end:])
	scratchPool.Put(sc)
	if !ok {
		return false
	}
	m := st.getMode(&st.decPool, pkt[espHdrLen:h], false)
	m.CryptBlocks(dst, pkt[h:end])
	st.decPool.Put(m)
	return true
}

// mac returns the truncated ICV over data (and the ESN high bits) in sc.sum.
func (s *SA) mac(st *cbcState, sc *scratch, data []byte, seq uint64) []byte {
	h := st.macPool.Get().(hash.Hash)
	h.Reset()
	h.Write(data)
	if s.esn {
		binary.BigEndian.PutUint32(sc.hi[:], uint32(seq>>32))
		h.Write(sc.hi[:])
	}
	sum := h.Sum(sc.sum[:0])
	st.macPool.Put(h)
	return sum[:s.icvLen]
}

// getMode takes a CBC mode from pool and sets its IV. Should the standard
// library ever stop providing SetIV, it falls back to a fresh mode per packet.
func (st *cbcState) getMode(pool *sync.Pool, iv []byte, encrypt bool) cipher.BlockMode {
	if cm, ok := pool.Get().(cbcMode); ok {
		cm.SetIV(iv)
		return cm
	}
	if encrypt {
		return cipher.NewCBCEncrypter(st.block, iv)
	}
	return cipher.NewCBCDecrypter(st.block, iv)
}
