// Package logthrottle keeps log lines triggered by unauthenticated network input (malformed
// messages, unknown SPIs, failed authentications, refused connections) from flooding the log:
// at most one line per (source address, kind) per interval, the next line carrying the count
// of lines suppressed meanwhile.
//
// The table of sources is bounded and every call is O(1). When it is full of sources that all
// logged within the interval (many sources, e.g. spoofed ones), lines from further sources are
// suppressed too and summed up in one "log lines suppressed" line per interval, so the log
// grows by at most MaxSources+1 lines per interval whatever the input.
//
// A Throttle is safe for concurrent use. Typical use:
//
//	var lt = logthrottle.New(0, 0)
//	lt.Log(log, slog.LevelDebug, remote.Addr(), "malformed", "dropping malformed IKE message", "peer", remote, "err", err)
package logthrottle

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultInterval   = 10 * time.Second
	DefaultMaxSources = 4096
)

// Throttle limits log lines per (source address, kind).
type Throttle struct {
	interval time.Duration
	max      int

	mu  sync.Mutex
	now func() time.Time
	m   map[key]*entry
	// Entries in the order they last let a line through (least recent first), for eviction.
	head, tail *entry

	overflow     uint64    // lines suppressed because the table was full of fresh entries
	overflowLast time.Time // when the last overflow summary was logged
}

type key struct {
	src  netip.Addr
	kind string
}

type entry struct {
	key
	last       time.Time // when a line last went through
	suppressed uint64    // lines suppressed since
	prev, next *entry
}

// New returns a Throttle letting one line per (source, kind) through per interval, tracking at
// most maxSources pairs. Zero or negative values select DefaultInterval and DefaultMaxSources.
func New(interval time.Duration, maxSources int) *Throttle {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if maxSources <= 0 {
		maxSources = DefaultMaxSources
	}
	return &Throttle{interval: interval, max: maxSources, now: time.Now, m: make(map[key]*entry)}
}

// SetClock replaces the clock (tests).
func (t *Throttle) SetClock(now func() time.Time) {
	t.mu.Lock()
	t.now = now
	t.mu.Unlock()
}

// Allow reports whether a line of this kind from src may be logged now. When it may,
// suppressed is the number of lines of the pair withheld since the last one let through.
func (t *Throttle) Allow(src netip.Addr, kind string) (ok bool, suppressed uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.allow(src.Unmap(), kind, t.now())
}

func (t *Throttle) allow(src netip.Addr, kind string, now time.Time) (bool, uint64) {
	k := key{src, kind}
	if e := t.m[k]; e != nil {
		if now.Sub(e.last) < t.interval {
			e.suppressed++
			return false, 0
		}
		n := e.suppressed
		e.last, e.suppressed = now, 0
		t.unlink(e)
		t.pushBack(e)
		return true, n
	}
	if len(t.m) >= t.max {
		old := t.head
		if now.Sub(old.last) < t.interval {
			// Full of sources that logged recently: make no room, suppress.
			t.overflow++
			return false, 0
		}
		t.unlink(old)
		delete(t.m, old.key)
		t.overflow += old.suppressed // not reported with its pair any more
	}
	e := &entry{key: k, last: now}
	t.m[k] = e
	t.pushBack(e)
	return true, 0
}

// overflowDue returns the lines suppressed for want of room (or evicted before they were
// reported) when a summary of them is due, and resets the count.
func (t *Throttle) overflowDue(now time.Time) uint64 {
	if t.overflow == 0 || now.Sub(t.overflowLast) < t.interval {
		return 0
	}
	n := t.overflow
	t.overflow, t.overflowLast = 0, now
	return n
}

func (t *Throttle) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *Throttle) pushBack(e *entry) {
	e.prev = t.tail
	if t.tail != nil {
		t.tail.next = e
	} else {
		t.head = e
	}
	t.tail = e
}

// Len returns the number of (source, kind) pairs tracked.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Log logs msg with args at level on l unless a line of this kind from src went out less than
// the interval ago; a line that goes out after others were withheld carries
// "suppressed"=count. Nothing is counted when l does not log at level. A nil Throttle logs
// every line.
func (t *Throttle) Log(l *slog.Logger, level slog.Level, src netip.Addr, kind, msg string, args ...any) {
	ctx := context.Background()
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	if t == nil {
		l.Log(ctx, level, msg, args...)
		return
	}
	t.mu.Lock()
	now := t.now()
	ok, n := t.allow(src.Unmap(), kind, now)
	over := t.overflowDue(now)
	t.mu.Unlock()
	if over > 0 {
		l.Log(ctx, level, "log lines suppressed: too many sources of unauthenticated input", "suppressed", over, "interval", t.interval)
	}
	if !ok {
		return
	}
	if n > 0 {
		args = append(args[:len(args):len(args)], "suppressed", n)
	}
	l.Log(ctx, level, msg, args...)
}
