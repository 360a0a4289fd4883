package v1

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev1/v1crypto"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// Main Mode (RFC 2409 section 5, pre-shared keys), with NAT traversal (RFC 3947) and the DPD
// vendor ID (RFC 3706):
//
//	1  I->R  SA, VID(RFC 3947), VID(DPD)
//	2  R->I  SA, VID(RFC 3947), VID(DPD)
//	3  I->R  KE, Ni, NAT-D, NAT-D
//	4  R->I  KE, Nr, NAT-D, NAT-D
//	5  I->R  {IDii, HASH_I [, N(INITIAL-CONTACT)]}     (from port 4500 if NAT-T applies)
//	6  R->I  {IDir, HASH_R}
//
// The initiator retransmits its messages; the responder answers a repeated request with its
// last message. The responder picks the tunnel (and so the PSK) by the peer's address, since
// the identity only arrives encrypted with the PSK-derived key, and checks IDii against the
// tunnel's remote_id in message 5.

// errReplacedV1 is the reason an ISAKMP SA is dropped when the peer has set up a new one for
// the same tunnel (IKEv1 has no IKE SA rekey; strongSwan re-authenticates instead).
var errReplacedV1 = errors.New("replaced by a new ISAKMP SA")

// v1VendorIDs are the vendor IDs we announce: NAT-T (if natt) and DPD.
func v1VendorIDs(natt bool) []v1wire.Payload {
	var ps []v1wire.Payload
	if natt {
		ps = append(ps, &v1wire.VendorID{Data: v1wire.VendorIDNATTRFC3947})
	}
	return append(ps, &v1wire.VendorID{Data: v1wire.VendorIDDPD})
}

// v1Initiate starts Main Mode for t. rekeyOf is the ISAKMP SA it replaces (our IKE rekey), or
// nil for a new tunnel; only then is the new SA the tunnel's at once.
func (e *engine) v1Initiate(t *ike.Tunnel, rekeyOf *ike.IKESA) *ike.IKESA {
	transforms := v1IKETransforms(t.Cfg.IKEProposals, t.Cfg.IKELifetime)
	if len(transforms) == 0 {
		e.Log().Error("cannot initiate IKEv1: no ike_proposals usable with IKEv1 (aes-cbc, sha2, DH 14/19/20/31)", "tunnel", t.Cfg.Name)
		return nil
	}
	sa := e.NewIKESA(1, t, true, t.Cfg.Local, t.Cfg.Remote)
	sa.SPIi, sa.State = e.RandomSPI(), ike.IKEInitSent
	sa.SetProto(newV1SA(e, sa))
	v1of(sa).rekeyOf = rekeyOf
	e.AddIKE(sa)
	if rekeyOf == nil {
		t.IKE = sa
	}
	sai := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP, Transforms: transforms}}}
	v1of(sa).saiB = v1wire.AppendBody(nil, sai)
	m := &v1wire.Message{Header: v1Header(sa, v1wire.ExchangeMainMode, 0), Payloads: append([]v1wire.Payload{sai}, v1VendorIDs(true)...)}
	v1of(sa).step = mmSentSA
	e.Log().Info("initiating IKEv1 Main Mode", "tunnel", t.Cfg.Name, "peer", sa.Remote, "ike", sa.String(), "rekey", rekeyOf != nil)
	v1of(sa).mmReq = e.v1Send(sa, m.Append(nil), 0, func(err error) { e.IKEFailed(sa, err) })
	return sa
}

// v1NATD builds our two NAT-D payloads: the peer's address as we send to it, then ours. With
// force, ours is made not to match, so that both sides use UDP encapsulation.
func v1NATD(sa *ike.IKESA, local, remote netip.AddrPort, force bool) []v1wire.Payload {
	h := v1of(sa).hash
	src := v1crypto.NATDHash(h, sa.SPIi, sa.SPIr, local)
	if force {
		src = v1crypto.NATDHash(h, ^sa.SPIi, sa.SPIr, local)
	}
	return []v1wire.Payload{&v1wire.NATD{Hash: v1crypto.NATDHash(h, sa.SPIi, sa.SPIr, remote)}, &v1wire.NATD{Hash: src}}
}

