package v1

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// handleV1 dispatches one received IKEv1 (ISAKMP) message.
func (e *engine) handleV1(local, remote netip.AddrPort, msg []byte) {
	h, err := v1wire.ParseHeader(msg)
	if err != nil {
		e.Counters().Malformed++
		e.Log().Debug("dropping malformed IKEv1 message", "peer", remote, "err", err)
		return
	}
	msg = msg[:h.Length]
	if e.Log().Enabled(context.Background(), slog.LevelDebug) {
		e.Log().Debug("received IKEv1 message", "peer", remote, "local", local, "exchange", h.Exchange, "encrypted", h.Encrypted(), "msgid", h.MessageID, "len", len(msg))
	}
	if h.Exchange == v1wire.ExchangeAggressive {
		e.v1RefuseAggressive(local, remote, h)
		return
	}
	sa := e.v1Lookup(h)
	if sa == nil {
		switch {
		case h.Exchange == v1wire.ExchangeMainMode && h.CookieR == 0 && !h.Encrypted() && h.MessageID == 0:
			e.v1MainMode1(local, remote, h, msg)
		case h.Exchange == v1wire.ExchangeInformational && !h.Encrypted():
			e.v1UnprotectedInfo(remote, msg, nil)
		default:
			e.Counters().UnknownSPI++
			if h.Encrypted() && h.CookieR != 0 {
				// An exchange in an ISAKMP SA we do not have (the peer's DPD, Quick Mode or
				// Informational after we restarted): the gateway may re-initiate.
				e.Hooks().UnknownIKESA(remote)
			}
			e.Log().Debug("IKEv1 message for unknown ISAKMP SA", "peer", remote, "exchange", h.Exchange, "cky_i", fmt.Sprintf("%016x", h.CookieI), "cky_r", fmt.Sprintf("%016x", h.CookieR))
		}
		return
	}
	e.SetCurrent(sa)
	switch h.Exchange {
	case v1wire.ExchangeMainMode:
		if h.MessageID != 0 {
			return
		}
		if sa.Initiator {
			e.v1MainInitiator(sa, local, remote, h, msg)
		} else {
			e.v1MainResponder(sa, local, remote, h, msg)
		}
	case v1wire.ExchangeQuickMode:
		if h.Encrypted() && h.MessageID != 0 {
			e.v1Quick(sa, local, remote, h, msg)
		}
	case v1wire.ExchangeInformational:
		e.v1Info(sa, local, remote, h, msg)
	case v1wire.ExchangeTransaction:
		if e.refusals.Allow(time.Now()) {
			e.Log().Warn("ignoring IKEv1 Mode ike.Config / XAUTH exchange: not supported (site-to-site PSK only)", "tunnel", sa.TunnelName(), "peer", remote)
		}
	default:
		e.Log().Debug("ignoring IKEv1 exchange", "exchange", h.Exchange, "peer", remote)
	}
}

// v1Lookup finds the ISAKMP SA a header belongs to. IKEv1 has no initiator flag: the SA is
// ours as initiator if CKY-I is our cookie, as responder if CKY-R is.
func (e *engine) v1Lookup(h v1wire.Header) *ike.IKESA {
	if sa := e.LookupIKE(h.CookieI); sa != nil && sa.Version == 1 && sa.Initiator && (sa.SPIr == h.CookieR || sa.SPIr == 0 || h.CookieR == 0) {
		return sa
	}
	if h.CookieR != 0 {
		if sa := e.LookupIKE(h.CookieR); sa != nil && sa.Version == 1 && !sa.Initiator && sa.SPIi == h.CookieI {
			return sa
		}
	}
	return nil
}

// v1RefuseAggressive answers an Aggressive Mode request (rate-limited): Vigil speaks Main Mode
// only, as Aggressive Mode hands anyone a hash of the PSK to guess offline.
func (e *engine) v1RefuseAggressive(local, remote netip.AddrPort, h v1wire.Header) {
	if h.CookieR != 0 || !e.refusals.Allow(time.Now()) {
		return
	}
	e.Log().Warn("refusing IKEv1 Aggressive Mode: only Main Mode is supported (Aggressive Mode exposes a hash of the PSK to offline guessing); set aggressive = no on the peer", "peer", remote)
	e.v1SendPlain(local, remote, h.CookieI, 0, &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoISAKMP, Type: v1wire.NotifyInvalidExchangeType})
}

// ---- loop-only operations (called through the version-neutral methods) ---------------------

// v1CreateChild starts a Quick Mode for a new Child SA of t. A new-SA Quick Mode for t already
// in flight is joined instead of starting a second one.
func (e *engine) v1CreateChild(sa *ike.IKESA, t *ike.Tunnel, done func(*ike.ChildSA, error)) {
	for _, x := range v1of(sa).exch {
		if q := x.qm; q != nil && x.initiator && !x.finished && q.tunnel == t && q.rekey == nil {
			if done != nil {
				prev := q.done
				q.done = func(c *ike.ChildSA, err error) {
					if prev != nil {
						prev(c, err)
					}
					done(c, err)
				}
			}
			return
		}
	}
	e.v1QuickStart(sa, t, nil, 0, done)
}

// v1DeleteChild tells the peer (Informational Delete with our inbound SPI) and removes c.
func (e *engine) v1DeleteChild(c *ike.ChildSA, done func(error)) {
	sa := c.IKE
	if c.State != ike.ChildRekeyed {
		c.State = ike.ChildDeleting
	}
	e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDeleteESP(c.SPIIn)})
	e.RemoveChild(c, ike.ErrDeleted)
	if done != nil {
		done(nil)
	}
}

// v1DeleteIKE deletes the Child SAs and then the ISAKMP SA itself, telling the peer.
func (e *engine) v1DeleteIKE(sa *ike.IKESA) {
	e.SetIKEState(sa, ike.IKEDeleting)
	var spis []uint32
	for _, c := range sa.Children() {
		if c.State != ike.ChildDeleted {
			spis = append(spis, c.SPIIn)
		}
	}
	// The sends need established keys, not the state: v1SendInfo only checks v1Ready.
	if len(spis) > 0 {
		e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDeleteESP(spis...)})
	}
	e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDeleteISAKMP(sa.SPIi, sa.SPIr)})
	e.Log().Info("deleting ISAKMP SA", "tunnel", sa.TunnelName(), "ike", sa.String())
	e.RemoveIKE(sa, ike.ErrDeleted)
}

// v1DeleteLost sends a protected Delete for an inbound SPI we no longer have.
func (e *engine) v1DeleteLost(sa *ike.IKESA, spi uint32) {
	e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDeleteESP(spi)})
}

// v1SendInvalidSPI tells the peer, protected by sa, that ESP arrived on an SPI we do not know:
// Notification INVALID-SPI, protocol ESP, the SPI (network order) in the SPI field.
func (e *engine) v1SendInvalidSPI(sa *ike.IKESA, spi uint32) {
	e.Counters().InvalidSPISent++
	e.v1SendInfo(sa, []v1wire.Payload{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: ike.SPIBytes(spi), Type: v1wire.NotifyInvalidSPI}})
}

// v1SendUnprotectedInvalidSPI sends an unencrypted INVALID-SPI notification (no HASH).
func (e *engine) v1SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	e.v1SendPlain(local, remote, e.RandomSPI(), 0, &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: ike.SPIBytes(spi), Type: v1wire.NotifyInvalidSPI})
}
