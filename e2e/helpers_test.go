package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

const testPSK = "e2e-pre-shared-key-0123456789"

// sideA and sideB are the two ends of the standard site-to-site topology.
func sideA(name string) vigiltest.Tunnel {
	return vigiltest.Tunnel{
		Name: name, LocalAddr: netns.GwAWAN.String(), RemoteAddr: netns.GwBWAN.String(),
		LocalID: "fqdn:a.example", RemoteID: "fqdn:b.example", PSK: testPSK,
		LocalTS: []string{netns.NetA.String()}, RemoteTS: []string{netns.NetB.String()},
	}
}

func sideB(name string) vigiltest.Tunnel {
	return vigiltest.Tunnel{
		Name: name, LocalAddr: netns.GwBWAN.String(), RemoteAddr: netns.GwAWAN.String(),
		LocalID: "fqdn:b.example", RemoteID: "fqdn:a.example", PSK: testPSK,
		LocalTS: []string{netns.NetB.String()}, RemoteTS: []string{netns.NetA.String()},
	}
}

// vigilPair starts two Vigils speaking iv on topo, both with start_action start unless mod
// changes that (mod sees the tunnels before iv does, so proposals it sets are kept); globalB
// goes into B's [global] section.
func vigilPair(t *testing.T, topo *netns.Topo, iv ikeVersion, mod func(a, b *vigiltest.Tunnel), globalB ...string) (*vigiltest.Vigil, *vigiltest.Vigil) {
	t.Helper()
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction, tb.StartAction = "start", "start"
	if mod != nil {
		mod(&ta, &tb)
	}
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Global: globalB, Tunnels: []vigiltest.Tunnel{iv.tunnel(tb)}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{iv.tunnel(ta)}})
	return a, b
}

// ikeSAs returns v's IKE SAs of tunnel "site".
func ikeSAs(t *testing.T, ctx context.Context, v *vigiltest.Vigil) []api.IKESA {
	t.Helper()
	sas, err := v.Client.SAs(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	return sas
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pairUp waits until both daemons have one installed Child SA for tunnel and checks that the
// SPIs pair up.
func pairUp(t *testing.T, ctx context.Context, a, b *vigiltest.Vigil, tunnel string) (api.ChildSA, api.ChildSA) {
	t.Helper()
	for {
		sa, err := a.WaitFor(ctx, "A's child", vigiltest.HasChild(tunnel))
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.WaitFor(ctx, "B's child", vigiltest.HasChild(tunnel))
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := vigiltest.Child(sa, tunnel)
		cb, _ := vigiltest.Child(sb, tunnel)
		if ca.SPIOut == cb.SPIIn && ca.SPIIn == cb.SPIOut {
			return ca, cb
		}
		// One side may be mid-rekey or still replacing an SA (a Delete in flight, a duplicate
		// being resolved): look again once both have settled.
		select {
		case <-ctx.Done():
			t.Fatalf("SPIs do not pair: A in %v out %v, B in %v out %v", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ping(t *testing.T, ctx context.Context, topo *netns.Topo) {
	t.Helper()
	if err := topo.HostA.Ping(ctx, netns.HostBAddr); err != nil {
		t.Fatalf("ping hostA -> hostB: %v", err)
	}
	if err := topo.HostB.Ping(ctx, netns.HostAAddr); err != nil {
		t.Fatalf("ping hostB -> hostA: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
