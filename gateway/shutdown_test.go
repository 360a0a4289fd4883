package gateway

import (
	"fmt"
	"strings"
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