// v1CheckNATD evaluates the peer's NAT-D payloads (RFC 3947 3.2): the first names our address
// as the peer sees it, the others the peer's own.
func v1CheckNATD(sa *ike.IKESA, m *v1wire.Message, local, remote netip.AddrPort) {
	ds := m.NATDs()
	if len(ds) < 2 {
		return
	}
	h := v1of(sa).hash
	if !bytes.Equal(ds[0].Hash, v1crypto.NATDHash(h, sa.SPIi, sa.SPIr, local)) {
		sa.NATLocal = true
	}
	want := v1crypto.NATDHash(h, sa.SPIi, sa.SPIr, remote)
	for _, d := range ds[1:] {
		if bytes.Equal(d.Hash, want) {
			return
		}
	}
	sa.NATRemote = true
}

// v1DeriveP1 computes the phase 1 keys and CBC state.
func (e *engine) v1DeriveP1(sa *ike.IKESA, gxi, gxr, gxy []byte) error {
	keys, err := v1crypto.DerivePhase1PSK(v1crypto.Phase1Params{
		Hash: v1of(sa).hash, EncKeyLen: v1of(sa).keyLen, PSK: sa.Tunnel.Cfg.PSK,
		Ni: v1of(sa).ni, Nr: v1of(sa).nr, GXi: gxi, GXr: gxr, GXY: gxy, CookieI: sa.SPIi, CookieR: sa.SPIr,
	})
	clear(gxy)
	if err != nil {
		return err
	}
	p1, err := keys.Cipher()
	if err != nil {
		return err
	}
	v1of(sa).keys, v1of(sa).p1 = keys, p1
	return nil
}

func validNonce(n *v1wire.Nonce) bool { return n != nil && len(n.Data) >= 8 && len(n.Data) <= 256 }

