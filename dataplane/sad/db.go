package sad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// DefaultQueueLen is the default capacity of a policy's hold queue.
const DefaultQueueLen = 64

// Config configures a DB.
type Config struct {
	// Provider builds the ESP transform of each SA (required).
	Provider Provider
	// UnknownSPI limits unknown-SPI events.
	UnknownSPI UnknownSPILimits
	// QueueLen is the hold-queue capacity per policy (default DefaultQueueLen).
	QueueLen int
	// Flush is called, outside any DB lock, with the packets a policy held once it resolves
	// to an SA. The slices are owned by the callee.
	Flush func(sa *OutSA, pkts [][]byte)
}

// DB is the SA and policy database of one dataplane.
type DB struct {
	cfg      Config
	provider Provider
	stats    Stats
	events   *eventQueue
	lim      *spiLimiter

	// in maps SPI to inbound SA. It is read on every received ESP packet and written only when
	// the control plane installs or removes an SA (a few times per tunnel per rekey interval),
	// so it is an immutable map replaced copy-on-write: a lookup is one atomic load plus one
	// map probe, with no lock and no contention between workers. (sync.Map would also be
	// lock-free for reads but boxes keys and values and is slower for this read-only pattern.)
	in atomic.Pointer[map[uint32]*InSA]
	// pols is the current immutable policy table, replaced on SetPolicy/DeletePolicy.
	pols atomic.Pointer[policyTable]

	mu     sync.Mutex // serialises control-plane changes; guards the fields below
	out    map[uint32]*OutSA
	seq    uint64
	closed bool
}

// New creates a DB. Close stops its event goroutine.
func New(cfg Config) (*DB, error) {
	if cfg.Provider == nil {
		return nil, errors.New("sad: Config.Provider is required")
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	db := &DB{cfg: cfg, provider: cfg.Provider, out: map[uint32]*OutSA{}, lim: newSPILimiter(cfg.UnknownSPI)}
	db.events = newEventQueue(&db.stats)
	db.in.Store(&map[uint32]*InSA{})
	db.pols.Store(buildTable(map[string]*Policy{}))
	return db, nil
}

// Stats returns the DB's global counters, shared with the dataplane's workers.
func (db *DB) Stats() *Stats { return &db.stats }

// Events delivers the DB's events. It is closed by Close.
func (db *DB) Events() <-chan dataplane.Event { return db.events.out }

// Close stops event delivery and closes the Events channel.
func (db *DB) Close() {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return
	}
	db.closed = true
	db.mu.Unlock()
	db.events.close()
}

// Emit queues an event that is not rate limited (for dataplane-specific events).
func (db *DB) Emit(ev dataplane.Event) { db.events.emit(ev, true) }

func (db *DB) lifetimeEvent(k dataplane.EventKind, c *dataplane.SAConfig) {
	db.events.emit(dataplane.Event{Kind: k, Time: time.Now(), SPI: c.SPI, Dir: c.Dir, Tunnel: c.Tunnel}, true)
}

// AddSA installs or replaces one direction of a Child SA.
func (db *DB) AddSA(c dataplane.SAConfig) error {
	if c.SPI < 256 {
		return fmt.Errorf("sad: SPI %#x is reserved", c.SPI)
	}
	if c.Dir != dataplane.In && c.Dir != dataplane.Out {
		return fmt.Errorf("sad: SA %#x: invalid direction %d", c.SPI, c.Dir)
	}
	if c.Encap != dataplane.EncapUDP && c.Encap != dataplane.EncapRaw {
		return fmt.Errorf("sad: SA %#x: invalid encapsulation %d", c.SPI, c.Encap)
	}
	cr, err := db.provider.New(c)
	if err != nil {
		return fmt.Errorf("sad: SA %#x/%v: %w", c.SPI, c.Dir, err)
	}
	db.mu.Lock()
	if c.Dir == dataplane.In {
		sa := &InSA{saCore: newCore(db, c, cr)}
		old := *db.in.Load()
		m := make(map[uint32]*InSA, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[c.SPI] = sa
		db.in.Store(&m)
		db.mu.Unlock()
		return nil
	}
	sa := &OutSA{saCore: newCore(db, c, cr)}
	db.out[c.SPI] = sa
	var flush []flushJob
	for _, p := range db.pols.Load().byTunnel {
		if p.cfg.OutSPI == c.SPI {
			if j, ok := bind(p, sa); ok {
				flush = append(flush, j)
			}
		}
	}
	db.mu.Unlock()
	db.runFlush(flush)
	return nil
}

type flushJob struct {
	sa   *OutSA
	pkts [][]byte
}

// bind points p at sa and takes its held packets if sa is usable.
func bind(p *Policy, sa *OutSA) (flushJob, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sa.Store(sa)
	if sa == nil {
		return flushJob{}, false
	}
	pk := p.takeLocked()
	return flushJob{sa, pk}, len(pk) > 0
}

func (db *DB) runFlush(jobs []flushJob) {
	for _, j := range jobs {
		if db.cfg.Flush != nil {
			db.cfg.Flush(j.sa, j.pkts)
		}
	}
}

// DeleteSA removes an SA; unknown SPIs return an error wrapping dataplane.ErrNotFound.
func (db *DB) DeleteSA(spi uint32, dir dataplane.Direction) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	switch dir {
	case dataplane.In:
		old := *db.in.Load()
		if _, ok := old[spi]; !ok {
			return fmt.Errorf("sad: inbound SA %#x: %w", spi, dataplane.ErrNotFound)
		}
		m := make(map[uint32]*InSA, len(old))
		for k, v := range old {
			if k != spi {
				m[k] = v
			}
		}
		db.in.Store(&m)
		return nil
	case dataplane.Out:
		if _, ok := db.out[spi]; !ok {
			return fmt.Errorf("sad: outbound SA %#x: %w", spi, dataplane.ErrNotFound)
		}
		delete(db.out, spi)
		for _, p := range db.pols.Load().byTunnel {
			if p.cfg.OutSPI == spi {
				bind(p, nil)
			}
		}
		return nil
	}
	return fmt.Errorf("sad: SA %#x: invalid direction %d", spi, dir)
}

