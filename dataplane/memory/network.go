package memory

import (
	"net/netip"
	"sync"
)

// Network is a hub connecting in-memory dataplanes by address.
type Network struct {
	mu     sync.Mutex
	byAddr map[netip.Addr]*Dataplane
}

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
