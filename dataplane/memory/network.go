package memory

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Network is a hub connecting in-memory dataplanes by address.
type Network struct {
	mu     sync.Mutex
	byAddr map[netip.Addr]*Dataplane

	ikeLatency atomic.Int64 // one-way delay of IKE messages, nanoseconds
}

// SetIKELatency delays every IKE message sent from now on by d on its way (one way: a
// request and its answer take 2d), so that recovery times measured with a fake clock
// (testing/synctest) include round trips. Messages keep their order. ESP packets are not
// delayed: Inject still returns only once the peer has decrypted the packet.
func (n *Network) SetIKELatency(d time.Duration) { n.ikeLatency.Store(int64(max(d, 0))) }

// IKELatency returns the one-way delay set by SetIKELatency.
func (n *Network) IKELatency() time.Duration { return time.Duration(n.ikeLatency.Load()) }

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{byAddr: map[netip.Addr]*Dataplane{}}
}

func (n *Network) listen(a netip.Addr, d *Dataplane) {
	n.mu.Lock()
	n.byAddr[a.Unmap()] = d
	n.mu.Unlock()
}

func (n *Network) lookup(a netip.Addr) *Dataplane {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byAddr[a.Unmap()]
}

func (n *Network) detach(d *Dataplane) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for a, x := range n.byAddr {
		if x == d {
			delete(n.byAddr, a)
		}
	}
}
