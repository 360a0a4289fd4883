package v1

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev1/v1crypto"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// IKEv1 (RFC 2409) state. An ISAKMP SA is an ike.IKESA with Version 1; its cookies are SPIi (CKY-I)
// and SPIr (CKY-R) and its phase 1 keys and CBC state live in v1SA. Quick Mode and
// Informational exchanges are keyed by their message IDs; several may run at once (IKEv1 has
// no window). IPsec SAs are ordinary ChildSAs, installed through install.go.

// Main Mode steps: the number of the last message sent or processed.
const (
	mmSentSA   = 1 // initiator: message 1 sent
	mmSentKE   = 3 // initiator: message 3 sent
	mmSentAuth = 5 // initiator: message 5 sent
	mmGotSA    = 2 // responder: message 2 sent
	mmGotKE    = 4 // responder: message 4 sent
	mmDone     = 6
)

// v1SA is the IKEv1 state of an ike.IKESA (its ike.SAProtocol).
type v1SA struct {
	e  *engine
	sa *ike.IKESA

	step   int
	hash   v1crypto.HashAlg
	keyLen int // AES key bytes
	group  uint16

	keys *v1crypto.Phase1Keys
	p1   *v1crypto.CBC // phase 1 CBC state; once Main Mode is done its IV is the last block of message 6

	saiB   []byte    // body of the initiator's SA payload (HASH_I, HASH_R)
	dh     crypto.DH // our Main Mode key pair
	ni     []byte    // Main Mode nonce bodies
	nr     []byte
	natt   bool // the peer announced RFC 3947 NAT traversal
	dpd    bool // the peer announced RFC 3706 DPD
	icSeen bool // INITIAL-CONTACT arrived in message 5

	rekeyOf  *ike.IKESA // this Main Mode replaces rekeyOf (our IKE rekey)
	rekeying *ike.IKESA // the Main Mode replacing this SA, in flight

	// Main Mode retransmission: the message we sent last, and (responder) the request it
	// answered, resent when that request arrives again.
	mmOut []byte
	mmIn  []byte
	mmReq *v1req
	// mmTries: retransmissions of the Main Mode so far (initiator), for its exchange time.
	mmTries int

	exch map[uint32]*v1Exchange // Quick Mode / Informational exchanges in flight, by message ID
	seen midSet                 // message IDs of exchanges the peer started (replay protection)
	reqs map[*v1req]struct{}    // armed retransmissions, stopped when the SA dies

	dpdSeq  uint32 // next R-U-THERE sequence number
	dpdWait *v1DPD // liveness check in flight
}

func newV1SA(e *engine, sa *ike.IKESA) *v1SA {
	var b [4]byte
	rand.Read(b[:])
	return &v1SA{
		e: e, sa: sa,
		exch:   map[uint32]*v1Exchange{},
		reqs:   map[*v1req]struct{}{},
		dpdSeq: binary.BigEndian.Uint32(b[:]) >> 1, // random start (RFC 3706 5.5), far from wrap
	}
}

// midSet remembers every message ID the peer used on one ISAKMP SA for an exchange that can
// change state (Quick Mode, an Informational with a Delete or a notification other than DPD),
// so that a replay is recognised however old it is: a Quick Mode message 1 replayed after any
// number of other exchanges must not install its SPIs again. A 1024-bit filter answers most
// lookups of new IDs at once; the sorted list behind it is exact (4 bytes per ID, for the
// lifetime of the ISAKMP SA, which rekeying bounds).
type midSet struct {
	filter [16]uint64
	ids    []uint32
}

func midBits(id uint32) (uint32, uint32) {
	h := id * 0x9e3779b1 // Fibonacci hashing spreads IDs, random or not
	return h >> 22, (h >> 12) & 1023
}

func (s *midSet) has(id uint32) bool {
	a, b := midBits(id)
	if s.filter[a/64]&(1<<(a%64)) == 0 || s.filter[b/64]&(1<<(b%64)) == 0 {
		return false
	}
	_, ok := slices.BinarySearch(s.ids, id)
	return ok
}

func (s *midSet) add(id uint32) {
	i, ok := slices.BinarySearch(s.ids, id)
	if ok {
		return
	}
	s.ids = slices.Insert(s.ids, i, id)
	a, b := midBits(id)
	s.filter[a/64] |= 1 << (a % 64)
	s.filter[b/64] |= 1 << (b % 64)
}

func (s *midSet) len() int { return len(s.ids) }

// v1Exchange is one Quick Mode or Informational exchange.
type v1Exchange struct {
	mid       uint32
	initiator bool
	cbc       *v1crypto.CBC // the exchange's running IV
	req       *v1req        // our message being retransmitted (QM1, or QM2 as responder)
	lastIn    []byte        // the last message received (duplicate detection)
	lastOut   []byte        // the last message we sent (resent on a duplicate)
	qm        *v1Quick
	started   time.Time
	expire    *ike.Timer // forgets a completed exchange
	finished  bool
}

// v1Quick is the Quick Mode part of an exchange.
type v1Quick struct {
	tunnel   *ike.Tunnel
	spiIn    uint32 // ours
	ni, nr   []byte // nonce bodies (initiator's, responder's)
	dh       crypto.DH
	localTS  []ike.Selector
	remoteTS []ike.Selector
	rekey    *ike.ChildSA // initiator: the SA this exchange rekeys
	child    *ike.ChildSA // responder: installed with message 2, activated with message 3
	replaces *ike.ChildSA // responder: the SA the peer rekeys (same selectors)
	collided bool         // responder: our own rekey of replaces was in flight
	done     func(*ike.ChildSA, error)
}

