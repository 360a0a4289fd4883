package tunudp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// openFailing opens a dataplane in ns whose Close may report the descriptor the test closed.
func openFailing(t *testing.T, ns *netns.NS, a netip.Addr) *Dataplane {
	t.Helper()
	var dp *Dataplane
	if err := ns.Do(func() error {
		var err error
		dp, err = Open(Config{TUNName: "vgdp0", Addrs: []netip.Addr{a}}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dp.Close(); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return dp
}

func waitFailed(t *testing.T, d *Dataplane) error {
	t.Helper()
	select {
	case err := <-d.Failed():
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("failure not reported")
	}
	return nil
}

// TestDeadWorkerReported closes the TUN device's descriptor (on gwA) and the NAT-T socket (on
// gwB) under running dataplanes: each reports the failure on Failed, while a regular Close
// reports nothing.
func TestDeadWorkerReported(t *testing.T) {
	tp := netns.NewSiteToSite(t, "vgdp")
	a := openFailing(t, tp.GwA, netns.GwAWAN)
	b := openFailing(t, tp.GwB, netns.GwBWAN)

	if err := a.tun.File().Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitFailed(t, a); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("TUN failure: %v", err)
	}

	s := b.socks.Load().natt[netns.GwBWAN]
	if s == nil {
		t.Fatal("no NAT-T socket")
	}
	if err := s.conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitFailed(t, b); err == nil {
		t.Fatal("socket failure reported as nil")
	}

	// Closing a healthy dataplane is not a failure.
	var c *Dataplane
	if err := tp.HostA.Do(func() error {
		var err error
		c, err = Open(Config{TUNName: "vgdp1", Addrs: []netip.Addr{netns.HostAAddr}}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.Failed():
		t.Fatalf("Close reported as failure: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
}
