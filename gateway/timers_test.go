package gateway

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
)

// fakeLoop stands in for the engine loop: do queues functions, and the test goroutine plays
// the loop by running them with runQueued.
type fakeLoop struct {
	mu      sync.Mutex
	queued  []func()
	stopped bool
}

var errLoopStopped = errors.New("loop stopped")

func (l *fakeLoop) do(f func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errLoopStopped
	}
	l.queued = append(l.queued, f)
	return nil
}

func (l *fakeLoop) runQueued() {
	l.mu.Lock()
	q := l.queued
	l.queued = nil
	l.mu.Unlock()
	for _, f := range q {
		f()
	}
}

func (l *fakeLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

func TestTimerRunsOnLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l fakeLoop
		s := newTimerSet(l.do)
		ran := 0
		s.after(time.Second, func() { ran++ })
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		l.runQueued()
		if ran != 0 {
			t.Fatal("ran before its time")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if ran != 0 {
			t.Fatal("ran outside the loop")
		}
		l.runQueued()
		if ran != 1 || len(s.pending) != 0 {
			t.Fatalf("ran %d times, %d timers pending; want once and none", ran, len(s.pending))
		}
	})
}

// TestStoppedTimerNeverRuns: Stop on the loop wins even when the timer has already fired and
// its function waits in the loop's queue.
func TestStoppedTimerNeverRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l fakeLoop
		s := newTimerSet(l.do)
		ran := false
		lt := s.after(time.Second, func() { ran = true })
		time.Sleep(time.Second)
		synctest.Wait() // fired: its function is queued
		lt.Stop()
		l.runQueued()
		if ran || len(s.pending) != 0 {
			t.Fatalf("ran = %v, %d pending after Stop", ran, len(s.pending))
		}
		var none *loopTimer
		none.Stop() // a tunnel without a timer
	})
}

// TestStopAll: what the shutdown does. Nothing armed before runs afterwards, and a timer whose
// loop has stopped only finds the loop gone.
func TestStopAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l fakeLoop
		s := newTimerSet(l.do)
		ran := 0
		for d := range 3 {
			s.after(time.Duration(d+1)*time.Second, func() { ran++ })
		}
		s.after(0, func() { ran++ })
		synctest.Wait() // the last one has fired: its function is queued
		s.stopAll()
		l.runQueued()
		time.Sleep(time.Hour)
		synctest.Wait()
		l.runQueued()
		if ran != 0 || len(s.pending) != 0 {
			t.Fatalf("%d functions ran, %d timers pending after stopAll", ran, len(s.pending))
		}

		s.after(time.Second, func() { ran++ })
		l.stop()
		time.Sleep(time.Second)
		synctest.Wait() // the timer's goroutine has returned: Test would not end otherwise
		if ran != 0 {
			t.Fatal("ran with the loop stopped")
		}
	})
}

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
		g.timers.after(time.Hour, func() { ran <- struct{}{} })
		g.tstate["ab"].retryTimer = g.timers.after(time.Hour, func() { ran <- struct{}{} })
	})
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(g.timers.pending); n != 0 {
		t.Errorf("%d timers still armed after Run returned", n)
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
