package gateway

import (
	"context"
	"sync"

	"github.com/vigil-ipsec/vigil/api"
)

// eventLog keeps the most recent events in a ring and fans them out to subscribers. Slow
// subscribers lose events rather than stall the daemon.
type eventLog struct {
	mu   sync.Mutex
	ring []api.Event
	next int // index of the next write
	full bool
	seq  uint64
	subs map[chan api.Event]string // channel -> tunnel filter
}

func newEventLog(size int) *eventLog {
	return &eventLog{ring: make([]api.Event, size), subs: map[chan api.Event]string{}}
}

func (l *eventLog) add(ev api.Event) api.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	ev.Seq = l.seq
	l.ring[l.next] = ev
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
	for ch, filter := range l.subs {
		if filter != "" && filter != ev.Tunnel {
			continue
		}
		select {
		case ch <- ev:
		default:
		}
	}
	return ev
}

// since returns retained events with Seq > since, oldest first.
func (l *eventLog) since(tunnel string, since uint64) []api.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []api.Event
	n := l.next
	start := 0
	if l.full {
		n = len(l.ring)
		start = l.next
	}
	for i := 0; i < n; i++ {
		ev := l.ring[(start+i)%len(l.ring)]
		if ev.Seq > since && (tunnel == "" || ev.Tunnel == tunnel) {
			out = append(out, ev)
		}
	}
	return out
}

// subscribe returns a channel of the events (of tunnel, or all with "") added from now on. It
// is unsubscribed and closed when ctx ends; the subscriber owns ctx (the API server ends every
// stream's context when it shuts down). Nothing waits for ctx meanwhile: context.AfterFunc
// runs the unsubscribe only once ctx is done.
func (l *eventLog) subscribe(ctx context.Context, tunnel string) <-chan api.Event {
	ch := make(chan api.Event, 256)
	l.mu.Lock()
	l.subs[ch] = tunnel
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
		close(ch)
	})
	return ch
}
