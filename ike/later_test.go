package ike

import (
	"context"
	"errors"
	"testing"
)

// TestLaterWithFullQueue: loop code (a hook) can schedule work with Later even when the loop's
// queue is full, where Do would block the loop on itself for ever.
func TestLaterWithFullQueue(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	ran := 0
	e.run(func() {
		for full := false; !full; {
			select {
			case e.loop <- func() {}:
			default:
				full = true
			}
		}
		e.Later(func() { ran++; e.Later(func() { ran++ }) })
	})
	if ran != 2 {
		t.Fatalf("later functions ran %d times, want 2", ran)
	}
}

// TestStoppedLoop: once Run has returned, Do and Call return ErrStopped instead of blocking
// (the API and metrics must not hang on a stopped engine).
func TestStoppedLoop(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	if err := e.Call(func() {}); err != nil {
		t.Fatalf("Call on a running loop: %v", err)
	}
	cancel()
	<-done
	ran := false
	if err := e.Call(func() { ran = true }); !errors.Is(err, ErrStopped) || ran {
		t.Fatalf("Call after stop: %v (ran %v)", err, ran)
	}
	for range cap(e.loop) + 1 { // more than the queue holds: must not block
		if err := e.Do(func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Do after stop: %v", err)
		}
	}
}
