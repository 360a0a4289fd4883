package sad

import (
	"sync"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// maxPendingEvents bounds queued rate-limited events (unknown SPI, acquire). Lifetime events
// are never dropped: there are at most two per installed SA.
const maxPendingEvents = 1024

// eventQueue decouples the packet path from the consumer of Events: emit never blocks, and a
// pump goroutine feeds the buffered channel.
type eventQueue struct {
	mu      sync.Mutex
	pending []dataplane.Event
	wake    chan struct{}
	out     chan dataplane.Event
	done    chan struct{}
	exited  chan struct{}
	stats   *Stats
}

func newEventQueue(stats *Stats) *eventQueue {
	q := &eventQueue{
		wake:   make(chan struct{}, 1),
		out:    make(chan dataplane.Event, 64),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		stats:  stats,
	}
	go q.pump()
	return q
}

func (q *eventQueue) emit(ev dataplane.Event, critical bool) {
	q.mu.Lock()
	if !critical && len(q.pending) >= maxPendingEvents {
		q.mu.Unlock()
		q.stats.Inc(CEventDrops, 1)
		return
	}
	q.pending = append(q.pending, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pump() {
	defer close(q.exited)
	var batch []dataplane.Event
	for {
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
		q.mu.Lock()
		batch, q.pending = q.pending, batch[:0]
		q.mu.Unlock()
		for _, ev := range batch {
			select {
			case q.out <- ev:
			case <-q.done:
				return
			}
		}
		clear(batch)
	}
}

func (q *eventQueue) close() {
	close(q.done)
	<-q.exited
	close(q.out)
}
