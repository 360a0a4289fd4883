package ike

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
)

// The core's services to the protocols (ike/v1, ike/v2), on the loop only. The gateway has no
// use for them: it steers the engine through the operations (operations.go) and the hooks.

// Log is the engine's logger.
func (e *Engine) Log() *slog.Logger { return e.log }

// Config is the engine-wide configuration (read only).
func (e *Engine) Config() *Config { return &e.cfg }

// Counters are the protocol counters, for the protocols to count into.
func (e *Engine) Counters() *Stats { return &e.stats }

// Dataplane is where IKE messages go out and Child SAs are installed.
func (e *Engine) Dataplane() dataplane.Dataplane { return e.dp }

// Hooks are the gateway's callbacks.
func (e *Engine) Hooks() Hooks { return e.hooks }

// Rand is the engine's source of randomness (SPIs, nonces, message IDs, DH keys).
func (e *Engine) Rand() io.Reader { return e.rand }

// SetCurrent names the IKE SA whose message is being handled: a panic while handling it
// tears down this SA only (see run).
func (e *Engine) SetCurrent(sa *IKESA) { e.cur = sa }

// LookupIKE finds an IKE SA by the SPI we chose for it.
func (e *Engine) LookupIKE(spi uint64) *IKESA { return e.ikeSAs[spi] }

// NewIKESA makes an IKE SA of a protocol version; the protocol sets its SPIs, state and
// SAProtocol, then registers it (AddIKE, or StartHalfOpen for a responder).
func (e *Engine) NewIKESA(version int, t *Tunnel, initiator bool, local, remote netip.AddrPort) *IKESA {
	return &IKESA{ID: e.NewID(), Version: version, Tunnel: t, Initiator: initiator, Local: local, Remote: remote,
		Created: time.Now(), children: map[uint64]*ChildSA{}}
}

// AddIKE indexes sa by the SPI we chose, and counts it.
func (e *Engine) AddIKE(sa *IKESA) {
	e.ikeSAs[sa.OurSPI()] = sa
	e.countIKE(sa)
}

// HalfOpen finds the half-open responder SA a repeated first message belongs to.
func (e *Engine) HalfOpen(k HalfOpenKey) *IKESA { return e.halfOpen[k] }

// StartHalfOpen indexes a new responder SA that waits for its peer's authentication, counts it
// against the half-open caps, and removes it if it is still half-open after HalfOpenTimeout.
func (e *Engine) StartHalfOpen(sa *IKESA, key HalfOpenKey) {
	e.AddIKE(sa)
	e.halfOpen[key] = sa
	sa.halfKey = key
	e.nHalf++
	e.halfBySrc[key.Remote.Addr()]++
	sa.timers.halfOpen = e.After(e.cfg.HalfOpenTimeout, func() {
		if sa.State == IKEHalfOpen {
			e.cfg.LogThrottle.Log(e.log, slog.LevelInfo, sa.Remote.Addr(), "half-open-timeout", "half-open IKE SA timed out", "peer", sa.Remote, "ike", sa.String(), "version", sa.Version)
			e.RemoveIKE(sa, ErrTimeout)
		}
	})
}

// LeaveHalfOpen releases sa's half-open slot (it authenticated, or it goes).
func (e *Engine) LeaveHalfOpen(sa *IKESA) {
	if sa.timers.halfOpen != nil {
		sa.timers.halfOpen.Stop()
	}
	if e.halfOpen[sa.halfKey] != sa {
		return
	}
	delete(e.halfOpen, sa.halfKey)
	e.nHalf--
	src := sa.halfKey.Remote.Addr()
	if e.halfBySrc[src]--; e.halfBySrc[src] <= 0 {
		delete(e.halfBySrc, src)
	}
}

// AdoptChildren hands from's Child SAs over to to. IKEv1 IPsec SAs outlive their ISAKMP SA.
func AdoptChildren(from, to *IKESA) {
	for id, c := range from.children {
		c.IKE = to
		to.children[id] = c
		delete(from.children, id)
	}
}

// Proto is the IKE SA's protocol state; SetProto sets it when the protocol creates the SA.
func (sa *IKESA) Proto() SAProtocol          { return sa.proto }
func (sa *IKESA) SetProto(p SAProtocol)      { sa.proto = p }
func (sa *IKESA) SetLastInbound(t time.Time) { sa.lastInbound = t }

// OutboundActive reports whether the tunnel's policy sends with c.
func (c *ChildSA) OutboundActive() bool { return c.outActive }

// StopRekey stops c's rekey timer (c was replaced).
func (c *ChildSA) StopRekey() {
	if c.rekeyTimer != nil {
		c.rekeyTimer.Stop()
	}
}

func (e *Engine) Send(sa *IKESA, raw []byte) {
	if err := e.dp.SendIKE(sa.Local, sa.Remote, raw); err != nil {
		e.log.Debug("sending IKE message failed", "peer", sa.Remote, "err", err)
	}
}

func (sa *IKESA) TunnelName() string {
	if sa.Tunnel == nil {
		return ""
	}
	return sa.Tunnel.Cfg.Name
}

func SPIBytes(spi uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], spi)
	return b[:]
}

// Acceptable reports whether a suite chosen by the peer is one we offered.
func Acceptable(s crypto.Suite, ps []crypto.Proposal) bool {
	for _, p := range ps {
		encr := false
		for _, a := range p.Encr {
			if a.ID == s.Encr && a.KeyBits == s.EncrKeyBits {
				encr = true
			}
		}
		if !encr {
			continue
		}
		if s.PRF != 0 && !slices.Contains(p.PRF, s.PRF) {
			continue
		}
		if !s.AEAD() && !slices.Contains(p.Integ, s.Integ) {
			continue
		}
		if s.DH != 0 && !slices.Contains(p.DH, s.DH) || s.DH == 0 && len(p.DH) > 0 && !slices.Contains(p.DH, 0) {
			continue
		}
		return true
	}
	return false
}

// HalfOpenRoom reports whether a new half-open responder SA from src fits under the caps.
func (e *Engine) HalfOpenRoom(src netip.Addr) bool {
	if e.nHalf < e.cfg.HalfOpenMax && e.halfBySrc[src] < e.cfg.HalfOpenPerSource {
		return true
	}
	e.stats.HalfOpenRefused++
	e.cfg.LogThrottle.Log(e.log, slog.LevelWarn, src, "half-open-limit", "too many half-open IKE SAs: dropping new requests", "half_open", e.nHalf, "from_source", e.halfBySrc[src], "source", src)
	return false
}

// HalfOpenCount is the number of half-open responder IKE SAs (both versions).
func (e *Engine) HalfOpenCount() int { return e.nHalf }

// HalfOpenSources is the number of source addresses with half-open responder IKE SAs.
func (e *Engine) HalfOpenSources() int { return len(e.halfBySrc) }
