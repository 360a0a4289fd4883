package gateway

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane/memory"
)

// TestShutdownDeletesEveryIKESA: the shutdown sends a Delete for each established IKE SA,
// also when there are several and, as with IKEv1, each Delete completes at once (the
// bookkeeping of the Deletes in flight must not be emptied while the SAs are walked).
func TestShutdownDeletesEveryIKESA(t *testing.T) {
	forVersions(t, func(t *testing.T, v string) {
		a, b := upPair(t, v, 2)
		a.stop()
		deadline := time.Now().Add(5 * time.Second)
		for {
			left := 0
			b.engine.Call(func() { left = len(b.engine.IKESAs()) })
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("B still has %d IKE SAs after A's shutdown; A's events:\n%s", left, eventList(a))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n := metric(t, a, "vigil_internal_errors_total"); n != 0 {
			t.Errorf("%v internal errors during the shutdown", n)
		}
	})
}

// TestShutdownSendsEachDeleteOnce: a peer that does not answer gets one Delete per IKE SA and
// no retransmissions (at 100,000 SAs they doubled the load of a shutdown on both sides); the
// shutdown gives up on each at its first retransmission timeout.
func TestShutdownSendsEachDeleteOnce(t *testing.T) {
	forVersions(t, func(t *testing.T, v string) {
		a, _ := upPair(t, v, 3)
		var sent atomic.Int64
		a.dp.(failListen).DropIKE(func(_, _ netip.AddrPort, _ []byte) bool { sent.Add(1); return true }) // B hears nothing
		a.stop()
		<-a.done
		// IKEv2: one Delete per IKE SA (its Child SAs go with it). IKEv1: Deletes are
		// one-way notifications, one for the phase-2 SA and one for the ISAKMP SA.
		want := int64(3)
		if strings.Contains(v, "= 1") {
			want = 6
		}
		if got := sent.Load(); got != want {
			t.Errorf("A sent %d IKE messages while shutting down, want %d (each Delete once, none resent)", got, want)
		}
	})
}

// upPair starts gateways A and B with n tunnels (IKE version line v) between them, each with
// its own identities, A initiating, and waits until every tunnel is up on both.
func upPair(t *testing.T, v string, n int) (a, b *testGateway) {
	t.Helper()
	var ca, cb string
	for i := range n {
		ids := func(l, r string) []string {
			return []string{strings.TrimSpace(v), fmt.Sprintf("local_id = \"fqdn:%s%d.example\"", l, i), fmt.Sprintf("remote_id = \"fqdn:%s%d.example\"", r, i)}
		}
		ca += tunnelTOML(fmt.Sprintf("t%d", i+1), addrA, addrB, i+1, "start", ids("a", "b")...)
		cb += mirrorTOML(fmt.Sprintf("t%d", i+1), addrB, addrA, i+1) + lines(ids("b", "a"))
	}
	net := memory.NewNetwork()
	b = startGateway(t, net, parseConf(t, cb))
	a = startGateway(t, net, parseConf(t, ca))
	for i := range n {
		childSPIs(t, a.Gateway, fmt.Sprintf("t%d", i+1))
		childSPIs(t, b.Gateway, fmt.Sprintf("t%d", i+1))
	}
	return a, b
}
