package ike_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

// firstSPI answers the first 4-byte read (an engine's first inbound Child SA SPI) with spi,
// everything else from crypto/rand.
type firstSPI struct{ spi *uint32 }

func (r firstSPI) Read(b []byte) (int, error) {
	if len(b) == 4 && *r.spi != 0 {
		binary.BigEndian.PutUint32(b, *r.spi)
		*r.spi = 0
		return 4, nil
	}
	return io.ReadFull(rand.Reader, b)
}

// TestFindChildrenTwoPeersOneSPI: two peers of one gateway choose the same inbound SPI, which
// is the gateway's outbound SPI for both Child SAs. FindChildren names both, by that SPI
// alone; each inbound SPI names its own.
func TestFindChildrenTwoPeersOneSPI(t *testing.T) {
	const shared = 0x0000abcd
	fn := iketest.NewNet()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tunnel := func(name, local, remote, lnet, rnet string) *ike.TunnelConfig {
		return &ike.TunnelConfig{
			Name: name, Version: 2, Local: netip.MustParseAddrPort(local + ":500"), Remote: netip.MustParseAddrPort(remote + ":500"),
			LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte(local)}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte(remote)},
			PSK: []byte("a-very-secret-pre-shared-key"), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
			IKEProposals: iketest.MustProps(t, "aes128gcm16-prfsha256-x25519", true), ESPProposals: iketest.MustProps(t, "aes128gcm16", false),
			DPDTimeout: 10 * time.Second, ReplayWindow: 64,
		}
	}
	node := func(addr string, cfg ike.Config, tcs ...*ike.TunnelConfig) (*ike.Engine, *iketest.Hooks, []*ike.Tunnel) {
		dp := fn.NewDP(netip.MustParseAddr(addr))
		h := iketest.NewHooks()
		e := ike.New(cfg, dp, h, nil, protos...)
		e.VerifyCounts()
		dp.Attach(e)
		ts := e.AddTunnels(tcs)
		t.Cleanup(func() { iketest.CheckCounts(t, e) })
		go e.Run(ctx)
		return e, h, ts
	}
	a, ha, ts := node("192.0.2.1", ike.Config{},
		tunnel("to-b", "192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16"),
		tunnel("to-c", "192.0.2.1", "192.0.2.3", "10.1.0.0/16", "10.3.0.0/16"))
	for _, p := range []struct{ addr, net string }{{"192.0.2.2", "10.2.0.0/16"}, {"192.0.2.3", "10.3.0.0/16"}} {
		spi := uint32(shared)
		node(p.addr, ike.Config{Rand: firstSPI{&spi}}, tunnel("to-a", p.addr, "192.0.2.1", p.net, "10.1.0.0/16"))
	}
	a.Call(func() {
		for _, tun := range ts {
			a.Initiate(tun)
		}
	})
	an := &iketest.Node{E: a, Hooks: ha}
	an.Wait(t, "child-up")
	an.Wait(t, "child-up")
	// Read on the loop, check here (t.Fatal belongs to the test's goroutine).
	var outs, ins []uint32
	var shared2 []*ike.ChildSA
	var own [][]*ike.ChildSA
	var children []*ike.ChildSA
	a.Call(func() {
		for _, tun := range ts {
			if c := tun.Child; c != nil {
				children = append(children, c)
				outs, ins = append(outs, c.SPIOut), append(ins, c.SPIIn)
				own = append(own, a.FindChildren(c.SPIIn))
			}
		}
		shared2 = a.FindChildren(shared)
	})
	if len(children) != 2 || outs[0] != shared || outs[1] != shared {
		t.Fatalf("outbound SPIs %08x, want both %08x", outs, shared)
	}
	if len(shared2) != 2 || shared2[0].Tunnel == shared2[1].Tunnel {
		t.Errorf("SPI %08x names %d Child SAs, want both tunnels'", shared, len(shared2))
	}
	for i, got := range own {
		if len(got) != 1 || got[0] != children[i] {
			t.Errorf("inbound SPI %08x names %d Child SAs, want tunnel %s's", ins[i], len(got), children[i].Tunnel.Cfg.Name)
		}
	}
}
