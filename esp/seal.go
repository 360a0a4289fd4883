package esp

import "encoding/binary"

// Seal encrypts the inner packet and appends the complete ESP packet
//
//	SPI | Seq | IV | ciphertext(inner | padding | Pad Length | Next Header) | ICV
//
// to dst, returning the extended slice. It takes the next sequence number
// atomically and returns ErrSeqExhausted (and nil) once the 32-bit counter,
// or the 64-bit counter with ESN, is used up: sequence numbers never wrap.
//
// To seal in place without copying the payload, put the inner packet at
// buf[s.HeaderLen():] with at least SealedLen(n)-HeaderLen()-n further bytes
// of capacity after it, and call Seal(buf[:0], buf[h:h+n], nh). Otherwise
// dst and inner may overlap arbitrarily; the payload is then copied once.
// A dst without enough capacity is reallocated, as with append.
func (s *SA) Seal(dst, inner []byte, nextHeader uint8) ([]byte, error) {
	seq, err := s.nextSeq()
	if err != nil {
		return nil, err
	}
	return s.seal(dst, inner, nextHeader, seq, nil), nil
}

// seal builds the packet for sequence number seq. iv, when non-nil, replaces
// the IV Seal would choose; it exists for known-answer tests only.
func (s *SA) seal(dst, inner []byte, nextHeader uint8, seq uint64, iv []byte) []byte {
	st := s.state()
	n, h := len(inner), s.HeaderLen()
	ptLen := s.ptLen(n)
	ret, out := sliceForAppend(dst, h+ptLen+s.tailLen())
	pt := out[h : h+ptLen]
	// Move the payload first: inner may overlap the header area of out.
	if n > 0 && &pt[0] != &inner[0] {
		copy(pt, inner)
	}
	padLen := ptLen - n - 2
	for i := range padLen {
		pt[n+i] = byte(i + 1)
	}
	pt[ptLen-2] = byte(padLen)
	pt[ptLen-1] = nextHeader
	binary.BigEndian.PutUint32(out[0:4], s.spi)
	binary.BigEndian.PutUint32(out[4:8], uint32(seq))
	if st.cbc == nil {
		s.aeadSeal(st, out, ptLen, seq, iv)
	} else {
		s.cbcSeal(st.cbc, out, ptLen, seq, iv)
	}
	return ret
}