// v1MainInitiator processes the responder's Main Mode messages 2, 4 and 6.
func (e *engine) v1MainInitiator(sa *ike.IKESA, local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	v := v1of(sa)
	t := sa.Tunnel
	switch {
	case v.step == mmSentSA && !h.Encrypted():
		m, err := v1wire.ParseMessage(msg)
		if err != nil {
			e.Counters().Malformed++
			return
		}
		sap := m.SA()
		if sap == nil || h.CookieR == 0 {
			return
		}
		if len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
			e.IKEFailed(sa, errors.New("Main Mode message 2 must carry exactly one transform"))
			return
		}
		s, err := v1ParseIKETransform(sap.Proposals[0].Transforms[0])
		if err == nil && !v1IKEAllowed(s, t.Cfg.IKEProposals) {
			err = fmt.Errorf("peer chose %v, which we did not offer", s.suite())
		}
		if err != nil {
			e.IKEFailed(sa, fmt.Errorf("IKEv1 phase 1 proposal: %w", err))
			return
		}
		sa.SPIr = h.CookieR
		sa.Suite = s.suite()
		v.hash, v.keyLen, v.group = s.hash, s.encrBits/8, s.group
		v.natt = m.HasVendorID(v1wire.VendorIDNATTRFC3947)
		v.dpd = m.HasVendorID(v1wire.VendorIDDPD)
		dh, err := e.NewDH(s.group)
		if err != nil {
			e.IKEFailed(sa, err)
			return
		}
		v.dh = dh
		v.ni = e.Nonce()
		ps := []v1wire.Payload{&v1wire.KE{Data: dh.PublicKey()}, &v1wire.Nonce{Data: v.ni}}
		if v.natt {
			ps = append(ps, v1NATD(sa, sa.Local, sa.Remote, t.Cfg.Encap == ike.EncapUDP)...)
		}
		e.v1StopMM(sa)
		v.step = mmSentKE
		raw := (&v1wire.Message{Header: v1Header(sa, v1wire.ExchangeMainMode, 0), Payloads: ps}).Append(nil)
		v.mmReq = e.v1Send(sa, raw, 0, func(err error) { e.IKEFailed(sa, err) })

	case v.step == mmSentKE && !h.Encrypted():
		m, err := v1wire.ParseMessage(msg)
		if err != nil {
			e.Counters().Malformed++
			return
		}
		ke, nonce := m.KE(), m.Nonce()
		if ke == nil || nonce == nil {
			return // a repeated message 2
		}
		if !validNonce(nonce) {
			e.IKEFailed(sa, fmt.Errorf("peer's nonce has a bad length %d", len(nonce.Data)))
			return
		}
		gxy, err := v.dh.SharedSecret(ke.Data)
		if err != nil {
			e.IKEFailed(sa, fmt.Errorf("peer's KE payload: %w", err))
			return
		}
		v.nr = bytes.Clone(nonce.Data)
		if err := e.v1DeriveP1(sa, v.dh.PublicKey(), ke.Data, gxy); err != nil {
			e.IKEFailed(sa, err)
			return
		}
		if v.natt {
			v1CheckNATD(sa, m, local, remote)
			if sa.NATLocal || sa.NATRemote || t.Cfg.Encap == ike.EncapUDP {
				sa.Floated = true
				sa.Local = netip.AddrPortFrom(sa.Local.Addr(), e.Config().NATTPort)
				sa.Remote = netip.AddrPortFrom(sa.Remote.Addr(), e.Config().NATTPort)
			}
		}
		idii := &v1wire.ID{Type: v1wire.IDType(t.Cfg.LocalID.Type), Data: t.Cfg.LocalID.Data}
		ps := []v1wire.Payload{idii, &v1wire.Hash{Data: v.keys.HashI(v.saiB, v1wire.AppendBody(nil, idii))}}
		if v.rekeyOf == nil && !e.OtherIKEWithPeer(sa) {
			// The peer has no other ISAKMP SA with us for these identities (RFC 2407 4.6.3.3).
			ps = append(ps, &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoISAKMP,
				SPI: v1wire.CookieSPI(sa.SPIi, sa.SPIr), Type: v1wire.NotifyInitialContact})
		}
		e.v1StopMM(sa)
		v.step = mmSentAuth
		e.SetIKEState(sa, ike.IKEAuthSent)
		raw := v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeMainMode, 0), ps, v.p1)
		v.mmReq = e.v1Send(sa, raw, 0, func(err error) { e.IKEFailed(sa, err) })

	case v.step == mmSentAuth && h.Encrypted():
		trial := v.p1.Clone()
		m, err := v1wire.OpenEncrypted(msg, trial)
		if err != nil {
			e.Counters().Malformed++
			e.Log().Debug("dropping Main Mode message 6 that does not decrypt", "ike", sa.String(), "err", err)
			return
		}
		i, hp := m.Index(v1wire.PayloadID), m.Hash()
		if i < 0 || hp == nil {
			e.Counters().Malformed++
			return
		}
		if !hmac.Equal(hp.Data, v.keys.HashR(v.saiB, m.Body(i))) {
			e.Counters().AuthFailures++
			e.Log().Error("AUTHENTICATION-FAILED: the peer's HASH_R does not verify with our PSK (PSK mismatch?)", "tunnel", t.Cfg.Name, "peer", sa.Remote)
			e.IKEFailed(sa, fmt.Errorf("%w: peer's HASH_R does not verify", ike.ErrAuthFailed))
			return
		}
		idr := m.Payloads[i].(*v1wire.ID)
		if len(t.Cfg.RemoteID.Data) > 0 && !v1SameID(t.Cfg.RemoteID, idr) {
			e.Counters().AuthFailures++
			e.Log().Error("IKEv1 peer identity does not match remote_id", "tunnel", t.Cfg.Name, "peer", sa.Remote, "got", v1IDString(idr))
			e.IKEFailed(sa, fmt.Errorf("%w: peer identity %s", ike.ErrAuthFailed, v1IDString(idr)))
			return
		}
		v.p1 = trial
		e.v1StopMM(sa)
		v.mmReq = nil
		// The whole Main Mode, three round trips, is one exchange for vigil_ike_exchange_seconds.
		e.Hooks().Exchange(sa, "MAIN_MODE", time.Since(sa.Created), v.mmTries)
		v.step = mmDone
		sa.SetLastInbound(time.Now())
		if sa.DeleteAfterAuth {
			// Deleted while message 5 was in flight: the peer has it, so tell it.
			sa.State, sa.Up = ike.IKEEstablished, time.Now()
			e.v1DeleteIKE(sa)
			return
		}
		e.v1Established(sa)
	}
}

