package ike

import "time"

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
