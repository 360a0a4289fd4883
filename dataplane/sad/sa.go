package sad

import (
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// saCore is what inbound and outbound SAs share: configuration, crypto, counters, lifetimes.
type saCore struct {
	cfg    dataplane.SAConfig // keys cleared after the Crypto was built; never changed (see remote)
	crypto Crypto
	db     *DB
	// remote is the current outer remote address: cfg.Remote until UpdateRemote changes it
	// (read by the packet path without a lock).
	remote atomic.Pointer[netip.AddrPort]

	bytes, packets atomic.Uint64
	lastUsed       atomic.Int64 // unix nanos, 0 = never

	// Lifetime limits with 0 ("unlimited") replaced by MaxUint64 so the per-packet check is
	// two plain compares.
	softBytes, hardBytes     uint64
	softPackets, hardPackets uint64
	softFired, dead          atomic.Bool
	// watch: raise EventActive with the next packet (DB.WatchSA).
	watch atomic.Bool
}

func (s *saCore) init(db *DB, c dataplane.SAConfig, cr Crypto) {
	lim := func(v uint64) uint64 {
		if v == 0 {
			return math.MaxUint64
		}
		return v
	}
	c.EncrKey, c.IntegKey = nil, nil // the Crypto owns the keys; keep no copy around
	c.Remote = netip.AddrPortFrom(c.Remote.Addr().Unmap(), c.Remote.Port())
	s.cfg, s.crypto, s.db = c, cr, db
	s.softBytes, s.hardBytes = lim(c.SoftBytes), lim(c.HardBytes)
	s.softPackets, s.hardPackets = lim(c.SoftPackets), lim(c.HardPackets)
	s.remote.Store(&s.cfg.Remote) // s.cfg never changes; &c.Remote would put a second copy of c on the heap
}

// setRemote changes the outer remote address (DB.UpdateRemote, db.mu held).
func (s *saCore) setRemote(a netip.AddrPort) { s.remote.Store(&a) }

// account charges one packet of n bytes against the SA's lifetime. It returns false (and the
// packet must be dropped) once the hard limit has been reached: like the kernel, a packet
// passes as long as the counters before it are below the hard limits.
func (s *saCore) account(n int, now int64) bool {
	if s.dead.Load() {
		return false
	}
	p := s.packets.Add(1)
	b := s.bytes.Add(uint64(n))
	if p-1 >= s.hardPackets || b-uint64(n) >= s.hardBytes {
		s.packets.Add(^uint64(0))
		s.bytes.Add(-uint64(n))
		s.expire()
		return false
	}
	if p >= s.softPackets || b >= s.softBytes {
		if !s.softFired.Load() && s.softFired.CompareAndSwap(false, true) {
			s.db.lifetimeEvent(dataplane.EventSoftExpire, &s.cfg)
		}
	}
	if s.lastUsed.Load() != now {
		s.lastUsed.Store(now)
	}
	if s.watch.Load() && s.watch.CompareAndSwap(true, false) {
		s.db.lifetimeEvent(dataplane.EventActive, &s.cfg)
	}
	return true
}

// watchFrom arms watch unless a packet passed after since (then it reports true and leaves
// watch off).
func (s *saCore) watchFrom(since time.Time) bool {
	s.watch.Store(true)
	if t := s.lastUsed.Load(); t != 0 && t > since.UnixNano() {
		// Take the watch back; if a packet took it first, its event is on the way.
		return s.watch.CompareAndSwap(true, false)
	}
	return false
}

// expire marks the SA dead and raises EventHardExpire once.
func (s *saCore) expire() {
	if s.dead.CompareAndSwap(false, true) {
		s.db.lifetimeEvent(dataplane.EventHardExpire, &s.cfg)
	}
}

// Expired reports whether the SA reached its hard lifetime.
func (s *saCore) Expired() bool { return s.dead.Load() }

// Config returns the SA's configuration without key material, with its current remote address.
func (s *saCore) Config() dataplane.SAConfig {
	c := s.cfg
	c.Remote = s.Remote()
	return c
}

// Crypto returns the SA's ESP transform.
func (s *saCore) Crypto() Crypto { return s.crypto }

func (s *saCore) baseStats() dataplane.Stats {
	st := dataplane.Stats{Bytes: s.bytes.Load(), Packets: s.packets.Load()}
	if t := s.lastUsed.Load(); t != 0 {
		st.LastUsed = time.Unix(0, t)
	}
	return st
}

// InSA is an installed inbound SA.
type InSA struct {
	saCore
	replay, authFail atomic.Uint64
}

// Stats returns the SA's counters.
func (s *InSA) Stats() dataplane.Stats {
	st := s.baseStats()
	st.ReplayDrops = s.replay.Load()
	st.AuthFails = s.authFail.Load()
	return st
}

// OutSA is an installed outbound SA.
type OutSA struct {
	saCore
}

// Stats returns the SA's counters.
func (s *OutSA) Stats() dataplane.Stats { return s.baseStats() }

// Seal charges inner against the SA's lifetime and appends its ESP encapsulation to dst
// (see Crypto.Seal for in-place use). now is the caller's clock in unix nanos, read once per
// batch. On failure it returns the drop reason and counts it in t.
func (s *OutSA) Seal(dst, inner []byte, now int64, t *Tally) ([]byte, Drop) {
	if !s.account(len(inner), now) {
		t.Drop(DropExpired)
		return nil, DropExpired
	}
	nh := uint8(4)
	if len(inner) > 0 && inner[0]>>4 == 6 {
		nh = 41
	}
	out, err := s.crypto.Seal(dst, inner, nh)
	if err != nil {
		d := s.db.provider.Classify(err)
		if d == DropSeqExhausted {
			s.expire()
		}
		if d == DropNone {
			d = DropMalformed
		}
		t.Drop(d)
		return nil, d
	}
	t[CPacketsOut]++
	t[CBytesOut] += uint64(len(inner))
	return out, DropNone
}

// Overhead is the worst-case number of bytes sealing adds, ESP only (no outer IP/UDP).
func (s *OutSA) Overhead() int { return s.crypto.Overhead() }

// HeaderLen is the ESP header length including IV.
func (s *OutSA) HeaderLen() int { return s.crypto.HeaderLen() }

// Local is the SA's outer local address.
func (s *saCore) Local() netip.AddrPort { return s.cfg.Local }

// Remote is the SA's outer remote address.
func (s *saCore) Remote() netip.AddrPort { return *s.remote.Load() }

// Encap is how the SA's packets are carried.
func (s *saCore) Encap() dataplane.Encap { return s.cfg.Encap }

// SPI is the SA's SPI.
func (s *saCore) SPI() uint32 { return s.cfg.SPI }
