package gateway

import "time"

// Timers. Every timer of the gateway runs its function on the engine loop, and the gateway
// owns all of them in one timerSet: they are armed and stopped on the loop; a stopped timer's
// function never runs, even if the timer had fired and its function was already queued for
// the loop; and Run stops every timer still pending when it shuts down, so no timer of the
// gateway fires after Run returns. A timer's own goroutine (time.AfterFunc's) only hands the
// function to the loop; once the loop has stopped that returns at once.

// loopTimer is one armed timer of a timerSet.
type loopTimer struct {
	set *timerSet
	t   *time.Timer
}

// timerSet holds the pending timers (loop-owned).
type timerSet struct {
	do      func(func()) error // runs a function on the engine loop (ike.Engine.Do)
	pending map[*loopTimer]struct{}
}

func newTimerSet(do func(func()) error) *timerSet {
	return &timerSet{do: do, pending: map[*loopTimer]struct{}{}}
}

// after arms a timer that runs f on the loop after d (loop only).
func (s *timerSet) after(d time.Duration, f func()) *loopTimer {
	lt := &loopTimer{set: s}
	s.pending[lt] = struct{}{}
	lt.t = time.AfterFunc(d, func() {
		s.do(func() {
			if _, ok := s.pending[lt]; !ok {
				return // stopped after it fired
			}
			delete(s.pending, lt)
			f()
		})
	})
	return lt
}

// Stop stops the timer: its function will not run (loop only). A nil timer is fine.
func (lt *loopTimer) Stop() {
	if lt == nil {
		return
	}
	lt.t.Stop()
	delete(lt.set.pending, lt)
}

// stopAll stops every pending timer (on the loop, or once the loop has stopped).
func (s *timerSet) stopAll() {
	for lt := range s.pending {
		lt.t.Stop()
	}
	clear(s.pending)
}

// stopTimer stops t if it is armed (loop only).
func stopTimer(t *loopTimer) { t.Stop() }
