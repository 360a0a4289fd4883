package tsharktest

import (
	"encoding/binary"
	"testing"
)

func TestIPv4UDPChecksums(t *testing.T) {
	pkt := IPv4UDP([4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}, 500, 500, 7, []byte("hello"))
	if onesComplement(pkt[:20]) != 0 {
		t.Errorf("IPv4 header checksum does not verify")
	}
	pseudo := append(append([]byte{}, pkt[12:20]...), 0, 17, 0, byte(len(pkt)-20))
	if onesComplement(append(pseudo, pkt[20:]...)) != 0 {
		t.Errorf("UDP checksum does not verify")
	}
	if n := binary.BigEndian.Uint16(pkt[2:]); int(n) != len(pkt) {
		t.Errorf("total length %d, packet %d", n, len(pkt))
	}
}

func TestProblems(t *testing.T) {
	out := "Frame 1\n    [Malformed Packet: ISAKMP]\n  fine line\n"
	if p := Problems(out); len(p) != 1 || p[0] != "[Malformed Packet: ISAKMP]" {
		t.Errorf("Problems = %q", p)
	}
}
