package swan

import (
	"errors"
	"sync"

	"github.com/strongswan/govici/vici"
)

// saEvents are the VICI events a Charon subscribes to. They are subscribed
// once, on a dedicated session, before any connection is loaded: govici
// v0.8.0 deadlocks if an event arrives on a session while it is still
// registering events, so subscribing later (while SAs change) is unsafe.
// charon's "log" event is deliberately not used for the same reason: it can
// fire at any time.
var saEvents = []string{"ike-updown", "child-updown", "ike-rekey", "child-rekey", "ike-update"}

// eventHub fans the events of one VICI session out to any number of
// waiters. Delivery to a waiter never blocks; a waiter whose buffer is full
// misses events.
type eventHub struct {
	mu     sync.Mutex
	subs   map[*eventSub]struct{}
	closed bool
}

// eventSub is one waiter's registration.
type eventSub struct {
	names map[string]bool // events wanted; nil means all
	ch    chan vici.Event // closed when the session ends
}

func newEventHub() *eventHub {
	return &eventHub{subs: make(map[*eventSub]struct{})}
}

// run forwards events from in until it is closed (session closed or charon
// gone), then closes every waiter's channel.
func (h *eventHub) run(in <-chan vici.Event) {
	for ev := range in {
		h.mu.Lock()
		for s := range h.subs {
			if s.names == nil || s.names[ev.Name] {
				select {
				case s.ch <- ev:
				default:
				}
			}
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		close(s.ch)
	}
	clear(h.subs)
}

// subscribe registers a waiter for the named events (all if none).
func (h *eventHub) subscribe(buf int, names ...string) (*eventSub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("swan: VICI event session closed")
	}
	s := &eventSub{ch: make(chan vici.Event, buf)}
	if len(names) > 0 {
		s.names = make(map[string]bool, len(names))
		for _, n := range names {
			s.names[n] = true
		}
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// unsubscribe removes a waiter (its channel is left open).
func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}