// v1SameID compares a configured identity with an ID payload (protocol and port ignored).
func v1SameID(id ike.Identity, p *v1wire.ID) bool {
	return uint8(p.Type) == uint8(id.Type) && bytes.Equal(p.Data, id.Data)
}

func v1IDString(p *v1wire.ID) string { return p.String() }

// v1MainMode1 answers a Main Mode message 1: a new responder ISAKMP SA.
func (e *engine) v1MainMode1(local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	key := ike.HalfOpenKey{Remote: remote, SPIi: h.CookieI}
	if sa := e.HalfOpen(key); sa != nil {
		if v1of(sa) != nil && bytes.Equal(v1of(sa).mmIn, msg) {
			e.Counters().ResponsesResent++
			e.Dataplane().SendIKE(local, remote, v1of(sa).mmOut)
		}
		return
	}
	m, err := v1wire.ParseMessage(msg)
	if err != nil {
		e.Counters().Malformed++
		e.Log().Debug("malformed Main Mode message 1", "peer", remote, "err", err)
		return
	}
	sap := m.SA()
	if sap == nil {
		return
	}
	if !e.HalfOpenRoom(remote.Addr()) {
		// Main Mode has no stateless cookie exchange: beyond the half-open caps the newest
		// requests are dropped (their initiators retransmit); the exchanges in progress, and
		// those from other sources while the global cap has room, go on.
		return
	}
	var t *ike.Tunnel
	v2 := false
	for _, c := range e.TunnelsTo(remote.Addr()) {
		if c.Cfg.Version == 1 {
			t = c
			break
		}
		v2 = true
	}
	refuse := func(n v1wire.NotifyType) {
		if e.refusals.Allow(time.Now()) {
			e.v1SendPlain(local, remote, h.CookieI, 0, &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoISAKMP, Type: n})
		}
	}
	if t == nil {
		if v2 {
			e.Log().Info("IKEv1 Main Mode from a peer whose tunnel is configured for IKEv2 (set version = 1 to accept it)", "peer", remote)
		} else {
			e.Config().LogThrottle.Log(e.Log(), slog.LevelInfo, remote.Addr(), "no-tunnel", "IKEv1 Main Mode from a peer with no tunnel configured", "peer", remote)
		}
		refuse(v1wire.NotifyNoProposalChosen)
		return
	}
	s, prop, err := v1SelectIKE(sap, t.Cfg.IKEProposals)
	if err != nil {
		e.Log().Info("no acceptable IKEv1 phase 1 proposal: NO-PROPOSAL-CHOSEN", "tunnel", t.Cfg.Name, "peer", remote)
		refuse(v1wire.NotifyNoProposalChosen)
		return
	}
	sa := e.NewIKESA(1, t, false, local, remote)
	sa.SPIi, sa.SPIr, sa.State, sa.Suite = h.CookieI, e.RandomSPI(), ike.IKEHalfOpen, s.suite()
	sa.SetProto(newV1SA(e, sa))
	v := v1of(sa)
	v.saiB = bytes.Clone(m.Body(m.Index(v1wire.PayloadSA)))
	v.hash, v.keyLen, v.group = s.hash, s.encrBits/8, s.group
	v.natt = m.HasVendorID(v1wire.VendorIDNATTRFC3947)
	v.dpd = m.HasVendorID(v1wire.VendorIDDPD)
	resp := &v1wire.Message{Header: v1Header(sa, v1wire.ExchangeMainMode, 0),
		Payloads: append([]v1wire.Payload{&v1wire.SA{Proposals: []v1wire.Proposal{prop}}}, v1VendorIDs(v.natt)...)}
	v.mmIn, v.mmOut = bytes.Clone(msg), resp.Append(nil)
	v.step = mmGotSA
	e.StartHalfOpen(sa, key)
	e.Log().Debug("IKEv1 Main Mode from peer", "tunnel", t.Cfg.Name, "peer", remote, "ike", sa.String(), "proposal", sa.Suite.String())
	e.Dataplane().SendIKE(local, remote, v.mmOut)
}

