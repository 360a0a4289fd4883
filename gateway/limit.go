package gateway

import (
	"net/netip"
	"time"
)

// rateLimiter is a token bucket of rate tokens per second with a burst of rate.
type rateLimiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (l *rateLimiter) allow(now time.Time) bool {
	if l.rate <= 0 {
		return false
	}
	if l.last.IsZero() {
		l.tokens = l.rate
	} else {
		l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// spiLimiter limits INVALID_SPI notifies: one per SPI per interval and rate per second per
// peer (a rate of 0 disables sending). Its tables are bounded: when one grows past maxEntries it starts over, which at worst
// allows one extra notify per key.
type spiLimiter struct {
	interval time.Duration
	rate     float64
	bySPI    map[spiKey]time.Time
	byPeer   map[netip.Addr]*rateLimiter
}

type spiKey struct {
	peer netip.Addr
	spi  uint32
}

const maxEntries = 4096

func newSPILimiter(interval time.Duration, perPeer int) *spiLimiter {
	if interval <= 0 {
		interval = time.Second
	}
	return &spiLimiter{interval: interval, rate: float64(perPeer), bySPI: map[spiKey]time.Time{}, byPeer: map[netip.Addr]*rateLimiter{}}
}

func (l *spiLimiter) allow(peer netip.Addr, spi uint32, now time.Time) bool {
	if l.rate <= 0 { // per_peer_rate = 0: never send
		return false
	}
	k := spiKey{peer, spi}
	if last, ok := l.bySPI[k]; ok && now.Sub(last) < l.interval {
		return false
	}
	p := l.byPeer[peer]
	if p == nil {
		if len(l.byPeer) >= maxEntries {
			clear(l.byPeer)
		}
		p = &rateLimiter{rate: l.rate}
		l.byPeer[peer] = p
	}
	if !p.allow(now) {
		return false
	}
	if len(l.bySPI) >= maxEntries {
		clear(l.bySPI)
	}
	l.bySPI[k] = now
	return true
}