// v1DPD is a liveness check in flight (RFC 3706): every try is a new R-U-THERE.
type v1DPD struct {
	first, last uint32
	req         *v1req
	started     time.Time
	dones       []func(error)
}

// v1req retransmits one message until stopped, with the engine's back-off and the tunnel's
// (or its own) time budget.
type v1req struct {
	raw    []byte
	next   func() []byte // builds the message of each retry (nil: raw again)
	onFail func(error)
	budget time.Duration
	retry  ike.Retransmission
	timer  *ike.Timer
	done   bool
}

// v1Send sends raw on sa and retransmits it until the returned request is stopped.
func (e *engine) v1Send(sa *ike.IKESA, raw []byte, budget time.Duration, onFail func(error)) *v1req {
	r := &v1req{raw: raw, onFail: onFail, budget: budget}
	e.v1Start(sa, r)
	return r
}

func (e *engine) v1Start(sa *ike.IKESA, r *v1req) {
	r.retry = e.StartRetransmission(r.budget)
	v1of(sa).reqs[r] = struct{}{}
	e.Send(sa, r.raw)
	e.v1Arm(sa, r)
}

func (e *engine) v1Arm(sa *ike.IKESA, r *v1req) {
	r.timer = e.After(r.retry.Timeout, func() { e.v1Retransmit(sa, r) })
}

// v1Stop ends a retransmission (the answer arrived).
func (e *engine) v1Stop(sa *ike.IKESA, r *v1req) {
	if r == nil || r.done {
		return
	}
	r.done = true
	if r.timer != nil {
		r.timer.Stop()
	}
	delete(v1of(sa).reqs, r)
}

func (e *engine) v1Retransmit(sa *ike.IKESA, r *v1req) {
	if r.done || sa.State == ike.IKEDead {
		return
	}
	if !e.NextRetransmission(sa, &r.retry, "IKEv1") {
		e.v1Stop(sa, r)
		r.onFail(ike.ErrTimeout)
		return
	}
	if r.next != nil {
		r.raw = r.next()
	}
	e.Send(sa, r.raw)
	e.v1Arm(sa, r)
}

// v1Header is the ISAKMP header of a message of sa.
func v1Header(sa *ike.IKESA, exch v1wire.ExchangeType, mid uint32) v1wire.Header {
	return v1wire.Header{CookieI: sa.SPIi, CookieR: sa.SPIr, Version: v1wire.Version, Exchange: exch, MessageID: mid}
}

// v1NewMID returns a fresh random message ID for an exchange we start.
func (e *engine) v1NewMID(sa *ike.IKESA) uint32 {
	var b [4]byte
	for {
		io.ReadFull(e.Rand(), b[:])
		m := binary.BigEndian.Uint32(b[:])
		if m != 0 && v1of(sa).exch[m] == nil && !v1of(sa).seen.has(m) {
			return m
		}
	}
}

// v1Teardown stops everything an ISAKMP SA has in flight (the SA is being removed).
func (e *engine) v1Teardown(sa *ike.IKESA, err error) {
	v := v1of(sa)
	for r := range v.reqs {
		e.v1Stop(sa, r)
	}
	for mid, x := range v.exch {
		delete(v.exch, mid)
		if x.expire != nil {
			x.expire.Stop()
		}
		if q := x.qm; q != nil && !x.finished {
			x.finished = true
			if x.initiator {
				e.v1QuickFinish(sa, q, nil, err)
			} else if q.child != nil && q.child.State != ike.ChildDeleted {
				e.RemoveChild(q.child, err)
			}
		}
	}
	if d := v.dpdWait; d != nil {
		v.dpdWait = nil
		for _, f := range d.dones {
			f(err)
		}
	}
	if old := v.rekeyOf; old != nil && v1of(old) != nil && v1of(old).rekeying == sa {
		v1of(old).rekeying = nil
		if sa.Up.IsZero() && old.State == ike.IKEEstablished && old.RekeyedBy == nil {
			e.Log().Info("IKEv1 rekey (new Main Mode) failed; retrying in 10 s", "tunnel", old.TunnelName(), "ike", old.String(), "err", err)
			e.After(10*time.Second, func() { e.RekeyIKE(old) })
		}
	}
	if v.keys != nil {
		v.keys.Clear()
	}
	if v.dh != nil {
		crypto.WipeDH(v.dh)
	}
	v.dh = nil
}

// v1Ready reports whether sa can protect phase 2 messages.
func v1Ready(sa *ike.IKESA) bool {
	return v1of(sa) != nil && v1of(sa).keys != nil && v1of(sa).p1 != nil && v1of(sa).step >= mmDone
}

// wipe clears the ISAKMP SA's keys: SKEYID, SKEYID_d/a/e and the phase 1 key.
func (v *v1SA) wipe() {
	if k := v.keys; k != nil {
		for _, b := range [][]byte{k.SKEYID, k.SKEYIDd, k.SKEYIDa, k.SKEYIDe, k.EncKey} {
			clear(b)
		}
	}
	if v.dh != nil {
		crypto.WipeDH(v.dh)
	}
}
