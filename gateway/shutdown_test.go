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
		var ca, cb string
		for i, name := range []string{"t1", "t2"} {
			ids := func(l, r string) []string {
				return []string{strings.TrimSpace(v), fmt.Sprintf("local_id = \"fqdn:%s%d.example\"", l, i), fmt.Sprintf("remote_id = \"fqdn:%s%d.example\"", r, i)}
			}
			ca += tunnelTOML(name, addrA, addrB, i+1, "start", ids("a", "b")...)
			cb += mirrorTOML(name, addrB, addrA, i+1) + lines(ids("b", "a"))
		}
		n := memory.NewNetwork()
		b := startGateway(t, n, parseConf(t, cb))
		a := startGateway(t, n, parseConf(t, ca))
		for _, name := range []string{"t1", "t2"} {
			childSPIs(t, a.Gateway, name)
			childSPIs(t, b.Gateway, name)
		}
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
		var ca, cb string
		for i, name := range []string{"t1", "t2", "t3"} {
			ids := func(l, r string) []string {
				return []string{strings.TrimSpace(v), fmt.Sprintf("local_id = \"fqdn:%s%d.example\"", l, i), fmt.Sprintf("remote_id = \"fqdn:%s%d.example\"", r, i)}
			}
			ca += tunnelTOML(name, addrA, addrB, i+1, "start", ids("a", "b")...)
			cb += mirrorTOML(name, addrB, addrA, i+1) + lines(ids("b", "a"))
		}
		n := memory.NewNetwork()
		b := startGateway(t, n, parseConf(t, cb))
		a := startGateway(t, n, parseConf(t, ca))
		for _, name := range []string{"t1", "t2", "t3"} {
			childSPIs(t, a.Gateway, name)
			childSPIs(t, b.Gateway, name)
		}
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
