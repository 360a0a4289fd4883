package ike

import "time"

// Timers. Every timer of the engine (and of the gateway, which uses the same set) runs its
// function on the loop, and the engine owns all of them: they are armed and stopped on the
// loop; a stopped timer's function never runs, even if the timer had fired and its function
// was already queued; and when Run returns every pending timer is stopped, so none fires
// after the loop has ended. A timer's own goroutine (time.AfterFunc's) only hands the function
// to the loop.

// Timer is one armed timer of the engine's loop.
type Timer struct {
	e     *Engine
	t     *time.Timer
	group *TimerGroup // nil: the engine's own
}

// After arms a timer that runs f on the loop after d (loop only).
func (e *Engine) After(d time.Duration, f func()) *Timer { return e.after(d, f, nil) }

func (e *Engine) after(d time.Duration, f func(), g *TimerGroup) *Timer {
	lt := &Timer{e: e, group: g}
	e.timers[lt] = struct{}{}
	if g != nil {
		g.pending[lt] = struct{}{}
	}
	lt.t = time.AfterFunc(d, func() {
		e.Do(func() {
			if _, ok := e.timers[lt]; !ok {
				return // stopped after it fired
			}
			lt.forget()
			f()
		})
	})
	return lt
}

func (lt *Timer) forget() {
	delete(lt.e.timers, lt)
	if lt.group != nil {
		delete(lt.group.pending, lt)
	}
}

// Stop stops the timer: its function will not run (loop only). A nil timer is fine.
func (lt *Timer) Stop() {
	if lt == nil {
		return
	}
	lt.t.Stop()
	lt.forget()
}

// TimerGroup is a set of the engine's timers that can be stopped together: the gateway's,
// which must not act once its shutdown has begun (while the engine's own, retransmitting the
// Deletes, go on).
type TimerGroup struct {
	e       *Engine
	pending map[*Timer]struct{}
}

// NewTimerGroup makes an empty group (loop only, or before Run).
func (e *Engine) NewTimerGroup() *TimerGroup {
	return &TimerGroup{e: e, pending: map[*Timer]struct{}{}}
}

// After arms a timer of the group that runs f on the loop after d (loop only).
func (g *TimerGroup) After(d time.Duration, f func()) *Timer { return g.e.after(d, f, g) }

// StopAll stops every pending timer of the group (loop only).
func (g *TimerGroup) StopAll() {
	for lt := range g.pending {
		lt.Stop()
	}
}

// Len is the number of pending timers of the group (loop only).
func (g *TimerGroup) Len() int { return len(g.pending) }

// PendingTimers is the number of armed timers (loop only).
func (e *Engine) PendingTimers() int { return len(e.timers) }

// stopTimers stops every pending timer (Run, once the loop has ended).
func (e *Engine) stopTimers() {
	for lt := range e.timers {
		lt.t.Stop()
	}
	clear(e.timers)
}
