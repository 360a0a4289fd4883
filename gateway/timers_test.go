package gateway

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
)

// TestRunStopsTimers: when Run returns, no timer of the gateway is left armed, and none that
// was armed has run.
func TestRunStopsTimers(t *testing.T) {
	cfg := parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "none"))
	g, err := New(cfg, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return memory.NewNetwork().Attach([]netip.Addr{netip.MustParseAddr(addrA)}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- g.Run(ctx) }()
	ran := make(chan struct{}, 2)
	g.engine.Call(func() {
		g.timers.After(time.Hour, func() { ran <- struct{}{} })
		g.tstate["ab"].retryTimer = g.timers.After(time.Hour, func() { ran <- struct{}{} })
	})
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n, m := g.timers.Len(), g.engine.PendingTimers(); n != 0 || m != 0 {
		t.Errorf("%d gateway timers, %d engine timers still armed after Run returned", n, m)
	}
	if len(ran) != 0 {
		t.Error("a timer ran during the shutdown")
	}
}

// TestIKEBeforeEngine: a dataplane may deliver an IKE message while the gateway is still
// being built (before the engine exists); it is dropped, not a crash.
func TestIKEBeforeEngine(t *testing.T) {
	local, remote := netip.MustParseAddrPort(addrA+":500"), netip.MustParseAddrPort(addrB+":500")
	_, err := New(&config.Config{Global: config.DefaultGlobal()}, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		h(local, remote, make([]byte, 28)) // an IKE header's worth, too early
		return memory.NewNetwork().Attach([]netip.Addr{local.Addr()}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
}
