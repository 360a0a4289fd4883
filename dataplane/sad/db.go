package sad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
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

	// in maps SPI to inbound SA (sharded copy-on-write, see inTable).
	in inTable
	// pols indexes the policies by destination and by tunnel (an immutable snapshot read
	// lock-free, replaced under mu).
	pols policyIndex

	mu sync.Mutex // serialises control-plane changes; guards the fields below
	// out maps Child SA id to outbound SA. Outbound SPIs are chosen by the peers, so they are
	// not unique: two peers may pick the same one, and a peer must not be able to take over
	// another's SA by picking its SPI. Only the Child SA id (assigned by the control plane)
	// identifies an outbound SA.
	out map[uint64]*OutSA
	// outPeer maps (remote address, SPI) to outbound SA: a second SA with the same pair
	// could not be told apart by the receiving host, so it is refused.
	outPeer map[peerSPI]*OutSA
	// inByChild maps Child SA id to its inbound SA (for UpdateRemote).
	inByChild map[uint64]*InSA
	seq       uint64
	closed    bool
}

// peerSPI is an outbound SA's SPI in the namespace of the host that chose it.
type peerSPI struct {
	addr netip.Addr
	spi  uint32
}

func peerKey(remote netip.AddrPort, spi uint32) peerSPI {
	return peerSPI{remote.Addr().Unmap(), spi}
}

