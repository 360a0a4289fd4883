package scaleplan

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

func TestSubnets(t *testing.T) {
	for _, tc := range []struct {
		i    int
		a, b string
	}{
		{0, "10.64.0.0/28", "10.128.0.0/28"},
		{1, "10.64.0.16/28", "10.128.0.16/28"},
		{17, "10.64.1.16/28", "10.128.1.16/28"},
		{4096, "10.65.0.0/28", "10.129.0.0/28"},
		{MaxTunnels - 1, "10.127.255.240/28", "10.191.255.240/28"},
	} {
		a, b := Subnets(tc.i)
		if a.String() != tc.a || b.String() != tc.b {
			t.Errorf("Subnets(%d) = %v, %v; want %s, %s", tc.i, a, b, tc.a, tc.b)
		}
	}
	// Every subnet of the whole range is distinct, inside its /10 and clear of the sites.
	aNet, bNet := netip.MustParsePrefix("10.64.0.0/10"), netip.MustParsePrefix("10.128.0.0/10")
	seen := make(map[netip.Prefix]bool, 2*MaxTunnels)
	for i := range MaxTunnels {
		a, b := Subnets(i)
		if seen[a] || seen[b] || !aNet.Contains(a.Addr()) || !bNet.Contains(b.Addr()) {
			t.Fatalf("Subnets(%d) = %v, %v: reused or out of range", i, a, b)
		}
		seen[a], seen[b] = true, true
	}
	for _, site := range []netip.Prefix{netns.NetA, netns.NetB, netns.NetWAN} {
		if site.Overlaps(aNet) || site.Overlaps(bNet) {
			t.Errorf("site network %v overlaps the plan", site)
		}
	}
}

func TestPeerAddr(t *testing.T) {
	for k, want := range map[int]string{0: "192.0.2.1", 1: "100.64.0.1", 256: "100.64.1.0", MaxPeers - 1: "100.64.255.254"} {
		if got := PeerAddr(k); got.String() != want {
			t.Errorf("PeerAddr(%d) = %v, want %s", k, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	ts, err := New(10, 3)
	if err != nil {
		t.Fatal(err)
	}
	psks := map[string]bool{}
	for i, tun := range ts {
		if tun.Index != i || tun.Name != "s"+strconv.Itoa(i) || tun.AAddr != PeerAddr(i%3) ||
			tun.AID != "fqdn:a"+strconv.Itoa(i)+".scale.example" || tun.BID != "fqdn:b"+strconv.Itoa(i)+".scale.example" {
			t.Errorf("tunnel %d = %+v", i, tun)
		}
		if len(tun.PSK) != 32 || psks[tun.PSK] {
			t.Errorf("tunnel %d: PSK of %d characters, or repeated", i, len(tun.PSK))
		}
		psks[tun.PSK] = true
		a, b := tun.Hosts()
		if !tun.ANet.Contains(a) || !tun.BNet.Contains(b) || a == tun.ANet.Addr() {
			t.Errorf("tunnel %d: hosts %v %v", i, a, b)
		}
	}
	for _, bad := range [][2]int{{0, 1}, {MaxTunnels + 1, 1}, {5, 0}, {5, MaxPeers + 1}} {
		if _, err := New(bad[0], bad[1]); err == nil {
			t.Errorf("New(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

// TestVigilConfs: both generated configurations load in vigild's own parser, the tunnels
// pair up and A starts them.
func TestVigilConfs(t *testing.T) {
	ts, err := New(300, 7)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := VigilConfs(ts, "start")
	a, err := config.Parse("a.toml", []byte(ca.TOML("/run/a.sock", "vgs-a")))
	if err != nil {
		t.Fatalf("side A: %v", err)
	}
	b, err := config.Parse("b.toml", []byte(cb.TOML("/run/b.sock", "vgs-b")))
	if err != nil {
		t.Fatalf("side B: %v", err)
	}
	if len(a.Tunnels) != 300 || len(b.Tunnels) != 300 {
		t.Fatalf("%d and %d tunnels, want 300", len(a.Tunnels), len(b.Tunnels))
	}
	for i, ta := range a.Tunnels {
		tb := b.Tunnel(ta.Name)
		if tb == nil || ta.StartAction != "start" || tb.StartAction != "none" || ta.DPDDelay != 0 || ta.Encap != "udp" ||
			ta.LocalAddr != tb.RemoteAddr || ta.RemoteAddr != tb.LocalAddr || ta.LocalAddr != PeerAddr(i%7) ||
			ta.LocalTS[0] != tb.RemoteTS[0] || ta.RemoteTS[0] != tb.LocalTS[0] ||
			ta.LocalID.String() != tb.RemoteID.String() || !ta.PSK.Equal(tb.PSK) || string(ta.PSK.Bytes()) != ts[i].PSK {
			t.Fatalf("tunnel %s does not pair: A %+v, B %+v", ta.Name, ta, tb)
		}
	}
}

func TestSwanConfs(t *testing.T) {
	ts, err := New(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	a, b := SwanConfs(ts, "start")
	for i := range ts {
		if a[i].LocalAddr != b[i].RemoteAddr || a[i].RemoteAddr != b[i].LocalAddr || a[i].LocalID != b[i].RemoteID ||
			a[i].PSK != b[i].PSK || a[i].LocalTS[0] != b[i].RemoteTS[0] || a[i].StartAction != "start" || b[i].StartAction != "" ||
			a[i].ExtraConnOptions["keyingtries"] != "0" || !a[i].Encap {
			t.Errorf("connection %d does not pair: %v / %v", i, a[i], b[i])
		}
	}
}
