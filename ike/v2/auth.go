package v2

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// pskAuth computes the AUTH value of RFC 7296 2.15 for a shared key:
// prf(prf(PSK, "Key Pad for IKEv2"), <InitMessage> | <Nonce of the other side> | prf(SK_p, RestOfIDPayload)).
func pskAuth(prf crypto.PRF, psk, initMsg, otherNonce, skp []byte, id *wire.ID) []byte {
	return crypto.PSKAuthFor(prf, psk, initMsg, otherNonce, skp, id.RestOfPayload())
}

func idPayload(id ike.Identity, responder bool) *wire.ID {
	return &wire.ID{Responder: responder, IDType: wire.IDType(id.Type), Data: id.Data}
}

func sameID(id ike.Identity, p *wire.ID) bool {
	return p != nil && p.IDType == wire.IDType(id.Type) && bytes.Equal(p.Data, id.Data)
}

// sendAuth sends our IKE_AUTH request with the first Child SA.
func (e *engine) sendAuth(sa *ike.IKESA) {
	t := sa.Tunnel
	e.SetIKEState(sa, ike.IKEAuthSent)
	cp := &childProposal{
		tunnel:   t,
		spi:      e.RandomChildSPI(),
		ni:       v2of(sa).ni,
		localTS:  ike.Selectors(t.Cfg.LocalTS),
		remoteTS: ike.Selectors(t.Cfg.RemoteTS),
	}
	v2of(sa).authChild = cp
	build := func() []wire.Payload {
		idi := idPayload(t.Cfg.LocalID, false)
		ps := []wire.Payload{idi}
		if len(t.Cfg.RemoteID.Data) > 0 {
			ps = append(ps, idPayload(t.Cfg.RemoteID, true))
		}
		ps = append(ps,
			&wire.Auth{Method: wire.AuthSharedKey, Data: pskAuth(v2of(sa).prf, t.Cfg.PSK, v2of(sa).initReq, v2of(sa).nr, v2of(sa).keys.SKpi, idi)},
		)
		if !e.OtherIKEWithPeer(sa) {
			// RFC 7296 2.4: we have no other IKE SA with this peer for these identities.
			ps = append(ps, &wire.Notify{Type: wire.NotifyInitialContact})
		}
		ps = append(ps,
			&wire.SA{Proposals: proposal.ToWire(withoutDH(t.Cfg.ESPProposals), wire.ProtocolESP, ike.SPIBytes(cp.spi))},
			&wire.TrafficSelectors{Selectors: wireTS(cp.localTS)},
			&wire.TrafficSelectors{Responder: true, Selectors: wireTS(cp.remoteTS)},
		)
		return ps
	}
	e.request(sa, wire.ExchangeIKEAuth, build, func(m *wire.Message) { e.handleAuthResponse(sa, m) }, func(err error) { e.IKEFailed(sa, err) })
}

// withoutDH strips DH groups from ESP proposals: the first Child SA takes its keys from the
// IKE SA's DH exchange (RFC 7296 1.2).
func withoutDH(ps []crypto.Proposal) []crypto.Proposal {
	out := make([]crypto.Proposal, len(ps))
	for i, p := range ps {
		p.DH = nil
		out[i] = p
	}
	return out
}

