package tunudp

import (
	"encoding/binary"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDefaultMTU(t *testing.T) {
	// AES-CBC + HMAC-SHA2-512-256 is the worst case: 1399 bytes of inner packet become
	// 20 + 8 + 8 + 16 + roundup16(1399+2) + 32 = 1492 <= 1500.
	if m := DefaultMTU(1500); m != 1399 {
		t.Fatalf("DefaultMTU(1500) = %d", m)
	}
	c := Config{}
	if err := c.setDefaults(); err != nil || c.MTU != 1399 || c.IKEPort != 500 || c.NATTPort != 4500 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []Config{{LinkMTU: 100}, {MTU: 70000}, {IKEPort: 4500}} {
		if err := bad.setDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestGSOGrouping(t *testing.T) {
	a, b := &net.UDPAddr{Port: 1}, &net.UDPAddr{Port: 2}
	q := &sendQueue{}
	for _, p := range []struct {
		n   int
		dst net.Addr
	}{{100, a}, {100, a}, {100, a}, {60, a}, {100, a}, {100, b}, {100, b}, {120, b}} {
		q.add(make([]byte, p.n), p.dst)
	}
	q.build(0, true)
	// [100 100 100 60] (short last segment ends a run) [100] (dst changes) [100 100] [120] (bigger)
	want := []int{4, 1, 2, 1}
	if len(q.msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(q.msgs), len(want))
	}
	for i, m := range q.msgs {
		if len(m.Buffers) != want[i] {
			t.Fatalf("message %d has %d segments, want %d", i, len(m.Buffers), want[i])
		}
		if (len(m.OOB) > 0) != (want[i] > 1) {
			t.Fatalf("message %d: OOB %x", i, m.OOB)
		}
	}
	if seg := binary.NativeEndian.Uint16(q.msgs[0].OOB[unix.CmsgLen(0):]); seg != 100 {
		t.Fatalf("segment size %d", seg)
	}
	q.build(5, false)
	if len(q.msgs) != 3 || q.starts[0] != 5 {
		t.Fatalf("rebuild without GSO: %d messages from %v", len(q.msgs), q.starts)
	}
	// Segment count is capped.
	q = &sendQueue{}
	for range maxGSOSegments + 3 {
		q.add(make([]byte, 10), a)
	}
	q.build(0, true)
	if len(q.msgs) != 2 || len(q.msgs[0].Buffers) != maxGSOSegments {
		t.Fatalf("%d messages", len(q.msgs))
	}
}

func v4Packet(proto uint8, size int, df bool) []byte {
	p := make([]byte, size)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(size))
	if df {
		p[6] = 0x40
	}
	p[8], p[9] = 64, proto
	copy(p[12:], []byte{10, 1, 0, 2, 10, 2, 0, 2})
	return p
}

func TestBuildTooBig(t *testing.T) {
	pkt := v4Packet(17, 1450, true)
	if !mustNotFragment(pkt, 1435) || mustNotFragment(v4Packet(17, 1450, false), 1435) {
		t.Fatal("mustNotFragment")
	}
	msg := buildTooBig(nil, pkt, 1435)
	if len(msg) != 576 || msg[9] != 1 || msg[20] != 3 || msg[21] != 4 || binary.BigEndian.Uint16(msg[26:]) != 1435 {
		t.Fatalf("ICMP % x", msg[:28])
	}
	if string(msg[12:16]) != string(pkt[16:20]) || string(msg[16:20]) != string(pkt[12:16]) {
		t.Fatal("addresses not swapped")
	}
	if csum(msg[:20], 0) != 0xffff || csum(msg[20:], 0) != 0xffff {
		t.Fatal("bad checksum")
	}
	// No ICMP error about an ICMP error.
	icmpErr := v4Packet(1, 1450, true)
	icmpErr[20] = 3
	if buildTooBig(nil, icmpErr, 1435) != nil {
		t.Fatal("answered an ICMP error")
	}
	// IPv6.
	p6 := make([]byte, 1400)
	p6[0] = 0x60
	p6[6] = 17
	p6[8], p6[23] = 0x20, 1
	p6[24], p6[39] = 0x20, 2
	m6 := buildTooBig(nil, p6, 1300)
	if len(m6) != 1280 || m6[40] != 2 || binary.BigEndian.Uint32(m6[44:]) != 1300 {
		t.Fatalf("ICMPv6 % x", m6[:48])
	}
}

func FuzzBuildTooBig(f *testing.F) {
	f.Add(v4Packet(17, 100, true), 68)
	f.Add(make([]byte, 60), 1280)
	f.Fuzz(func(t *testing.T, pkt []byte, mtu int) {
		if len(pkt) == 0 {
			return
		}
		if msg := buildTooBig(nil, pkt, mtu); msg != nil && len(msg) > 1280 {
			t.Fatalf("ICMP error of %d bytes", len(msg))
		}
	})
}
