package v2

import (
	"net/netip"
	"sync"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

// protos gives the test engines IKEv2.
var protos = []func(*ike.Engine) ike.Protocol{New}

// capture records the messages sent from address from.
func capture(fn *iketest.Net, from netip.Addr) *[][]byte {
	var mu sync.Mutex
	var got [][]byte
	fn.SetDrop(func(f, to netip.AddrPort, msg []byte) bool {
		if f.Addr() == from {
			mu.Lock()
			got = append(got, append([]byte(nil), msg...))
			mu.Unlock()
		}
		return false
	})
	return &got
}

func stats(n *iketest.Node) (s ike.Stats) {
	n.E.Call(func() { s = n.E.Stats() })
	return s
}
