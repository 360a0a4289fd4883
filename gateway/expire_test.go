package gateway

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
)

// sitePair runs the example site-a and site-b gateways against each other over an in-memory
// network; site-a's tunnel gets start action start, site-b's none.
func sitePair(t *testing.T) (a, b *Gateway) {
	t.Helper()
	n := memory.NewNetwork()
	// vigild refuses key files others may read: load private copies, as installed.
	dir := t.TempDir()
	files, _ := filepath.Glob("../examples/*")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600)
		}
	}
	mk := func(file, startAction string) (*Gateway, *memory.Dataplane) {
		cfg, err := config.Load(filepath.Join(dir, filepath.Base(file)))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tunnels[0].StartAction = startAction
		var dp *memory.Dataplane
		g, err := New(cfg, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
			dp = n.Attach(nil, h)
			return dp, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return g, dp
	}
	b, _ = mk("../examples/vigil-site-b.toml", "none")
	a, _ = mk("../examples/vigil-site-a.toml", "start")
	return a, b
}

// child returns the tunnel's current Child SA (nil if none), read on the loop.
func child(g *Gateway, name string) *ike.ChildSA {
	var c *ike.ChildSA
	g.engine.Call(func() {
		if t := g.engine.Tunnel(name); t != nil && t.Child != nil && t.Child.State == ike.ChildInstalled {
			c = t.Child
		}
	})
	return c
}

func waitChild(t *testing.T, g *Gateway, name string, not *ike.ChildSA) *ike.ChildSA {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c := child(g, name); c != nil && c != not {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("tunnel %s: no new Child SA", name)
	return nil
}

// TestHardExpireRecreatesChild: a hard expiry (here of the outbound SA, as when its sequence
// numbers run out) deletes the Child SA and negotiates a new one for a tunnel that had it up,
// even with start_action none; not when the operator took the tunnel down.
func TestHardExpireRecreatesChild(t *testing.T) {
	a, b := sitePair(t)
	const name = "site-a" // site-b's tunnel to site-a (start_action none)
	c0 := waitChild(t, b, name, nil)
	expire := func(g *Gateway, tunnel string, c *ike.ChildSA) {
		db := g.dp.(*memory.Dataplane).DB()
		db.Emit(dataplane.Event{Kind: dataplane.EventHardExpire, Time: time.Now(),
			SPI: c.SPIOut, Dir: dataplane.Out, Tunnel: tunnel, Child: c.ID})
		db.Emit(dataplane.Event{Kind: dataplane.EventHardExpire, Time: time.Now(),
			SPI: c.SPIIn, Dir: dataplane.In, Tunnel: tunnel, Child: c.ID})
	}
	expire(b, name, c0)
	c1 := waitChild(t, b, name, c0)
	if c1.ID == c0.ID || c1.SPIOut == c0.SPIOut {
		t.Fatalf("new child %d/%08x, old %d/%08x", c1.ID, c1.SPIOut, c0.ID, c0.SPIOut)
	}
	time.Sleep(100 * time.Millisecond)
	for _, g := range []*Gateway{a, b} {
		g.engine.Call(func() {
			if g.engine.ChildByID(c0.ID) != nil {
				t.Error("expired child still indexed")
			}
			for _, t0 := range g.engine.Tunnels() {
				if n := len(t0.IKE.Children()); n != 1 {
					t.Errorf("%d Child SAs after the expiry, want 1", n)
				}
			}
		})
	}

	// Taken down by the operator (on site-a, whose peer does not initiate): the expired
	// Child SA is not replaced.
	ca := waitChild(t, a, "site-b", nil)
	a.engine.Call(func() { a.tstate["site-b"].manualDown = true })
	expire(a, "site-b", ca)
	time.Sleep(300 * time.Millisecond)
	if c := child(a, "site-b"); c != nil {
		t.Fatalf("child %d created for a tunnel taken down", c.ID)
	}
	if c := child(b, name); c != nil {
		t.Fatalf("peer still has child %d", c.ID)
	}
}
