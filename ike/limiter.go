package ike

import (
	"sync"
	"time"
)

// limiter is a token bucket: rate tokens per second, burst of rate.
type limiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (l *limiter) allow(now time.Time) bool {
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

// syncLimiter is a limiter safe for use from several goroutines (the dataplane's receivers).
type syncLimiter struct {
	mu sync.Mutex
	l  limiter
}

// allowAt takes a token at 100 per second (burst 100).
func (s *syncLimiter) allowAt(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.rate == 0 {
		s.l = limiter{rate: 100, tokens: 100, last: now}
	}
	return s.l.allow(now)
}

// unprotectedInformational reports whether msg is an INFORMATIONAL that carries no
// protection: IKEv2 with a first payload other than SK, or ISAKMP without the encryption flag.
func unprotectedInformational(msg []byte) bool {
	if len(msg) < 28 {
		return false
	}
	switch msg[17] >> 4 {
	case 2:
		return msg[18] == 37 && msg[16] != 46
	case 1:
		return msg[18] == 5 && msg[19]&0x01 == 0
	}
	return false
}
