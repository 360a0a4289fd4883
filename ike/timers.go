package ike

import "time"

// Timers. Every timer of the engine (and of the gateway, which uses the same set) runs its
// function on the loop, and the engine owns all of them: they are armed and stopped on the
// loop; a stopped timer's function never runs; and when Run returns every pending timer is
// stopped, so none fires after the loop has ended.
//
// A gateway with 100,000 tunnels has several timers per tunnel (rekeys, liveness checks,
// retransmissions), so the engine keeps them in one binary heap ordered by deadline, and
// only the earliest deadline has a runtime timer (wake). When it fires, one event on the loop
// runs every timer that is due. A timer costs one small object and a heap slot, arming or
// stopping it O(log n), and firing it no goroutine of its own.

// Timer is one armed timer of the engine's loop.
type Timer struct {
	e     *Engine
	f     func()
	idx   int         // position in the engine's heap; -1 once run or stopped
	group *TimerGroup // nil: the engine's own
}

// timerEntry is a timer's place in the heap: its deadline (monotonic nanoseconds since the
// engine's epoch) and arming order are kept here, so that the comparisons of a heap of
// 300,000 timers read one contiguous array instead of a Timer object each (a cache miss
// each, at that size).
type timerEntry struct {
	at  int64
	seq uint64 // arming order: timers with the same deadline run in it
	t   *Timer
}

// timerHeap is a binary min-heap of timers by (at, seq).
type timerHeap []timerEntry

func (h timerHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].t.idx, h[j].t.idx = i, j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *timerHeap) push(en timerEntry) {
	en.t.idx = len(*h)
	*h = append(*h, en)
	h.up(en.t.idx)
}

// remove takes the timer at position i out of the heap.
func (h *timerHeap) remove(i int) *Timer {
	old := *h
	t := old[i].t
	last := len(old) - 1
	if i != last {
		old.swap(i, last)
	}
	old[last] = timerEntry{}
	*h = old[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
	t.idx = -1
	return t
}

// After arms a timer that runs f on the loop after d (loop only).
func (e *Engine) After(d time.Duration, f func()) *Timer { return e.after(d, f, nil) }

func (e *Engine) after(d time.Duration, f func(), g *TimerGroup) *Timer {
	e.timerSeq++
	lt := &Timer{e: e, f: f, group: g}
	e.timers.push(timerEntry{at: e.clock() + int64(d), seq: e.timerSeq, t: lt})
	if g != nil {
		g.pending[lt] = struct{}{}
	}
	if lt.idx == 0 {
		e.armWake(d)
	}
	return lt
}

// armWake makes the runtime timer fire after d, when the earliest deadline changed.
func (e *Engine) armWake(d time.Duration) {
	if e.wake == nil {
		e.wake = time.AfterFunc(d, func() { e.Do(e.runTimers) })
		return
	}
	e.wake.Reset(d)
}

// runTimers runs every due timer, in deadline order, and re-arms the wake for the next
// (loop). A function that arms a timer already due has it run in this same round.
func (e *Engine) runTimers() {
	for len(e.timers) > 0 {
		now := e.clock()
		if at := e.timers[0].at; at > now {
			e.armWake(time.Duration(at - now))
			return
		}
		next := e.timers.remove(0)
		if next.group != nil {
			delete(next.group.pending, next)
		}
		next.f()
	}
}

// Stop stops the timer: its function will not run (loop only). A nil timer is fine.
func (lt *Timer) Stop() {
	if lt == nil || lt.idx < 0 {
		return
	}
	if lt.group != nil {
		delete(lt.group.pending, lt)
	}
	lt.e.timers.remove(lt.idx)
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
	if e.wake != nil {
		e.wake.Stop()
	}
	for _, en := range e.timers {
		lt := en.t
		lt.idx = -1
		if lt.group != nil {
			delete(lt.group.pending, lt)
		}
	}
	clear(e.timers)
	e.timers = e.timers[:0]
}

// clock is the engine's monotonic time for timer deadlines: nanoseconds since its epoch.
func (e *Engine) clock() int64 { return int64(time.Since(e.epoch)) }
