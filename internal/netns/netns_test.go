package netns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"vgsw-1234-hostA", true},
		{"a", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{strings.Repeat("x", 65), false},
	} {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckIfName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"eth0", true},
		{"abcdefghijklmno", true},
		{"abcdefghijklmnop", false},
		{"", false},
		{"a/b", false},
		{"a:b", false},
		{"a b", false},
	} {
		if err := checkIfName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkIfName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestRandHex(t *testing.T) {
	a, b := RandHex(4), RandHex(4)
	if len(a) != 4 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("RandHex(4) = %q", a)
	}
	if a == b && RandHex(8) == RandHex(8) {
		t.Fatalf("RandHex not random")
	}
}

func newNS(t *testing.T) *NS {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	ns, err := New("vgsw-" + RandHex(4) + "-t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

func TestNewClose(t *testing.T) {
	ns := newNS(t)
	ctx := t.Context()
	out, err := ns.Run(ctx, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/lo/disable_ipv6")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "1" || got[1] != "1" {
		t.Errorf("disable_ipv6 = %q, want 1 1", out)
	}
	out, err = ns.Run(ctx, "ip", "-o", "link", "show", "lo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "UP") {
		t.Errorf("lo not up: %s", out)
	}
	if _, err := ns.Run(ctx, "false"); err == nil {
		t.Errorf("Run(false) succeeded")
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns.path()); !os.IsNotExist(err) {
		t.Errorf("namespace file still there after Close: %v", err)
	}
	if err := ns.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewRejectsBadName(t *testing.T) {
	if _, err := New("bad/name"); err == nil {
		t.Fatal("New accepted a name with a slash")
	}
}

func TestDo(t *testing.T) {
	ns := newNS(t)
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	var ifaces []net.Interface
	var conn net.PacketConn
	err = ns.Do(func() error {
		var err error
		if inside, err = os.Readlink("/proc/thread-self/ns/net"); err != nil {
			return err
		}
		if ifaces, err = net.Interfaces(); err != nil {
			return err
		}
		conn, err = net.ListenPacket("udp4", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if inside == before {
		t.Errorf("Do ran in the caller's namespace %s", inside)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" {
		t.Errorf("interfaces inside = %v, want only lo", ifaces)
	}
	// The socket stays in the namespace: a datagram sent to 127.0.0.1 from
	// inside arrives (sent from the host namespace it would not).
	err = ns.Do(func() error {
		c, err := net.Dial("udp4", conn.LocalAddr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hi\n"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, _, err := conn.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hi\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	wantErr := ns.Do(func() error { return os.ErrExist })
	if wantErr != os.ErrExist {
		t.Errorf("Do returned %v, want f's error", wantErr)
	}
}

func TestStartStopClose(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	ns, err := New("vgsw-" + RandHex(4) + "-p")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	a, err := ns.Start("sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ns.Start("sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Stop(a); err != nil {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-ns.Exited(b):
		t.Fatal("b exited early")
	default:
	}
	bDone := ns.Exited(b)
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bDone:
	default:
		t.Fatal("Close did not stop b")
	}
	if _, err := ns.Start("true"); err == nil {
		t.Error("Start after Close succeeded")
	}
	if err := ns.Stop(exec.Command("true")); err == nil {
		t.Error("Stop of an unknown command succeeded")
	}
}

func TestVethBadInput(t *testing.T) {
	a, b := &NS{Name: "x"}, &NS{Name: "y"}
	good := netip.MustParsePrefix("10.0.0.1/24")
	if err := Veth(a, "waytoolonginterface", good, b, "e0", good); err == nil {
		t.Error("accepted long interface name")
	}
	if err := Veth(a, "e0", netip.Prefix{}, b, "e0", good); err == nil {
		t.Error("accepted invalid prefix")
	}
	if err := a.AddRoute(netip.Prefix{}, netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("AddRoute accepted invalid prefix")
	}
}

func TestSiteToSite(t *testing.T) {
	tp := NewSiteToSite(t, "vgsw")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ping := func(ns *NS, dst netip.Addr) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return ns.Ping(ctx, dst)
	}
	for _, tc := range []struct {
		from *NS
		to   netip.Addr
	}{
		{tp.HostA, GwALAN},
		{tp.GwA, GwBWAN},
		{tp.HostB, GwBLAN},
		{tp.HostA, GwAWAN}, // gateway's other address, via default route
	} {
		if err := ping(tc.from, tc.to); err != nil {
			t.Errorf("ping %s -> %s: %v", tc.from.Name, tc.to, err)
		}
	}
	// Without a tunnel there is no route between the sites.
	err := ping(tp.HostA, HostBAddr)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("ping hostA -> hostB without a tunnel: %v, want unreachable", err)
	}
	for _, ns := range []*NS{tp.GwA, tp.GwB} {
		out, err := ns.Run(ctx, "cat", "/proc/sys/net/ipv4/ip_forward")
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Errorf("%s ip_forward = %q, %v", ns.Name, out, err)
		}
	}
	for _, ns := range []*NS{tp.HostA, tp.GwA, tp.GwB, tp.HostB} {
		if !regexp.MustCompile(`^vgsw-[0-9a-f]{4}-(hostA|gwA|gwB|hostB)$`).MatchString(ns.Name) {
			t.Errorf("unexpected namespace name %q", ns.Name)
		}
	}
}

func TestMatchReply(t *testing.T) {
	dst := netip.MustParseAddr("10.2.0.2")
	from := &net.IPAddr{IP: net.ParseIP("10.2.0.2")}
	echo := func(typ icmp.Type, id int) []byte {
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("x")}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	quoted := func(id int) []byte {
		h := ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TotalLen: 28, TTL: 64, Protocol: 1,
			Src: net.ParseIP("10.1.0.2"), Dst: dst.AsSlice()}
		hb, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: 0,
			Body: &icmp.DstUnreach{Data: append(hb, echo(ipv4.ICMPTypeEcho, id)[:8]...)}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		b        []byte
		from     net.Addr
		done, ok bool
	}{
		{"reply", echo(ipv4.ICMPTypeEchoReply, 7), from, true, true},
		{"other id", echo(ipv4.ICMPTypeEchoReply, 8), from, false, false},
		{"request", echo(ipv4.ICMPTypeEcho, 7), from, false, false},
		{"other source", echo(ipv4.ICMPTypeEchoReply, 7), &net.IPAddr{IP: net.ParseIP("10.2.0.3")}, false, false},
		{"unreachable", quoted(7), &net.IPAddr{IP: net.ParseIP("10.1.0.1")}, true, false},
		{"unreachable other id", quoted(9), from, false, false},
		{"garbage", []byte{3, 0}, from, false, false},
	} {
		done, err := matchReply(tc.b, tc.from, dst, 7)
		if done != tc.done || (err == nil) != (tc.ok || !tc.done) {
			t.Errorf("%s: matchReply = %v, %v; want done=%v ok=%v", tc.name, done, err, tc.done, tc.ok)
		}
	}
}

func FuzzMatchReply(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 7, 0, 1})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 1, 0, 2, 10, 2, 0, 2, 8, 0, 0, 0, 0, 7, 0, 1})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0x4f})
	dst := netip.MustParseAddr("10.2.0.2")
	from := &net.IPAddr{IP: dst.AsSlice()}
	f.Fuzz(func(t *testing.T, b []byte) {
		matchReply(b, from, dst, 7)
	})
}
