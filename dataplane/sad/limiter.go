package sad

import (
	"net/netip"
	"sync"
	"time"
)

// UnknownSPILimits bounds how many EventUnknownSPI a dataplane raises. Zero fields take the
// defaults.
type UnknownSPILimits struct {
	PerSPI    float64 // events per second for one SPI (default 1, burst 1)
	PerSource float64 // events per second from one outer source address (default 10, burst 10)
	Total     float64 // events per second overall (default 100, burst 100)
	TableSize int     // entries in each of the per-SPI and per-source tables (default 4096)
}

func (l UnknownSPILimits) withDefaults() UnknownSPILimits {
	if l.PerSPI <= 0 {
		l.PerSPI = 1
	}
	if l.PerSource <= 0 {
		l.PerSource = 10
	}
	if l.Total <= 0 {
		l.Total = 100
	}
	if l.TableSize <= 0 {
		l.TableSize = 4096
	}
	return l
}

// gcra is the generic cell rate algorithm: a token bucket kept as one timestamp (the
// theoretical arrival time) per key.
type gcra struct{ interval, tolerance int64 }

func newGCRA(rate float64) gcra {
	iv := int64(float64(time.Second) / rate)
	if iv < 1 {
		iv = 1
	}
	burst := int64(rate)
	if burst < 1 {
		burst = 1
	}
	return gcra{interval: iv, tolerance: (burst - 1) * iv}
}

// check returns the key's next arrival time if an event at now conforms.
func (g gcra) check(tat, now int64) (int64, bool) {
	if tat < now {
		tat = now
	}
	if tat-now > g.tolerance {
		return 0, false
	}
	return tat + g.interval, true
}

type limEntry[K comparable] struct {
	key        K
	tat        int64
	suppressed uint64
}

// limTable is a fixed-size table; when full, the oldest inserted entry is evicted. Memory is
// bounded by its size whatever the attacker sends.
type limTable[K comparable] struct {
	idx  map[K]int32
	ent  []limEntry[K]
	size int
	hand int
}

func newLimTable[K comparable](size int) limTable[K] {
	return limTable[K]{idx: make(map[K]int32, size), ent: make([]limEntry[K], 0, size), size: size}
}

func (t *limTable[K]) get(k K) *limEntry[K] {
	if i, ok := t.idx[k]; ok {
		return &t.ent[i]
	}
	if len(t.ent) < t.size {
		t.ent = append(t.ent, limEntry[K]{key: k})
		t.idx[k] = int32(len(t.ent) - 1)
		return &t.ent[len(t.ent)-1]
	}
	i := t.hand
	t.hand = (t.hand + 1) % t.size
	delete(t.idx, t.ent[i].key)
	t.ent[i] = limEntry[K]{key: k}
	t.idx[k] = int32(i)
	return &t.ent[i]
}

// spiLimiter rate-limits unknown-SPI events per SPI, per source address and overall.
type spiLimiter struct {
	mu                 sync.Mutex
	spi                limTable[uint32]
	src                limTable[netip.Addr]
	totalTAT           int64
	gSPI, gSrc, gTotal gcra
}

func newSPILimiter(l UnknownSPILimits) *spiLimiter {
	l = l.withDefaults()
	return &spiLimiter{
		spi: newLimTable[uint32](l.TableSize), src: newLimTable[netip.Addr](l.TableSize),
		gSPI: newGCRA(l.PerSPI), gSrc: newGCRA(l.PerSource), gTotal: newGCRA(l.Total),
	}
}

// allow reports whether an event for (spi, src) may be raised at now, and if so how many
// were suppressed for this SPI since the last one.
func (l *spiLimiter) allow(spi uint32, src netip.Addr, now int64) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	es := l.spi.get(spi)
	t1, ok1 := l.gSPI.check(es.tat, now)
	if !ok1 {
		es.suppressed++
		return false, 0
	}
	er := l.src.get(src.Unmap())
	t2, ok2 := l.gSrc.check(er.tat, now)
	t3, ok3 := l.gTotal.check(l.totalTAT, now)
	if !ok2 || !ok3 {
		es.suppressed++
		return false, 0
	}
	es.tat, er.tat, l.totalTAT = t1, t2, t3
	s := es.suppressed
	es.suppressed = 0
	return true, s
}
