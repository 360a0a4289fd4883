package gateway

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
)

// TestDataplaneFailureStopsRun: a dataplane that reports a failure makes Run log it, mark the
// gateway unhealthy (status and metric) and return an error (vigild then exits non-zero).
func TestDataplaneFailureStopsRun(t *testing.T) {
	cfg := &config.Config{Global: config.DefaultGlobal()}
	var dp *memory.Dataplane
	g, err := New(cfg, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		dp = memory.NewNetwork().Attach([]netip.Addr{netip.MustParseAddr("192.0.2.1")}, h)
		return dp, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- g.Run(ctx) }()
	if st := g.Status(); !st.Healthy || st.Problem != "" { // answered by the running loop
		t.Fatalf("status while running: %+v", st)
	}
	if v := healthyGauge(t, g); v != 1 {
		t.Fatalf("vigil_dataplane_healthy = %v before failure", v)
	}

	boom := errors.New("TUN read: file already closed")
	dp.Fail(boom)
	select {
	case err := <-runErr:
		if !errors.Is(err, boom) {
			t.Fatalf("Run returned %v, want the dataplane's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the dataplane failed")
	}
	st := g.Status() // the loop is gone: must not block
	if st.Healthy || !strings.Contains(st.Problem, boom.Error()) {
		t.Fatalf("status after failure: %+v", st)
	}
	if v := healthyGauge(t, g); v != 0 {
		t.Fatalf("vigil_dataplane_healthy = %v after failure", v)
	}
}

func healthyGauge(t *testing.T, g *Gateway) float64 {
	t.Helper()
	mfs, err := g.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "vigil_dataplane_healthy" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("vigil_dataplane_healthy not exported")
	return -1
}
