package tunudp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/dataplane/sad/espsa"
	"github.com/vigil-ipsec/vigil/esp"
)

// cmsg builds one control message with the kernel's layout; pad adds its alignment padding.
func cmsg(level, typ int32, data []byte, pad bool) []byte {
	n := unix.CmsgLen(len(data))
	if pad {
		n = unix.CmsgSpace(len(data))
	}
	b := make([]byte, n)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func groCmsg(seg int) []byte {
	return cmsg(unix.SOL_UDP, unix.UDP_GRO, binary.NativeEndian.AppendUint32(nil, uint32(seg)), false)
}

func TestGROSegmentSize(t *testing.T) {
	tos := cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{0x10}, true)
	hdr := unix.CmsgLen(0)
	bad := groCmsg(1400)
	(*unix.Cmsghdr)(unsafe.Pointer(&bad[0])).SetLen(len(bad) + 8) // runs past the buffer
	short := groCmsg(1400)
	(*unix.Cmsghdr)(unsafe.Pointer(&short[0])).SetLen(hdr - 1) // shorter than a header
	for _, c := range []struct {
		name string
		oob  []byte
		want int
	}{
		{"none", nil, 0},
		{"gro int", groCmsg(1400), 1400},
		{"gro u16", cmsg(unix.SOL_UDP, unix.UDP_GRO, binary.NativeEndian.AppendUint16(nil, 1372), false), 1372},
		{"after another message", append(tos, groCmsg(1234)...), 1234},
		{"other message only", tos, 0},
		{"gro no data", cmsg(unix.SOL_UDP, unix.UDP_GRO, nil, false), 0},
		{"gro one byte", cmsg(unix.SOL_UDP, unix.UDP_GRO, []byte{5}, false), 0},
		{"negative", groCmsg(-5), 0},
		{"length past end", bad, 0},
		{"length below header", short, 0},
		{"truncated header", groCmsg(1400)[:hdr-1], 0},
		{"udp other type", cmsg(unix.SOL_UDP, unix.UDP_SEGMENT, []byte{1, 2, 3, 4}, false), 0},
	} {
		if got := groSegmentSize(c.oob); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestSplitGRO(t *testing.T) {
	data := make([]byte, 10)
	for i := range data {
		data[i] = byte(i)
	}
	for _, c := range []struct {
		seg  int
		want []int
	}{
		{0, []int{10}},
		{-1, []int{10}},
		{10, []int{10}},
		{11, []int{10}},
		{5, []int{5, 5}},
		{3, []int{3, 3, 3, 1}},
		{1, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	} {
		got := splitGRO(nil, data, c.seg)
		var lens []int
		for _, p := range got {
			lens = append(lens, len(p))
			if cap(p) != len(p) {
				t.Errorf("seg %d: piece with spare capacity", c.seg)
			}
		}
		if fmt.Sprint(lens) != fmt.Sprint(c.want) || !bytes.Equal(bytes.Join(got, nil), data) {
			t.Errorf("seg %d: %v, want lengths %v", c.seg, got, c.want)
		}
	}
	if got := splitGRO(nil, nil, 1400); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("empty payload: %v", got)
	}
}

func FuzzSplitGRO(f *testing.F) {
	f.Add(make([]byte, 4000), 1400)
	f.Add(make([]byte, 10), 3)
	f.Add([]byte{1}, 0)
	f.Add([]byte{}, 1)
	f.Add(make([]byte, 100), -7)
	f.Fuzz(func(t *testing.T, data []byte, seg int) {
		got := splitGRO(nil, data, seg)
		if len(got) == 0 || !bytes.Equal(bytes.Join(got, nil), data) {
			t.Fatalf("pieces %v do not make up %x", got, data)
		}
		if seg <= 0 || seg >= len(data) {
			if len(got) != 1 {
				t.Fatalf("seg %d over %d bytes: %d pieces", seg, len(data), len(got))
			}
			return
		}
		for i, p := range got {
			last := i == len(got)-1
			if cap(p) != len(p) || (!last && len(p) != seg) || (last && (len(p) == 0 || len(p) > seg)) {
				t.Fatalf("piece %d of %d: len %d cap %d, seg %d", i, len(got), len(p), cap(p), seg)
			}
		}
	})
}

func FuzzGROSegmentSize(f *testing.F) {
	f.Add(groCmsg(1400))
	f.Add(append(cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{1}, true), groCmsg(9)...))
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, oob []byte) {
		if n := groSegmentSize(oob); n < 0 {
			t.Fatalf("segment size %d", n)
		}
	})
}