// v1MainResponder processes Main Mode messages 3 and 5 (and repeats of any request).
func (e *engine) v1MainResponder(sa *ike.IKESA, local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	v := v1of(sa)
	if bytes.Equal(msg, v.mmIn) {
		e.Counters().ResponsesResent++
		e.Dataplane().SendIKE(local, remote, v.mmOut)
		return
	}
	switch {
	case v.step == mmGotSA && !h.Encrypted():
		m, err := v1wire.ParseMessage(msg)
		if err != nil {
			e.Counters().Malformed++
			return
		}
		ke, nonce := m.KE(), m.Nonce()
		if ke == nil || nonce == nil {
			return
		}
		if !validNonce(nonce) {
			e.Log().Info("IKEv1 Main Mode message 3 with a bad nonce", "peer", remote)
			e.RemoveIKE(sa, errors.New("bad nonce"))
			return
		}
		dh, err := e.NewDH(v.group)
		if err != nil {
			e.RemoveIKE(sa, err)
			return
		}
		defer crypto.WipeDH(dh) // a responder needs its value for this message only
		gxy, err := dh.SharedSecret(ke.Data)
		if err != nil {
			e.Log().Info("bad KE payload in Main Mode message 3", "peer", remote, "err", err)
			e.RemoveIKE(sa, err)
			return
		}
		v.ni, v.nr = bytes.Clone(nonce.Data), e.Nonce()
		if err := e.v1DeriveP1(sa, ke.Data, dh.PublicKey(), gxy); err != nil {
			e.RemoveIKE(sa, err)
			return
		}
		ps := []v1wire.Payload{&v1wire.KE{Data: dh.PublicKey()}, &v1wire.Nonce{Data: v.nr}}
		if v.natt {
			v1CheckNATD(sa, m, local, remote)
			ps = append(ps, v1NATD(sa, local, remote, sa.Tunnel.Cfg.Encap == ike.EncapUDP)...)
		}
		v.mmIn, v.mmOut = bytes.Clone(msg), (&v1wire.Message{Header: v1Header(sa, v1wire.ExchangeMainMode, 0), Payloads: ps}).Append(nil)
		v.step = mmGotKE
		e.Dataplane().SendIKE(local, remote, v.mmOut)

	case v.step == mmGotKE && h.Encrypted():
		fail := func(why string, args ...any) {
			e.Counters().AuthFailures++
			e.Config().LogThrottle.Log(e.Log(), slog.LevelError, remote.Addr(), "auth-failed", "AUTHENTICATION-FAILED: "+why, append([]any{"tunnel", sa.TunnelName(), "peer", remote}, args...)...)
			e.v1SendPlain(local, remote, sa.SPIi, sa.SPIr, &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoISAKMP,
				SPI: v1wire.CookieSPI(sa.SPIi, sa.SPIr), Type: v1wire.NotifyAuthenticationFailed})
			e.RemoveIKE(sa, ike.ErrAuthFailed)
		}
		trial := v.p1.Clone()
		m, err := v1wire.OpenEncrypted(msg, trial)
		if err != nil {
			fail("Main Mode message 5 does not decrypt with the key derived from our PSK (PSK mismatch?)")
			return
		}
		i, hp := m.Index(v1wire.PayloadID), m.Hash()
		if i < 0 || hp == nil {
			fail("Main Mode message 5 without ID or HASH")
			return
		}
		if !hmac.Equal(hp.Data, v.keys.HashI(v.saiB, m.Body(i))) {
			fail("the peer's HASH_I does not verify with our PSK (PSK mismatch?)")
			return
		}
		idii := m.Payloads[i].(*v1wire.ID)
		v.p1 = trial
		t := e.v1TunnelForID(sa, idii)
		if t == nil {
			e.Counters().AuthFailures++
			e.Config().LogThrottle.Log(e.Log(), slog.LevelError, remote.Addr(), "auth-failed", "INVALID-ID-INFORMATION: the peer's identity matches the remote_id of no IKEv1 tunnel to this address", "peer", remote, "id", v1IDString(idii), "tunnel", sa.TunnelName())
			sa.Local, sa.Remote = local, remote
			v.step = mmDone
			e.v1SendInfo(sa, []v1wire.Payload{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoISAKMP,
				SPI: v1wire.CookieSPI(sa.SPIi, sa.SPIr), Type: v1wire.NotifyInvalidIDInformation}})
			e.RemoveIKE(sa, fmt.Errorf("%w: peer identity %s", ike.ErrAuthFailed, v1IDString(idii)))
			return
		}
		sa.Tunnel = t
		sa.Local, sa.Remote = local, remote
		if local.Port() == e.Config().NATTPort {
			sa.Floated = true
		}
		v.icSeen = m.Notification(v1wire.NotifyInitialContact) != nil
		idir := &v1wire.ID{Type: v1wire.IDType(t.Cfg.LocalID.Type), Data: t.Cfg.LocalID.Data}
		ps := []v1wire.Payload{idir, &v1wire.Hash{Data: v.keys.HashR(v.saiB, v1wire.AppendBody(nil, idir))}}
		v.mmIn = bytes.Clone(msg)
		v.mmOut = v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeMainMode, 0), ps, v.p1)
		v.step = mmDone
		e.LeaveHalfOpen(sa)
		sa.SetLastInbound(time.Now())
		e.Dataplane().SendIKE(local, remote, v.mmOut)
		if v.icSeen {
			e.InitialContact(sa)
		}
		e.v1Established(sa)
	}
}

