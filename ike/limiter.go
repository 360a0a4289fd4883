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

// msgClass sorts a raw message before the loop sees it.
type msgClass uint8

const (
	classProtected msgClass = iota // encrypted and integrity-protected (checked on the loop)
	classSetup                     // unauthenticated SA set-up
	classOther                     // any other unauthenticated message
)

// classify looks at the fixed header only: IKEv2 with an SK or SKF first payload and ISAKMP
// with the encryption flag are protected; IKE_SA_INIT and unencrypted Main Mode are set-up;
// anything else is unauthenticated.
func classify(msg []byte) msgClass {
	if len(msg) < 28 {
		return classOther
	}
	switch msg[17] >> 4 {
	case 2:
		if msg[18] == 34 {
			return classSetup
		}
		if msg[16] == 46 || msg[16] == 53 {
			return classProtected
		}
	case 1:
		if msg[19]&0x01 != 0 {
			return classProtected
		}
		if msg[18] == 2 {
			return classSetup
		}
	}
	return classOther
}