func (e *engine) handleAuthResponse(sa *ike.IKESA, m *wire.Message) {
	t := sa.Tunnel
	if sa.DeleteAfterAuth {
		if notifyError(m) == 0 && m.Auth() != nil {
			sa.State, sa.Up = ike.IKEEstablished, time.Now()
			e.DeleteIKE(sa, true)
		} else {
			e.RemoveIKE(sa, ike.ErrDeleted)
		}
		return
	}
	if n := m.Notify(wire.NotifyAuthenticationFailed); n != nil {
		e.Counters().AuthFailures++
		e.Log().Error("peer rejected our authentication: AUTHENTICATION_FAILED (check psk, local_id and remote_id)", "tunnel", t.Cfg.Name, "peer", sa.Remote)
		e.IKEFailed(sa, fmt.Errorf("%w: peer answered AUTHENTICATION_FAILED", ike.ErrAuthFailed))
		return
	}
	idr, auth := m.IDr(), m.Auth()
	if idr == nil || auth == nil {
		ne := notifyError(m)
		e.IKEFailed(sa, fmt.Errorf("IKE_AUTH failed: peer answered %v", ne))
		return
	}
	if len(t.Cfg.RemoteID.Data) > 0 && !sameID(t.Cfg.RemoteID, idr) {
		e.Counters().AuthFailures++
		e.Log().Error("peer identity does not match remote_id", "tunnel", t.Cfg.Name, "peer", sa.Remote, "got", idString(idr.IDType, idr.Data))
		e.IKEFailed(sa, fmt.Errorf("%w: peer identity %s", ike.ErrAuthFailed, idString(idr.IDType, idr.Data)))
		return
	}
	want := pskAuth(v2of(sa).prf, t.Cfg.PSK, v2of(sa).initResp, v2of(sa).ni, v2of(sa).keys.SKpr, idr)
	if auth.Method != wire.AuthSharedKey || subtle.ConstantTimeCompare(want, auth.Data) != 1 {
		e.Counters().AuthFailures++
		e.Log().Error("AUTHENTICATION_FAILED: the peer's AUTH payload does not verify with our PSK", "tunnel", t.Cfg.Name, "peer", sa.Remote)
		e.IKEFailed(sa, fmt.Errorf("%w: peer's AUTH does not verify", ike.ErrAuthFailed))
		return
	}
	if !e.established(sa) {
		return
	}
	cp := v2of(sa).authChild
	v2of(sa).authChild = nil
	if _, err := e.acceptChildResponse(sa, cp, m, nil); err != nil {
		e.Log().Warn("first Child SA not created", "tunnel", t.Cfg.Name, "err", err)
		e.Hooks().ChildFailed(t, err)
	}
}

// established marks an IKE SA authenticated and starts its timers. It returns false when the
// SA turned out to be a duplicate of the tunnel's and is being deleted.
func (e *engine) established(sa *ike.IKESA) bool {
	if v2of(sa).dh != nil {
		crypto.WipeDH(v2of(sa).dh)
	}
	v2of(sa).initReq, v2of(sa).initResp, v2of(sa).dh = nil, nil, nil
	// The IKE SA goes quiet now: its SK ciphers rebuild their state for the next message.
	crypto.ReleaseSK(v2of(sa).in)
	crypto.ReleaseSK(v2of(sa).out)
	rekeying := func(old *ike.IKESA) bool { return v2of(old).rekeying != nil }
	return e.Establish(sa, false, rekeying, "IKE SA established")
}

// handleAuthRequest authenticates an initiator and creates the first Child SA (responder).
func (e *engine) handleAuthRequest(sa *ike.IKESA, m *wire.Message) ([]wire.Payload, func()) {
	idi, auth := m.IDi(), m.Auth()
	fail := func(reason string, args ...any) ([]wire.Payload, func()) {
		e.Counters().AuthFailures++
		e.Config().LogThrottle.Log(e.Log(), slog.LevelError, sa.Remote.Addr(), "auth-failed", "AUTHENTICATION_FAILED: "+reason, append([]any{"peer", sa.Remote}, args...)...)
		return []wire.Payload{&wire.Notify{Type: wire.NotifyAuthenticationFailed}}, func() { e.RemoveIKE(sa, ike.ErrAuthFailed) }
	}
	if idi == nil || auth == nil {
		return fail("IKE_AUTH request without IDi or AUTH")
	}
	t := e.authTunnel(sa, idi, m.TSi(), m.TSr())
	if t == nil {
		return fail("no tunnel configured for this peer identity", "id", idString(idi.IDType, idi.Data))
	}
	if idr := m.IDr(); idr != nil && !sameID(t.Cfg.LocalID, idr) {
		return fail("peer asks for an identity that is not ours", "tunnel", t.Cfg.Name, "id", idString(idr.IDType, idr.Data))
	}
	sa.Tunnel = t
	want := pskAuth(v2of(sa).prf, t.Cfg.PSK, v2of(sa).initReq, v2of(sa).nr, v2of(sa).keys.SKpi, idi)
	if auth.Method != wire.AuthSharedKey || subtle.ConstantTimeCompare(want, auth.Data) != 1 {
		return fail("the peer's AUTH payload does not verify with our PSK (PSK mismatch?)", "tunnel", t.Cfg.Name)
	}
	e.LeaveHalfOpen(sa)
	if m.Notify(wire.NotifyInitialContact) != nil {
		e.InitialContact(sa)
	}
	idr := idPayload(t.Cfg.LocalID, true)
	ps := []wire.Payload{idr, &wire.Auth{Method: wire.AuthSharedKey, Data: pskAuth(v2of(sa).prf, t.Cfg.PSK, v2of(sa).initResp, v2of(sa).ni, v2of(sa).keys.SKpr, idr)}}
	nr := v2of(sa).nr
	if !e.established(sa) {
		return ps, nil
	}
	child, cps := e.acceptChildRequest(sa, m, nil, v2of(sa).ni, nr, nil)
	ps = append(ps, cps...)
	return ps, func() {
		if child != nil {
			e.Activate(child, nil)
		}
	}
}