// v1TunnelForID finds the tunnel of a responder ISAKMP SA by the peer's identity: one to the
// same address using the same PSK (which the keys already depend on), preferring the tunnel
// chosen by address.
func (e *engine) v1TunnelForID(sa *ike.IKESA, id *v1wire.ID) *ike.Tunnel {
	ok := func(t *ike.Tunnel) bool {
		return t.Cfg.Version == 1 && !t.Removed() && hmac.Equal(t.Cfg.PSK, sa.Tunnel.Cfg.PSK) &&
			(len(t.Cfg.RemoteID.Data) == 0 || v1SameID(t.Cfg.RemoteID, id))
	}
	if ok(sa.Tunnel) {
		return sa.Tunnel
	}
	for _, t := range e.TunnelsFor(sa.Remote.Addr(), ike.Identity{Type: ike.IDType(id.Type), Data: id.Data}) {
		if ok(t) {
			return t
		}
	}
	// A tunnel without a remote identity accepts any (tests configure such tunnels; the
	// configuration always sets one, and then nothing is walked here).
	for _, t := range e.TunnelsToAnyID(sa.Remote.Addr()) {
		if ok(t) {
			return t
		}
	}
	return nil
}

// v1Established completes Main Mode. An ISAKMP SA that replaces an older one of the tunnel
// (our IKE rekey, or the peer re-authenticating) takes over its Child SAs. When both sides
// initiated at once, the same rules as for IKEv2 keep one SA: ours yields if it was still
// before message 5, and of two established ones both sides keep the higher CKY-I.
func (e *engine) v1Established(sa *ike.IKESA) {
	v := v1of(sa)
	e.SetIKEState(sa, ike.IKEEstablished)
	sa.Up = time.Now()
	sa.SetLastInbound(sa.Up)
	if v.dh != nil {
		crypto.WipeDH(v.dh)
	}
	v.dh = nil
	t := sa.Tunnel
	old := v.rekeyOf
	if old == nil && !sa.Initiator && !v.icSeen {
		// The peer set up a new ISAKMP SA while ours was established before it began:
		// strongSwan's IKEv1 "rekey" is a new Main Mode whose SA adopts the children (and it
		// forgets the old SA silently).
		if o := t.IKE; o != nil && o != sa && o.Version == 1 && o.State == ike.IKEEstablished && o.RekeyedBy == nil && !o.Up.After(sa.Created) {
			old = o
		}
	}
	if old != nil && old.State == ike.IKEEstablished && old.RekeyedBy == nil {
		e.Log().Info("IKEv1 ISAKMP SA established, replacing the old one", "tunnel", t.Cfg.Name, "peer", sa.Remote, "ike", sa.String(), "old", old.String(), "initiator", sa.Initiator, "algorithms", sa.Suite.String())
		e.MoveChildren(old, sa)
		t.Since = sa.Up
		e.ScheduleKeepalive(sa)
		if v.rekeyOf != nil {
			// Our rekey: the old SA is deleted, but not at once. strongSwan moves its IPsec
			// SAs to an ISAKMP SA it did not initiate in a job of its own, after the Main Mode;
			// a Delete of the old SA that arrives before that job ran takes them down with it.
			// Until then the old SA stays as it is, rekeyed (not used for new exchanges, its
			// timers stopped), answering what the peer still sends on it.
			v1of(old).rekeying = nil
			e.After(v1DeleteRekeyedDelay, func() { e.DeleteIKE(old, true) })
		} else {
			e.RemoveIKE(old, errReplacedV1)
		}
		return
	}
	if !e.Establish(sa, true, func(*ike.IKESA) bool { return false }, "IKEv1 ISAKMP SA established", "dpd", v.dpd) {
		return
	}
	if sa.Initiator && v.rekeyOf == nil && t.Child == nil {
		// The first Child SA (a rekey, or a duplicate that took over the children, has them).
		e.v1QuickStart(sa, t, nil, 0, func(c *ike.ChildSA, err error) {
			if err != nil && sa.State != ike.IKEDead {
				e.Log().Warn("first Child SA not created", "tunnel", t.Cfg.Name, "err", err)
				e.Hooks().ChildFailed(t, err)
			}
		})
	}
}

