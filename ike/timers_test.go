package ike

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func runEngine(t *testing.T) (*Engine, func()) {
	e := New(Config{}, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return e, func() { cancel(); <-done }
}

// TestTimerRunsOnLoop: a timer's function runs once, at its time, on the loop, and is
// forgotten.
func TestTimerRunsOnLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		ran := 0
		e.Call(func() { e.After(time.Second, func() { ran++ }) })
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		e.Call(func() {
			if ran != 0 {
				t.Error("ran before its time")
			}
		})
		time.Sleep(time.Millisecond)
		synctest.Wait()
		e.Call(func() {
			if ran != 1 || e.PendingTimers() != 0 {
				t.Errorf("ran %d times, %d timers pending; want once and none", ran, e.PendingTimers())
			}
		})
	})
}

// TestStoppedTimerNeverRuns: Stop on the loop wins even when the timer has already fired and
// its function waits in the loop's queue.
func TestStoppedTimerNeverRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		ran := false
		e.Call(func() {
			lt := e.After(time.Second, func() { ran = true })
			time.Sleep(time.Second) // the loop is busy: the timer fires and queues its function
			synctest.Wait()
			lt.Stop()
		})
		e.Call(func() {
			if ran || e.PendingTimers() != 0 {
				t.Errorf("ran = %v, %d pending after Stop", ran, e.PendingTimers())
			}
		})
		var none *Timer
		none.Stop() // a tunnel without a timer
	})
}

// TestTimerGroupStopAll: a group's StopAll stops its own timers, not the engine's others.
func TestTimerGroupStopAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		own, grouped := 0, 0
		var g *TimerGroup
		e.Call(func() {
			g = e.NewTimerGroup()
			for d := range 3 {
				g.After(time.Duration(d+1)*time.Second, func() { grouped++ })
			}
			e.After(2*time.Second, func() { own++ })
			g.StopAll()
		})
		time.Sleep(time.Hour)
		synctest.Wait()
		e.Call(func() {
			if grouped != 0 || own != 1 || g.Len() != 0 || e.PendingTimers() != 0 {
				t.Errorf("group ran %d, engine timer ran %d; %d/%d pending", grouped, own, g.Len(), e.PendingTimers())
			}
		})
	})
}

// TestRunStopsTimers: when Run returns, no timer is left armed and none runs afterwards.
func TestRunStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		ran := 0
		e.Call(func() {
			e.After(time.Second, func() { ran++ })
			e.NewTimerGroup().After(time.Second, func() { ran++ })
		})
		stop()
		if n := e.PendingTimers(); n != 0 {
			t.Errorf("%d timers armed after Run returned", n)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if ran != 0 {
			t.Errorf("%d timer functions ran after Run returned", ran)
		}
	})
}
