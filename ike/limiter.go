package ike

import (
	"sync"
	"time"
)

// Limiter is a token bucket: rate tokens per second, burst of rate.
type Limiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (l *Limiter) Allow(now time.Time) bool {
	if l.rate == 0 {
		l.rate = 10
		l.tokens = 10
	}
	l.tokens += now.Sub(l.last).Seconds() * l.rate
	l.last = now
	if l.tokens > l.rate {
		l.tokens = l.rate
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// syncLimiter is a Limiter safe for use from several goroutines (the dataplane's receivers).
type syncLimiter struct {
	mu sync.Mutex
	l  Limiter
}

// allowAt takes a token at rate per second (burst rate).
func (s *syncLimiter) allowAt(now time.Time, rate float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.rate == 0 {
		s.l = Limiter{rate: rate, tokens: rate, last: now}
	}
	return s.l.Allow(now)
}

// Rates of unauthenticated messages let into the loop, per second (with an equal burst).
const (
	// Requests that start an SA (IKE_SA_INIT, IKEv1 Main Mode without encryption) and the
	// answers to ours: enough for thousands of new tunnels a second; beyond it the initiators
	// retransmit. Cookies and the half-open caps bound what passes.
	unauthSetupRate = 10000
	// Everything else without protection (INFORMATIONAL notifies, other exchange types,
	// IKEv1 Informationals without encryption): hints at best (RFC 7296 2.21.4).
	unauthOtherRate = 100
)

// MsgClass sorts a raw message before the loop sees it.
type MsgClass uint8

const (
	ClassProtected MsgClass = iota // encrypted and integrity-protected (checked on the loop)
	ClassSetup                     // unauthenticated SA set-up
	ClassOther                     // any other unauthenticated message
)

// Classify sorts a received message by its fixed header, for the budgets of unauthenticated
// messages before the loop: its version's protocol decides. Any goroutine may call it.
func (e *Engine) Classify(msg []byte) MsgClass {
	if len(msg) < 28 {
		return ClassOther
	}
	p := e.protocol(int(msg[17] >> 4))
	if p == nil {
		return ClassOther
	}
	return p.Classify(msg)
}
