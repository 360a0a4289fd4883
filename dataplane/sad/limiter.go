package sad

import (
	"net/netip"
	"sync"
	"time"
)

// UnknownSPILimits bounds how many EventUnknownSPI a dataplane raises. Zero fields take the
// defaults.
type UnknownSPILimits struct {
	PerSPI    float64 // events per second for one (source, SPI) (default 1, burst 1)
	PerSource float64 // events per second from one outer source address (default 10, burst 10)
	Total     float64 // events per second from sources that are not known peers (default 100, burst 100)
	TableSize int     // entries in each of the per-SPI and per-source tables (default 4096)
}

// Known peers (addresses we have installed SAs with) do not share the Total budget with the
// rest of the Internet: each has its own PerSource bucket, reserved, so that a flood of ESP on
// random SPIs from spoofed sources cannot starve the report of a genuinely lost SA. A spoofer
// using a known peer's address drains only that peer's bucket, and the per-(source, SPI)
// entries keep the genuine SPI's report apart from random ones.

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

type srcSPI struct {
	src netip.Addr
	spi uint32
}

// peerBucket is a known peer's reserved budget; refs counts the inbound SAs that make it
// known. A peer stays known for peerLinger after its last SA went, because that is exactly
// when its ESP on an SPI we no longer have must be reported (we lost the SA, or deleted it
// and the peer did not hear).
type peerBucket struct {
	refs int
	tat  int64
	gone int64 // when refs dropped to 0
}

const peerLinger = int64(10 * time.Minute)

// spiLimiter rate-limits unknown-SPI events per (source, SPI), per source address, and
// overall for strangers; known peers have reserved per-source budgets.
type spiLimiter struct {
	mu                 sync.Mutex
	spi                limTable[srcSPI]
	src                limTable[netip.Addr]
	known              map[netip.Addr]*peerBucket
	totalTAT           int64
	gSPI, gSrc, gTotal gcra
}

func newSPILimiter(l UnknownSPILimits) *spiLimiter {
	l = l.withDefaults()
	return &spiLimiter{
		spi: newLimTable[srcSPI](l.TableSize), src: newLimTable[netip.Addr](l.TableSize),
		known: map[netip.Addr]*peerBucket{},
		gSPI:  newGCRA(l.PerSPI), gSrc: newGCRA(l.PerSource), gTotal: newGCRA(l.Total),
	}
}

// addPeer and removePeer count the installed SAs with a peer address (O(1)).
func (l *spiLimiter) addPeer(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a = a.Unmap()
	p := l.known[a]
	if p == nil {
		p = &peerBucket{}
		l.known[a] = p
	}
	p.refs++
}

func (l *spiLimiter) removePeer(a netip.Addr, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a = a.Unmap()
	if p := l.known[a]; p != nil {
		if p.refs--; p.refs <= 0 {
			p.refs, p.gone = 0, now
		}
	}
}

// knownPeer returns src's reserved bucket, forgetting it once it has lingered long enough.
func (l *spiLimiter) knownPeer(src netip.Addr, now int64) *peerBucket {
	p := l.known[src]
	if p != nil && p.refs == 0 && now-p.gone > peerLinger {
		delete(l.known, src)
		return nil
	}
	return p
}

// allow reports whether an event for (spi, src) may be raised at now, and if so how many
// were suppressed for this SPI since the last one.
func (l *spiLimiter) allow(spi uint32, src netip.Addr, now int64) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	src = src.Unmap()
	es := l.spi.get(srcSPI{src, spi})
	t1, ok1 := l.gSPI.check(es.tat, now)
	if !ok1 {
		es.suppressed++
		return false, 0
	}
	if p := l.knownPeer(src, now); p != nil {
		t2, ok2 := l.gSrc.check(p.tat, now)
		if !ok2 {
			es.suppressed++
			return false, 0
		}
		es.tat, p.tat = t1, t2
	} else {
		er := l.src.get(src)
		t2, ok2 := l.gSrc.check(er.tat, now)
		t3, ok3 := l.gTotal.check(l.totalTAT, now)
		if !ok2 || !ok3 {
			es.suppressed++
			return false, 0
		}
		es.tat, er.tat, l.totalTAT = t1, t2, t3
	}
	s := es.suppressed
	es.suppressed = 0
	return true, s
}