// fakeTUN records what the receive path writes. Like the TUN library's GRO it may grow a
// packet over its buffer's spare capacity: Write scribbles over every packet's tail before
// copying the packets, so packets sharing a buffer come out corrupted.
type fakeTUN struct {
	writes  int
	pkts    [][]byte
	minRoom int // smallest capacity after the write offset seen
}

func (f *fakeTUN) File() *os.File                         { return nil }
func (f *fakeTUN) Read([][]byte, []int, int) (int, error) { return 0, os.ErrClosed }
func (f *fakeTUN) MTU() (int, error)                      { return 1400, nil }
func (f *fakeTUN) Name() (string, error)                  { return "fake", nil }
func (f *fakeTUN) Events() <-chan tun.Event               { return nil }
func (f *fakeTUN) Close() error                           { return nil }
func (f *fakeTUN) BatchSize() int                         { return 1 }
func (f *fakeTUN) Write(bufs [][]byte, offset int) (int, error) {
	f.writes++
	for _, b := range bufs {
		tail := b[len(b):cap(b)]
		for i := range tail {
			tail[i] = 0xee
		}
		if f.minRoom == 0 || cap(b)-offset < f.minRoom {
			f.minRoom = cap(b) - offset
		}
	}
	for _, b := range bufs {
		f.pkts = append(f.pkts, bytes.Clone(b[offset:]))
	}
	return len(bufs), nil
}

// fakeConn hands out prepared batches of messages, then reports the socket closed.
type fakeConn struct {
	batches [][]fakeMsg
}

type fakeMsg struct {
	data []byte
	seg  int // UDP_GRO segment size, 0 for none
}

func (c *fakeConn) ReadBatch(ms []ipv4.Message, _ int) (int, error) {
	if len(c.batches) == 0 {
		return 0, net.ErrClosed
	}
	b := c.batches[0]
	if len(b) > len(ms) { // like recvmmsg: the rest waits for the next read
		c.batches[0] = b[len(ms):]
		b = b[:len(ms)]
	} else {
		c.batches = c.batches[1:]
	}
	for i, m := range b {
		ms[i].N = copy(ms[i].Buffers[0], m.data)
		ms[i].NN = 0
		if m.seg > 0 {
			ms[i].NN = copy(ms[i].OOB, groCmsg(m.seg))
		}
		ms[i].Addr = &net.UDPAddr{IP: net.IP{192, 0, 2, 1}, Port: 4500}
	}
	return len(b), nil
}

func (c *fakeConn) WriteBatch([]ipv4.Message, int) (int, error) {
	return 0, errors.New("fakeConn: no writes")
}

// innerUDP is an IPv4/UDP packet from 10.1.0.2 to 10.2.0.2 of size bytes tagged with id.
func innerUDP(id, size int) []byte {
	p := v4Packet(17, size, false)
	binary.BigEndian.PutUint16(p[20:], 7001)
	binary.BigEndian.PutUint16(p[22:], 7000)
	binary.BigEndian.PutUint16(p[24:], uint16(size-20))
	binary.BigEndian.PutUint32(p[28:], uint32(id))
	binary.BigEndian.PutUint16(p[10:], ^csum(p[:20], 0))
	return p
}