// v1DeleteRekeyedDelay is how long an ISAKMP SA we replaced (our rekey) lives on before we
// delete it (see v1Established).
const v1DeleteRekeyedDelay = 2 * time.Second

// v1RekeyIKE replaces sa by a new Main Mode to the same peer (IKEv1 cannot rekey an ISAKMP SA
// in place). When it is established the Child SAs move to it and sa is deleted.
func (e *engine) v1RekeyIKE(sa *ike.IKESA) {
	if sa.State != ike.IKEEstablished || v1of(sa).rekeying != nil || sa.RekeyedBy != nil || sa.Tunnel == nil || sa.Tunnel.Removed() {
		return
	}
	e.Log().Info("rekeying IKEv1 ISAKMP SA with a new Main Mode", "tunnel", sa.TunnelName(), "ike", sa.String())
	v1of(sa).rekeying = e.v1Initiate(sa.Tunnel, sa)
}

// v1StopMM stops the retransmission of our last Main Mode message (initiator), counting its
// retransmissions into the Main Mode's.
func (e *engine) v1StopMM(sa *ike.IKESA) {
	v := v1of(sa)
	if r := v.mmReq; r != nil && !r.done {
		v.mmTries += r.retry.Tries
	}
	e.v1Stop(sa, v.mmReq)
}
