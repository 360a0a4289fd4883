package esp

import "encoding/binary"

// AEAD suites: AES-GCM with a 16-byte ICV (RFC 4106) and ChaCha20-Poly1305
// (RFC 7634). Both use the 12-byte nonce salt|IV, where the salt is the last
// four bytes of the key material and the 8-byte explicit IV is carried in the
// packet. The sender uses the 64-bit sequence number as IV: it is unique for
// the lifetime of the key, which is all either RFC requires, and costs
// nothing to generate. The AAD is SPI|Seq, or SPI|Seq-high|Seq-low with ESN.

// aeadSeal encrypts out[hdrLen:hdrLen+ptLen] in place and writes the IV and
// the tag; out[0:8] already holds SPI and sequence number.
func (s *SA) aeadSeal(st *cipherState, out []byte, ptLen int, seq uint64, ivOverride []byte) {
	iv := out[espHdrLen : espHdrLen+aeadIVLen]
	if ivOverride != nil {
		copy(iv, ivOverride)
	} else {
		binary.BigEndian.PutUint64(iv, seq)
	}
	sc := scratchPool.Get().(*scratch)
	copy(sc.nonce[:saltLen], st.salt[:])
	copy(sc.nonce[saltLen:], iv)
	h := s.HeaderLen()
	pt := out[h : h+ptLen]
	st.aead.Seal(pt[:0], sc.nonce[:], pt, s.aad(sc, s.spi, seq))
	scratchPool.Put(sc)
}

// aeadOpen authenticates and decrypts pkt (a whole ESP packet) whose full
// sequence number is seq into dst, which is len(pkt)-hdrLen-16 bytes long and
// either does not overlap pkt or starts exactly at pkt[hdrLen].
func (s *SA) aeadOpen(st *cipherState, dst, pkt []byte, seq uint64) bool {
	sc := scratchPool.Get().(*scratch)
	copy(sc.nonce[:saltLen], st.salt[:])
	copy(sc.nonce[saltLen:], pkt[espHdrLen:espHdrLen+aeadIVLen])
	_, err := st.aead.Open(dst[:0], sc.nonce[:], pkt[s.HeaderLen():], s.aad(sc, binary.BigEndian.Uint32(pkt), seq))
	scratchPool.Put(sc)
	return err == nil
}