// TestReceiveGRO feeds the receive loop messages holding several datagrams (ESP, IKE with
// the non-ESP marker, a keepalive, a forged packet) and checks that every inner packet
// reaches the TUN device intact, in order, in a buffer of its own with room to grow.
func TestReceiveGRO(t *testing.T) {
	db, err := sad.New(sad.Config{Provider: espsa.Provider{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	local, remote := netip.MustParseAddrPort("192.0.2.2:4500"), netip.MustParseAddrPort("192.0.2.1:4500")
	for _, c := range []dataplane.SAConfig{
		{SPI: spiAB, Dir: dataplane.In, Tunnel: "t", Local: local, Remote: remote, Encap: dataplane.EncapUDP,
			Encr: crypto.EncrAESGCM16, EncrKey: key(1)},
		{SPI: spiBA, Dir: dataplane.Out, Tunnel: "t", ChildID: 1, Local: local, Remote: remote, Encap: dataplane.EncapUDP,
			Encr: crypto.EncrAESGCM16, EncrKey: key(2)},
	} {
		if err := db.AddSA(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetPolicy(dataplane.Policy{Tunnel: "t",
		LocalTS:  []dataplane.Selector{prefixSel(netip.MustParsePrefix("10.2.0.0/24"))},
		RemoteTS: []dataplane.Selector{prefixSel(netip.MustParsePrefix("10.1.0.0/24"))}, OutChild: 1}); err != nil {
		t.Fatal(err)
	}
	peer, err := esp.New(esp.Config{SPI: spiAB, Encr: crypto.EncrAESGCM16, EncrKey: key(1)})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	seal := func(size int) []byte {
		in := innerUDP(len(want), size)
		out, err := peer.Seal(nil, in, 4)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, in)
		return out
	}
	join := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }

	e1 := seal(100)
	seg := len(e1)
	ike := append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte("i"), seg-4)...)
	forged := seal(100)
	want = want[:len(want)-1]
	forged[len(forged)-1] ^= 1
	batch1 := []fakeMsg{
		// ESP, IKE, ESP, ESP with a bad ICV, keepalive (the short last datagram).
		{join(e1, ike, seal(100), forged, []byte{0xff}), seg},
		{seal(100), 0}, // a lone datagram
		// The last datagram shorter; the first a replay (opened in place, then dropped).
		{join(e1, seal(100), seal(60)), seg},
	}
	// More datagrams than there are spare buffers: the batch is written in several parts.
	var batch2 []fakeMsg
	for range 3 {
		var ps [][]byte
		for range 60 {
			ps = append(ps, seal(100))
		}
		batch2 = append(batch2, fakeMsg{join(ps...), seg})
	}
	ft := &fakeTUN{}
	var ikeMsgs []string
	d := &Dataplane{log: slog.New(slog.NewTextHandler(io.Discard, nil)), db: db, stats: db.Stats(), tun: ft,
		h: func(_, _ netip.AddrPort, msg []byte) { ikeMsgs = append(ikeMsgs, string(msg)) }}
	s := &sock{kind: kindNATT, local: local, v4: true, gro: true,
		bc: &fakeConn{batches: [][]fakeMsg{batch1, batch2}}}
	newReceiver(d, s).run()

	if len(ft.pkts) != len(want) {
		t.Fatalf("%d packets written, want %d", len(ft.pkts), len(want))
	}
	for i := range want {
		if !bytes.Equal(ft.pkts[i], want[i]) {
			t.Fatalf("packet %d: got % x\nwant % x", i, ft.pkts[i][:32], want[i][:32])
		}
	}
	if ft.writes < 3 {
		t.Errorf("%d TUN writes, want the second batch split", ft.writes)
	}
	if ft.minRoom < recvBufSize-64 {
		t.Errorf("a packet has only %d bytes of room to grow", ft.minRoom)
	}
	if len(ikeMsgs) != 1 || ikeMsgs[0] != string(ike[4:]) {
		t.Errorf("IKE messages %q", ikeMsgs)
	}
	c := d.Counters()
	if c.Keepalives != 1 || c.IKEIn != 1 || c.AuthFails != 1 || c.ReplayDrops != 1 || c.PacketsIn != uint64(len(want)) {
		t.Errorf("counters %+v", c)
	}
	if n := s.groMsgs.Load(); n != 5 {
		t.Errorf("%d GRO messages counted, want 5", n)
	}
}

// TestReceiverGrows: a receiver starts with one message buffer and doubles its batch while
// reads fill it, up to its maximum, without losing a message on the way.
func TestReceiverGrows(t *testing.T) {
	var got []string
	d := &Dataplane{log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		h: func(_, _ netip.AddrPort, msg []byte) { got = append(got, string(msg)) }}
	var batch []fakeMsg
	for i := range 40 {
		batch = append(batch, fakeMsg{data: []byte(fmt.Sprintf("ike-%02d", i))})
	}
	s := &sock{kind: kindIKE, local: netip.MustParseAddrPort("192.0.2.2:500"), v4: true, bc: &fakeConn{batches: [][]fakeMsg{batch}}}
	r := newReceiver(d, s)
	if len(r.msgs) != 1 {
		t.Fatalf("a new receiver has %d buffers, want 1", len(r.msgs))
	}
	db, err := sad.New(sad.Config{Provider: espsa.Provider{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d.db, d.stats = db, db.Stats()
	r.run()
	if len(got) != 40 || got[0] != "ike-00" || got[39] != "ike-39" {
		t.Fatalf("%d messages delivered (%v)", len(got), got)
	}
	if len(r.msgs) != ikeBatch {
		t.Fatalf("batch of %d after 40 messages, want the maximum %d", len(r.msgs), ikeBatch)
	}
}