// New creates a DB. Close stops its event goroutine.
func New(cfg Config) (*DB, error) {
	if cfg.Provider == nil {
		return nil, errors.New("sad: Config.Provider is required")
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	db := &DB{cfg: cfg, provider: cfg.Provider, out: map[uint64]*OutSA{}, outPeer: map[peerSPI]*OutSA{},
		inByChild: map[uint64]*InSA{}, lim: newSPILimiter(cfg.UnknownSPI)}
	db.events = newEventQueue(&db.stats)
	db.in.init()
	db.pols.init()
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
	db.events.emit(dataplane.Event{Kind: k, Time: time.Now(), SPI: c.SPI, Dir: c.Dir, Tunnel: c.Tunnel, Child: c.ChildID}, true)
}

// AddSA installs one direction of a Child SA. It never replaces an installed SA: an inbound
// SPI that exists, a Child SA that already has an SA of that direction, or an outbound SPI
// already used towards the same remote address are refused with an error wrapping
// dataplane.ErrExists, and nothing changes. Outbound SAs without ESN get packet limits that
// keep their sequence numbers from running out (dataplane.PacketLimits).
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
	if c.Dir == dataplane.Out {
		if c.ChildID == 0 {
			return fmt.Errorf("sad: outbound SA %#x: no Child SA id", c.SPI)
		}
		c.SoftPackets, c.HardPackets = dataplane.PacketLimits(c.ESN, c.SoftPackets, c.HardPackets)
	}
	cr, err := db.provider.New(c)
	if err != nil {
		return fmt.Errorf("sad: SA %#x/%v: %w", c.SPI, c.Dir, err)
	}
	db.mu.Lock()
	if c.Dir == dataplane.In {
		if db.in.get(c.SPI) != nil {
			db.mu.Unlock()
			return fmt.Errorf("sad: inbound SA %#x: %w", c.SPI, dataplane.ErrExists)
		}
		if c.ChildID != 0 && db.inByChild[c.ChildID] != nil {
			db.mu.Unlock()
			return fmt.Errorf("sad: inbound SA %#x: child %d already has an inbound SA: %w", c.SPI, c.ChildID, dataplane.ErrExists)
		}
		sa := &InSA{}
		sa.init(db, c, cr)
		db.in.put(c.SPI, sa)
		if c.ChildID != 0 {
			db.inByChild[c.ChildID] = sa
		}
		db.lim.addPeer(c.Remote.Addr())
		db.mu.Unlock()
		return nil
	}
	pk := peerKey(c.Remote, c.SPI)
	if o := db.out[c.ChildID]; o != nil {
		db.mu.Unlock()
		return fmt.Errorf("sad: outbound SA %#x: child %d already has outbound SA %#x: %w", c.SPI, c.ChildID, o.cfg.SPI, dataplane.ErrExists)
	}
	if o := db.outPeer[pk]; o != nil {
		db.mu.Unlock()
		return fmt.Errorf("sad: outbound SA %#x to %v: in use by child %d: %w", c.SPI, pk.addr, o.cfg.ChildID, dataplane.ErrExists)
	}
	sa := &OutSA{}
	sa.init(db, c, cr)
	db.out[c.ChildID] = sa
	db.outPeer[pk] = sa
	var flush []flushJob
	for _, p := range db.pols.byChild[c.ChildID] {
		if j, ok := bind(p, sa); ok {
			flush = append(flush, j)
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

// DeleteSA removes an SA; unknown ones return an error wrapping dataplane.ErrNotFound.
// Policies using a deleted outbound SA hold until their Child SA gets one again.
func (db *DB) DeleteSA(r dataplane.SARef) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	switch r.Dir {
	case dataplane.In:
		sa := db.in.get(r.SPI)
		if sa == nil {
			return fmt.Errorf("sad: %v: %w", r, dataplane.ErrNotFound)
		}
		db.in.del(r.SPI)
		if id := sa.cfg.ChildID; id != 0 && db.inByChild[id] == sa {
			delete(db.inByChild, id)
		}
		db.lim.removePeer(sa.Remote().Addr(), time.Now().UnixNano())
		return nil
	case dataplane.Out:
		sa := db.outLocked(r)
		if sa == nil {
			return fmt.Errorf("sad: %v: %w", r, dataplane.ErrNotFound)
		}
		delete(db.out, r.Child)
		if pk := peerKey(sa.Remote(), sa.cfg.SPI); db.outPeer[pk] == sa {
			delete(db.outPeer, pk)
		}
		for _, p := range db.pols.byChild[r.Child] {
			bind(p, nil)
		}
		return nil
	}
	return fmt.Errorf("sad: %v: invalid direction", r)
}

// outLocked resolves an outbound reference (db.mu held).
func (db *DB) outLocked(r dataplane.SARef) *OutSA {
	sa := db.out[r.Child]
	if sa == nil || r.SPI != 0 && sa.cfg.SPI != r.SPI {
		return nil
	}
	return sa
}

// UpdateRemote changes the outer remote address of both halves of Child SA child in place
// (NAT rebinding). With EncapRaw the port must be 0, with EncapUDP it must not.
func (db *DB) UpdateRemote(child uint64, remote netip.AddrPort) error {
	if !remote.Addr().IsValid() {
		return fmt.Errorf("sad: child %d: invalid remote address %v", child, remote)
	}
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	db.mu.Lock()
	defer db.mu.Unlock()
	out, in := db.out[child], db.inByChild[child]
	if out == nil && in == nil {
		return fmt.Errorf("sad: child %d: %w", child, dataplane.ErrNotFound)
	}
	var cores []*saCore
	if out != nil {
		cores = append(cores, &out.saCore)
	}
	if in != nil {
		cores = append(cores, &in.saCore)
	}
	for _, c := range cores {
		if raw := c.cfg.Encap == dataplane.EncapRaw; raw != (remote.Port() == 0) {
			return fmt.Errorf("sad: child %d: remote %v does not fit the SA's encapsulation", child, remote)
		}
		if c.Local().Addr().Is4() != remote.Addr().Is4() {
			return fmt.Errorf("sad: child %d: remote %v is not of the local address family", child, remote)
		}
	}
	if out != nil {
		oldKey, newKey := peerKey(out.Remote(), out.cfg.SPI), peerKey(remote, out.cfg.SPI)
		if o := db.outPeer[newKey]; o != nil && o != out {
			return fmt.Errorf("sad: child %d: outbound SA %#x to %v: in use by child %d: %w", child, out.cfg.SPI, newKey.addr, o.cfg.ChildID, dataplane.ErrExists)
		}
		if db.outPeer[oldKey] == out {
			delete(db.outPeer, oldKey)
		}
		db.outPeer[newKey] = out
		out.setRemote(remote)
	}
	if in != nil {
		if old := in.Remote().Addr(); old != remote.Addr() {
			db.lim.addPeer(remote.Addr())
			db.lim.removePeer(old, time.Now().UnixNano())
		}
		in.setRemote(remote)
	}
	return nil
}

// InSA returns an installed inbound SA.
func (db *DB) InSA(spi uint32) *InSA { return db.in.get(spi) }

// OutSA returns the installed outbound SA of a Child SA.
func (db *DB) OutSA(child uint64) *OutSA {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.out[child]
}

// SAStats reports counters of an installed SA.
func (db *DB) SAStats(r dataplane.SARef) (dataplane.Stats, bool) {
	switch r.Dir {
	case dataplane.In:
		if sa := db.InSA(r.SPI); sa != nil {
			return sa.Stats(), true
		}
	case dataplane.Out:
		db.mu.Lock()
		sa := db.outLocked(r)
		db.mu.Unlock()
		if sa != nil {
			return sa.Stats(), true
		}
	}
	return dataplane.Stats{}, false
}

// WatchSA implements dataplane.Dataplane.WatchSA.
func (db *DB) WatchSA(r dataplane.SARef, since time.Time) (bool, error) {
	var s *saCore
	switch r.Dir {
	case dataplane.In:
		if sa := db.InSA(r.SPI); sa != nil {
			s = &sa.saCore
		}
	case dataplane.Out:
		db.mu.Lock()
		if sa := db.outLocked(r); sa != nil {
			s = &sa.saCore
		}
		db.mu.Unlock()
	}
	if s == nil {
		return false, fmt.Errorf("sad: %v: %w", r, dataplane.ErrNotFound)
	}
	return s.watchFrom(since), nil
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
	db.in.each(func(sa *InSA) { out = append(out, SAInfo{sa.Config(), sa.Stats(), sa.Expired()}) })
	db.mu.Lock()
	for _, sa := range db.out {
		out = append(out, SAInfo{sa.Config(), sa.Stats(), sa.Expired()})
	}
	db.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Config, out[j].Config
		if a.Dir != b.Dir {
			return a.Dir < b.Dir
		}
		if a.SPI != b.SPI {
			return a.SPI < b.SPI
		}
		return a.ChildID < b.ChildID
	})
	return out
}