func idString(t wire.IDType, d []byte) string {
	switch t {
	case wire.IDFQDN:
		return "fqdn:" + string(d)
	case wire.IDRFC822:
		return "email:" + string(d)
	case wire.IDKeyID:
		return fmt.Sprintf("keyid:%x", d)
	case wire.IDIPv4, wire.IDIPv6:
		if a, ok := netip.AddrFromSlice(d); ok {
			return a.String()
		}
	}
	return fmt.Sprintf("id%d:%x", t, d)
}

// authTunnel finds the tunnel of an initiator's IKE_AUTH: same peer address and identity;
// among several (one IKE SA per tunnel, several subnets to one site), the one whose selectors
// fit the proposed ones. When the initiator's first selector is exactly one of our remote
// subnets (both sides configured the same subnets) the subnet index names it; otherwise, or
// if that tunnel does not fit, the tunnels of that identity are tried in turn. nil: none is
// configured for the identity.
func (e *engine) authTunnel(sa *ike.IKESA, idi *wire.ID, tsi, tsr *wire.TrafficSelectors) *ike.Tunnel {
	id := ike.Identity{Type: ike.IDType(idi.IDType), Data: idi.Data}
	all := e.TunnelsFor(sa.Remote.Addr(), id)
	if len(all) == 0 {
		return nil
	}
	if len(all) == 1 || tsi == nil || tsr == nil || len(tsi.Selectors) == 0 {
		return all[0]
	}
	pi, pr := fromWireTS(tsi.Selectors), fromWireTS(tsr.Selectors)
	fits := func(c *ike.Tunnel) bool {
		return len(ike.Narrow(pi, ike.Selectors(c.Cfg.RemoteTS))) > 0 && len(ike.Narrow(pr, ike.Selectors(c.Cfg.LocalTS))) > 0
	}
	if p, ok := selectorPrefix(pi[0]); ok {
		for _, c := range e.TunnelsForSubnet(sa.Remote.Addr(), id, p) {
			if fits(c) {
				return c
			}
		}
	}
	for _, c := range all {
		if fits(c) {
			return c
		}
	}
	return all[0]
}

// selectorPrefix returns the subnet a selector is exactly (any protocol and port, a range
// of addresses that is one prefix).
func selectorPrefix(s ike.Selector) (netip.Prefix, bool) {
	if s.Proto != 0 || s.StartPort != 0 || s.EndPort != 0xffff || !s.StartAddr.IsValid() || s.StartAddr.BitLen() != s.EndAddr.BitLen() {
		return netip.Prefix{}, false
	}
	for bits := s.StartAddr.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(s.StartAddr, bits)
		if p.Masked().Addr() != s.StartAddr {
			break // StartAddr has host bits below bits+1: no shorter prefix starts at it
		}
		if first, last := ike.PrefixRange(p); first == s.StartAddr && last == s.EndAddr {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