// InSA returns an installed inbound SA.
func (db *DB) InSA(spi uint32) *InSA { return (*db.in.Load())[spi] }

// OutSA returns an installed outbound SA.
func (db *DB) OutSA(spi uint32) *OutSA {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.out[spi]
}

// SAStats reports counters of an installed SA.
func (db *DB) SAStats(spi uint32, dir dataplane.Direction) (dataplane.Stats, bool) {
	switch dir {
	case dataplane.In:
		if sa := db.InSA(spi); sa != nil {
			return sa.Stats(), true
		}
	case dataplane.Out:
		if sa := db.OutSA(spi); sa != nil {
			return sa.Stats(), true
		}
	}
	return dataplane.Stats{}, false
}

// SAInfo describes one installed SA for metrics and listings (no key material).
type SAInfo struct {
	Config  dataplane.SAConfig
	Stats   dataplane.Stats
	Expired bool
}

// SAs lists all installed SAs, inbound first, each sorted by SPI.
func (db *DB) SAs() []SAInfo {
	var out []SAInfo
	for _, sa := range *db.in.Load() {
		out = append(out, SAInfo{sa.cfg, sa.Stats(), sa.Expired()})
	}
	db.mu.Lock()
	for _, sa := range db.out {
		out = append(out, SAInfo{sa.cfg, sa.Stats(), sa.Expired()})
	}
	db.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Config, out[j].Config
		if a.Dir != b.Dir {
			return a.Dir < b.Dir
		}
		return a.SPI < b.SPI
	})
	return out
}

// SetPolicy adds or replaces the policy of p.Tunnel. Packets held by a replaced policy move
// to the new one (and are flushed if it resolves to an SA).
func (db *DB) SetPolicy(p dataplane.Policy) error {
	if p.Tunnel == "" {
		return errors.New("sad: policy without tunnel name")
	}
	if len(p.LocalTS) == 0 || len(p.RemoteTS) == 0 {
		return fmt.Errorf("sad: policy %q: empty traffic selectors", p.Tunnel)
	}
	for _, s := range append(append([]dataplane.Selector(nil), p.LocalTS...), p.RemoteTS...) {
		if err := checkSelector(s); err != nil {
			return fmt.Errorf("sad: policy %q: %w", p.Tunnel, err)
		}
	}
	p.LocalTS = append([]dataplane.Selector(nil), p.LocalTS...)
	p.RemoteTS = append([]dataplane.Selector(nil), p.RemoteTS...)

	db.mu.Lock()
	db.seq++
	np := &Policy{cfg: p, seq: db.seq}
	var sa *OutSA
	if p.OutSPI != 0 {
		sa = db.out[p.OutSPI]
	}
	np.sa.Store(sa)
	cur := db.pols.Load()
	m := make(map[string]*Policy, len(cur.byTunnel)+1)
	for k, v := range cur.byTunnel {
		m[k] = v
	}
	var jobs []flushJob
	if old := m[p.Tunnel]; old != nil {
		np.seq = old.seq // keep its place among equally specific policies
		np.lastAcquire.Store(old.lastAcquire.Load())
		old.mu.Lock()
		held := old.takeLocked()
		old.next = np
		old.mu.Unlock()
		if sa != nil {
			if len(held) > 0 {
				jobs = append(jobs, flushJob{sa, held})
			}
		} else {
			for _, pk := range held {
				np.hold(pk, db.cfg.QueueLen)
			}
		}
	}
	m[p.Tunnel] = np
	db.pols.Store(buildTable(m))
	db.mu.Unlock()
	db.runFlush(jobs)
	return nil
}

// DeletePolicy removes a tunnel's policy and drops its queue.
func (db *DB) DeletePolicy(tunnel string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	cur := db.pols.Load()
	old := cur.byTunnel[tunnel]
	if old == nil {
		return fmt.Errorf("sad: policy %q: %w", tunnel, dataplane.ErrNotFound)
	}
	m := make(map[string]*Policy, len(cur.byTunnel))
	for k, v := range cur.byTunnel {
		if k != tunnel {
			m[k] = v
		}
	}
	db.pols.Store(buildTable(m))
	old.mu.Lock()
	old.takeLocked()
	old.next = &Policy{} // orphan: late holds land in a queue nobody reads
	old.mu.Unlock()
	return nil
}

