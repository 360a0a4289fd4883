package esp

import "encoding/binary"

// Open authenticates and decrypts the ESP packet pkt (starting at the SPI) and
// appends the inner packet to dst, returning it with its Next Header value.
//
// Processing follows RFC 4303 section 3.4.3: structural checks, the cheap
// anti-replay pre-check, ICV verification, then the replay window update;
// only then are the padding (RFC 4303 section 2.4: Pad Length within the
// payload, padding bytes 1, 2, 3, ...) and the Next Header examined. With
// ESN the high 32 bits of the sequence number are inferred from the window as
// in RFC 4303 Appendix A2.1.
//
// Errors are the package sentinels ErrMalformed, ErrReplay, ErrAuth,
// ErrPadding and ErrDummy (an authentic Next Header 59 packet, to be dropped
// silently); inner is nil whenever err is not.
//
// In-place use: dst may be pkt[:0] as with cipher.AEAD.Open (the payload is
// then decrypted in place and moved to the front of the buffer), or
// pkt[h:h] with h = HeaderLen(), which avoids the move: inner is then
// pkt[h:h+len(inner)]. If dst overlaps pkt, pkt's contents are undefined
// after Open returns, also on error.
func (s *SA) Open(dst, pkt []byte) (inner []byte, nextHeader uint8, err error) {
	h, tail := s.HeaderLen(), s.tailLen()
	ctLen := len(pkt) - h - tail // plaintext length (pad and trailer included)
	if s.isAEAD() {
		if ctLen < 2 {
			return nil, 0, ErrMalformed
		}
	} else if a := int(s.align); ctLen < a || ctLen%a != 0 {
		return nil, 0, ErrMalformed
	}

	// An SA that has accepted nothing yet has no window (lazy.go): an empty
	// one has top 0 and accepts every non-zero sequence number.
	w := s.replay.Load()
	var top uint64
	if w != nil {
		top = w.Top()
	}
	seq := uint64(binary.BigEndian.Uint32(pkt[4:8]))
	if s.esn {
		// The window may advance concurrently; a stale view near a 2^32
		// boundary at worst yields the wrong high half, which then fails
		// authentication instead of being accepted wrongly.
		seq = esnSeq(top, s.windowSize(), uint32(seq))
	}
	if seq == 0 || w != nil && !w.Check(seq) {
		return nil, 0, ErrReplay
	}

	ret, out := sliceForAppend(dst, ctLen)
	// Ciphers accept an output that is disjoint from the input or starts
	// exactly where it does. For any other overlap decrypt in place inside
	// pkt and move the result afterwards.
	target, move := out, false
	if anyOverlap(out, pkt) && &out[0] != &pkt[h] {
		target, move = pkt[h:h+ctLen], true
	}
	var ok bool
	if st := s.state(); st.cbc == nil {
		ok = s.aeadOpen(st, target, pkt, seq)
	} else {
		ok = s.cbcOpen(st.cbc, target, pkt, seq)
	}
	if !ok {
		return nil, 0, ErrAuth
	}
	if w == nil {
		w = s.replayWindow()
	}
	if !w.Update(seq) {
		// A concurrent Open accepted the same sequence number first.
		return nil, 0, ErrReplay
	}
	if move {
		copy(out, target)
	}

	padLen := int(out[ctLen-2])
	nextHeader = out[ctLen-1]
	if padLen > ctLen-2 {
		return nil, 0, ErrPadding
	}
	pad := out[ctLen-2-padLen : ctLen-2]
	for i, b := range pad {
		if b != byte(i+1) {
			return nil, 0, ErrPadding
		}
	}
	if nextHeader == NextHeaderDummy {
		return nil, 0, ErrDummy
	}
	return ret[:len(ret)-padLen-2], nextHeader, nil
}

// SPIOf returns the SPI of an ESP packet (its first four bytes, big-endian).
// ok is false if pkt is shorter than an ESP header or the SPI is zero (which
// is never assigned; over UDP port 4500 it marks a non-ESP packet, RFC 3948).
func SPIOf(pkt []byte) (spi uint32, ok bool) {
	if len(pkt) < espHdrLen {
		return 0, false
	}
	spi = binary.BigEndian.Uint32(pkt)
	return spi, spi != 0
}

// SeqOf returns the (low 32 bits of the) sequence number of an ESP packet.
// ok is false if pkt is shorter than an ESP header.
func SeqOf(pkt []byte) (seq uint32, ok bool) {
	if len(pkt) < espHdrLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(pkt[4:8]), true
}