// SetPolicy adds or replaces the policy of p.Tunnel. Packets held by a replaced policy move
// to the new one (and are flushed if it resolves to an SA).
func (db *DB) SetPolicy(p dataplane.Policy) error {
	np, err := newPolicy(&p)
	if err != nil {
		return fmt.Errorf("sad: %w", err)
	}
	db.install([]*Policy{np})
	return nil
}

// SetPolicies installs ps as SetPolicy would one after the other, in order (a tunnel named
// twice ends with its last policy), but as one change: the packet path sees none of them or
// all, and the index is copied and published once, which makes installing 100,000 policies
// at start-up much cheaper than 100,000 SetPolicy calls. If a policy is invalid, nothing is
// installed and the error names it.
func (db *DB) SetPolicies(ps []dataplane.Policy) error {
	nps := make([]*Policy, len(ps))
	for i := range ps {
		np, err := newPolicy(&ps[i])
		if err != nil {
			return fmt.Errorf("sad: policy %d of %d: %w", i+1, len(ps), err)
		}
		nps[i] = np
	}
	db.install(nps)
	return nil
}

// install adds or replaces the policies nps (valid, not yet installed), in order, and
// publishes them as one change of the index.
func (db *DB) install(nps []*Policy) {
	if len(nps) == 0 {
		return
	}
	var jobs []flushJob
	db.mu.Lock()
	if len(nps) == 1 && db.switchInPlace(nps[0], &jobs) {
		db.mu.Unlock()
		db.runFlush(jobs)
		return
	}
	c := db.pols.begin(len(nps))
	for _, np := range nps {
		db.seq++
		np.seq = db.seq
		var sa *OutSA
		if id := np.outChild.Load(); id != 0 {
			sa = db.out[id]
		}
		np.sa.Store(sa)
		old := c.tunnel(np.tunnel)
		if old != nil {
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
		c.put(np, old)
	}
	c.commit()
	db.mu.Unlock()
	db.runFlush(jobs)
}

// switchInPlace applies np to its tunnel's installed policy in place when the two differ only
// in their outbound SA and trap setting: the Child SA of a tunnel coming up, rekeyed or gone. Every tunnel does
// that at least once, and a copy of the index for it would cost some kilobytes of garbage per
// tunnel (the index is persistent: a change copies its path). The packet path sees the new SA
// at once; packets the policy held go to it (into jobs). It reports false, changing nothing,
// when np must be installed as a new policy. db.mu is held.
func (db *DB) switchInPlace(np *Policy, jobs *[]flushJob) bool {
	old := db.pols.tunnel(np.tunnel)
	if old == nil || !old.sameFiling(np) {
		return false
	}
	db.seq++ // as install counts every policy (the replaced one keeps its place)
	prev, id := old.outChild.Load(), np.outChild.Load()
	if prev != id {
		db.pols.unfileChild(old, prev)
		if id != 0 {
			db.pols.byChild[id] = withPolicy(db.pols.byChild[id], old, nil)
		}
		old.outChild.Store(id)
	}
	var sa *OutSA
	if id != 0 {
		sa = db.out[id]
	}
	old.trap.Store(np.trap.Load())
	old.mu.Lock()
	old.sa.Store(sa) // hold (under old.mu) sees it, or queued before and is taken here
	var held [][]byte
	if sa != nil {
		held = old.takeLocked()
	}
	old.mu.Unlock()
	if len(held) > 0 {
		*jobs = append(*jobs, flushJob{sa, held})
	}
	return true
}

// DeletePolicy removes a tunnel's policy and drops its queue.
func (db *DB) DeletePolicy(tunnel string) error {
	if db.remove([]string{tunnel}) >= 0 {
		return fmt.Errorf("sad: policy %q: %w", tunnel, dataplane.ErrNotFound)
	}
	return nil
}

// DeletePolicies removes the policies of tunnels as DeletePolicy would one after the other,
// but as one change (see SetPolicies). If a tunnel has no policy (or is named twice), nothing
// is removed and the error, which wraps dataplane.ErrNotFound, names it.
func (db *DB) DeletePolicies(tunnels []string) error {
	if i := db.remove(tunnels); i >= 0 {
		return fmt.Errorf("sad: tunnel %d of %d: policy %q: %w", i+1, len(tunnels), tunnels[i], dataplane.ErrNotFound)
	}
	return nil
}

// remove removes the policies of tunnels as one change of the index and drops their queues.
// If one of them has no policy (or comes again), it removes nothing and returns its index;
// otherwise -1.
func (db *DB) remove(tunnels []string) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	var named map[string]bool
	if len(tunnels) > 1 {
		named = make(map[string]bool, len(tunnels))
	}
	for i, t := range tunnels {
		if db.pols.tunnel(t) == nil || named[t] {
			return i
		}
		if named != nil {
			named[t] = true
		}
	}
	if len(tunnels) == 0 {
		return -1
	}
	olds := make([]*Policy, len(tunnels))
	c := db.pols.begin(len(tunnels))
	for i, t := range tunnels {
		olds[i] = c.tunnel(t)
		c.remove(olds[i])
	}
	c.commit()
	for _, old := range olds {
		old.mu.Lock()
		old.takeLocked()
		old.next = &Policy{} // orphan: late holds land in a queue nobody reads
		old.mu.Unlock()
	}
	return -1
}

// Policy returns the installed policy of a tunnel.
func (db *DB) Policy(tunnel string) (*Policy, bool) {
	p := db.pols.tunnel(tunnel)
	return p, p != nil
}

// Policies returns all installed policies.
func (db *DB) Policies() []*Policy {
	var out []*Policy
	db.pols.each(func(p *Policy) { out = append(out, p) })
	sort.Slice(out, func(i, j int) bool { return out[i].tunnel < out[j].tunnel })
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
	p := db.pols.lookup(&f)
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
	if p.trap.Load() {
		if ok, sup := p.acquire(now); ok {
			db.events.emit(dataplane.Event{
				Kind: dataplane.EventAcquire, Time: time.Unix(0, now), Tunnel: p.tunnel, Dir: dataplane.Out,
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
	sa := db.in.get(spi)
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
	p := db.pols.tunnel(sa.cfg.Tunnel)
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