// Policy returns the installed policy of a tunnel.
func (db *DB) Policy(tunnel string) (*Policy, bool) {
	p, ok := db.pols.Load().byTunnel[tunnel]
	return p, ok
}

// Policies returns all installed policies.
func (db *DB) Policies() []*Policy {
	t := db.pols.Load()
	out := make([]*Policy, 0, len(t.byTunnel))
	for _, p := range t.byTunnel {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Tunnel < out[j].cfg.Tunnel })
	return out
}

// Route classifies an inner packet read from the tunnel device and returns the SA to seal it
// with. DropHeld means the packet was queued on a policy awaiting its SA (and an acquire may
// have been raised); every other drop reason means the packet is lost. Drops are counted in t.
func (db *DB) Route(pkt []byte, now int64, t *Tally) (*OutSA, Drop) {
	f, err := ParseFlow(pkt)
	if err != nil {
		t.Drop(DropMalformed)
		return nil, DropMalformed
	}
	p := db.pols.Load().lookup(&f)
	if p == nil {
		t.Drop(DropNoPolicy)
		return nil, DropNoPolicy
	}
	if sa := p.sa.Load(); sa != nil {
		return sa, DropNone
	}
	sa, dropped := p.hold(pkt, db.cfg.QueueLen)
	if sa != nil {
		return sa, DropNone
	}
	t.Drop(DropHeld)
	if dropped {
		t.Drop(DropQueueFull)
	}
	if p.cfg.Trap {
		if ok, sup := p.acquire(now); ok {
			db.events.emit(dataplane.Event{
				Kind: dataplane.EventAcquire, Time: time.Unix(0, now), Tunnel: p.cfg.Tunnel, Dir: dataplane.Out,
				Src: netip.AddrPortFrom(f.Src, f.SrcPort), Dst: netip.AddrPortFrom(f.Dst, f.DstPort),
				Suppressed: sup,
			}, false)
		}
	}
	return nil, DropHeld
}

// Open decrypts an ESP packet (pkt starts at the SPI) received from src on our address dst,
// in place: the returned inner packet is pkt[HeaderLen:HeaderLen+len(inner)]. It checks the inner packet against the
// SA's tunnel policy and the SA's lifetime. Drops are counted in t.
func (db *DB) Open(pkt []byte, src, dst netip.AddrPort, now int64, t *Tally) ([]byte, *InSA, Drop) {
	if len(pkt) < 8 {
		t.Drop(DropMalformed)
		return nil, nil, DropMalformed
	}
	spi := binary.BigEndian.Uint32(pkt)
	sa := (*db.in.Load())[spi]
	if sa == nil {
		t.Drop(DropUnknownSPI)
		if ok, sup := db.lim.allow(spi, src.Addr(), now); ok {
			db.events.emit(dataplane.Event{
				Kind: dataplane.EventUnknownSPI, Time: time.Unix(0, now), SPI: spi, Dir: dataplane.In,
				Src: src, Dst: dst, Suppressed: sup,
			}, false)
		} else {
			t[CUnknownSPISuppressed]++
		}
		return nil, nil, DropUnknownSPI
	}
	if sa.dead.Load() {
		t.Drop(DropExpired)
		return nil, sa, DropExpired
	}
	// Decrypt in place without moving the payload: inner = pkt[h:h+len(inner)], leaving the
	// ESP header as headroom in front of it (the TUN writer needs some).
	h := sa.crypto.HeaderLen()
	if len(pkt) < h {
		t.Drop(DropMalformed)
		return nil, sa, DropMalformed
	}
	inner, nh, err := sa.crypto.Open(pkt[h:h], pkt)
	if err != nil {
		d := db.provider.Classify(err)
		switch d {
		case DropReplay:
			sa.replay.Add(1)
		case DropAuth:
			sa.authFail.Add(1)
		case DropNone:
			d = DropMalformed
		}
		t.Drop(d)
		return nil, sa, d
	}
	if nh == 59 {
		t.Drop(DropDummy)
		return nil, sa, DropDummy
	}
	f, err := ParseFlow(inner)
	if err != nil || (nh == 4) != f.Dst.Is4() || nh != 4 && nh != 41 {
		t.Drop(DropMalformed)
		return nil, sa, DropMalformed
	}
	p := db.pols.Load().byTunnel[sa.cfg.Tunnel]
	if p == nil || !p.matchIn(&f) {
		t.Drop(DropPolicyMismatch)
		return nil, sa, DropPolicyMismatch
	}
	if !sa.account(len(inner), now) {
		t.Drop(DropExpired)
		return nil, sa, DropExpired
	}
	t[CPacketsIn]++
	t[CBytesIn] += uint64(len(inner))
	return inner, sa, DropNone
}
