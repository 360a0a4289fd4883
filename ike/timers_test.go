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

// TestManyTimers: 5,000 timers with random deadlines, a third of them stopped at once and
// others stopped by other timers' functions, run exactly at their deadlines, in deadline
// order, and never after they were stopped; a timer armed by a timer function runs too.
func TestManyTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		start := time.Now()
		const n = 5000
		ranAt := map[int]time.Duration{}
		stoppedAt := map[int]time.Duration{}
		var order []time.Duration
		rng := uint64(12345)
		next := func(n uint64) uint64 { rng = rng*6364136223846793005 + 1442695040888963407; return (rng >> 33) % n }
		due := make([]time.Duration, n)
		e.Call(func() {
			timers := make([]*Timer, n)
			for i := range n {
				due[i] = time.Duration(next(2000)) * time.Millisecond
				timers[i] = e.After(due[i], func() {
					if _, ok := ranAt[i]; ok {
						t.Errorf("timer %d ran twice", i)
					}
					ranAt[i] = time.Since(start)
					order = append(order, due[i])
					if j := int(next(n)); j%7 == 0 {
						if _, ok := stoppedAt[j]; !ok {
							stoppedAt[j] = time.Since(start)
						}
						timers[j].Stop()
					}
				})
			}
			for i := 0; i < n; i += 3 {
				stoppedAt[i] = 0
				timers[i].Stop()
			}
			e.After(500*time.Millisecond, func() {
				e.After(0, func() { ranAt[-1] = time.Since(start) })
			})
		})
		time.Sleep(3 * time.Second)
		synctest.Wait()
		e.Call(func() {
			if e.PendingTimers() != 0 {
				t.Errorf("%d timers pending at the end", e.PendingTimers())
			}
		})
		for k := 1; k < len(order); k++ {
			if order[k] < order[k-1] {
				t.Fatalf("a timer due at %v ran after one due at %v", order[k], order[k-1])
			}
		}
		for i := range n {
			at, ran := ranAt[i]
			st, stopped := stoppedAt[i]
			switch {
			case ran && at != due[i]:
				t.Fatalf("timer %d due at %v ran at %v", i, due[i], at)
			case ran && stopped && st < at:
				t.Fatalf("timer %d stopped at %v ran at %v", i, st, at)
			case !ran && (!stopped || st > due[i]):
				t.Fatalf("timer %d (due %v, stopped %v at %v) never ran", i, due[i], stopped, st)
			}
		}
		if at, ok := ranAt[-1]; !ok || at != 500*time.Millisecond {
			t.Fatalf("the timer armed by a timer ran: %v at %v", ok, at)
		}
	})
}

// BenchmarkTimerArmStop arms and stops timers among 300,000 pending ones (100,000 tunnels
// with a few timers each): the cost of the heap at scale, where each comparison may miss
// the cache.
func BenchmarkTimerArmStop(b *testing.B) {
	e := New(Config{}, nil, nil, nil)
	const pending = 300000
	for i := range pending {
		e.after(time.Duration(i%7919)*time.Second+time.Hour, func() {}, nil)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		lt := e.after(time.Duration(i%6151)*time.Second+time.Hour, func() {}, nil)
		lt.Stop()
	}
	b.StopTimer()
	if e.wake != nil {
		e.wake.Stop()
	}
}
