package v1

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// Quick Mode (RFC 2409 section 5.5), protected by the ISAKMP SA:
//
//	1  I->R  HASH(1), SA, Ni [, KE] [, IDci, IDcr]
//	2  R->I  HASH(2), SA, Nr [, KE] [, IDci, IDcr]
//	3  I->R  HASH(3)
//
// The initiator installs and activates the new IPsec SA pair when message 2 arrives (after
// sending message 3); the responder installs it when it sends message 2, so that the
// initiator's first packets are accepted, and lets traffic use it once message 3 arrives. A
// rekey is a new Quick Mode for the same selectors: the responder recognises it by them, and
// the initiator deletes the old SA with an Informational Delete once the new one is active.
// IKEv1 has no narrowing: the responder accepts client IDs that equal or lie within its own
// subnets and echoes them.

// qmForget is how long a completed Quick Mode is remembered, to answer a repeated message 2.
const qmForget = 30 * time.Second

// v1PeerError turns the peer's error notification about one of our exchanges into a
// ike.PeerError.
func v1PeerError(t v1wire.NotifyType) error {
	var kind error
	if t == v1wire.NotifyNoProposalChosen {
		kind = ike.ErrNoProposalChosen
	}
	return &ike.PeerError{Notify: t.String(), Kind: kind}
}

// prefixOf returns the prefix a selector range is, if it is one.
func prefixOf(s, e netip.Addr) (netip.Prefix, bool) {
	for bits := 0; bits <= s.BitLen(); bits++ {
		p := netip.PrefixFrom(s, bits)
		if p.Masked().Addr() != s {
			continue
		}
		if ps, pe := ike.PrefixRange(p); ps == s && pe == e {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// v1IDFromTS builds a Quick Mode client ID from a selector. A port range other than one port
// or all ports cannot be expressed in IKEv1.
func v1IDFromTS(ts ike.Selector) (*v1wire.ID, error) {
	var id *v1wire.ID
	var err error
	if p, ok := prefixOf(ts.StartAddr, ts.EndAddr); ok {
		if p.IsSingleIP() {
			id = v1wire.NewAddrID(p.Addr())
		} else {
			id, err = v1wire.NewSubnetID(p)
		}
	} else {
		id, err = v1wire.NewRangeID(ts.StartAddr, ts.EndAddr)
	}
	if err != nil {
		return nil, err
	}
	id.Protocol = ts.Proto
	switch {
	case ts.StartPort == 0 && ts.EndPort == 0xffff:
	case ts.StartPort == ts.EndPort:
		id.Port = ts.StartPort
	default:
		return nil, fmt.Errorf("port range %d-%d cannot be sent in an IKEv1 ID", ts.StartPort, ts.EndPort)
	}
	return id, nil
}

// v1TSFromID reads a Quick Mode client ID as a selector.
func v1TSFromID(id *v1wire.ID) (ike.Selector, error) {
	from, to, err := id.Range()
	if err != nil {
		return ike.Selector{}, err
	}
	ts := ike.Selector{Proto: id.Protocol, StartPort: 0, EndPort: 0xffff, StartAddr: from, EndAddr: to}
	if id.Port != 0 {
		ts.StartPort, ts.EndPort = id.Port, id.Port
	}
	return ts, nil
}

func hostTS(a netip.Addr) []ike.Selector {
	return ike.Selectors([]netip.Prefix{netip.PrefixFrom(a, a.BitLen())})
}

// v1ChildKeys derives both directions of an IPsec SA pair (RFC 2409 5.5): each SA is keyed with
// the SPI its receiver chose. installChild takes the "I" keys as outbound for an SA we
// initiated and as inbound otherwise.
func v1ChildKeys(sa *ike.IKESA, c *ike.ChildSA, gqm, ni, nr []byte) crypto.ChildKeys {
	el := c.Suite.EncrKeyLen()
	n := el + c.Suite.IntegKeyLen()
	in := v1of(sa).keys.KeyMat(gqm, uint8(v1wire.ProtoESP), c.SPIIn, ni, nr, n)
	out := v1of(sa).keys.KeyMat(gqm, uint8(v1wire.ProtoESP), c.SPIOut, ni, nr, n)
	split := func(k []byte) ([]byte, []byte) {
		if len(k) == el {
			return k, nil
		}
		return k[:el:el], k[el:]
	}
	inE, inA := split(in)
	outE, outA := split(out)
	if c.Initiator {
		return crypto.ChildKeys{EncrI: outE, IntegI: outA, EncrR: inE, IntegR: inA}
	}
	return crypto.ChildKeys{EncrI: inE, IntegI: inA, EncrR: outE, IntegR: outA}
}

// v1EncapMode is the encapsulation mode we propose: UDP-Encapsulated-ike.Tunnel once NAT-T applies.
func v1EncapMode(sa *ike.IKESA) uint16 {
	if sa.Floated || sa.NATLocal || sa.NATRemote {
		return v1wire.EncapUDPTunnel
	}
	return v1wire.EncapTunnel
}

// v1QuickStart begins a Quick Mode on sa for tunnel t: a new Child SA, or a rekey of rekey.
func (e *engine) v1QuickStart(sa *ike.IKESA, t *ike.Tunnel, rekey *ike.ChildSA, budget time.Duration, done func(*ike.ChildSA, error)) {
	q := &v1Quick{tunnel: t, spiIn: e.RandomChildSPI(), rekey: rekey, done: done}
	if rekey != nil {
		q.localTS, q.remoteTS = rekey.LocalTS, rekey.RemoteTS
	} else if len(t.Cfg.LocalTS) > 0 && len(t.Cfg.RemoteTS) > 0 {
		q.localTS = ike.Selectors(t.Cfg.LocalTS[:1])
		q.remoteTS = ike.Selectors(t.Cfg.RemoteTS[:1])
	}
	if len(q.localTS) == 0 || len(q.remoteTS) == 0 {
		e.v1QuickFinish(sa, q, nil, errors.New("tunnel has no subnets"))
		return
	}
	idci, err := v1IDFromTS(q.localTS[0])
	if err != nil {
		e.v1QuickFinish(sa, q, nil, err)
		return
	}
	idcr, err := v1IDFromTS(q.remoteTS[0])
	if err != nil {
		e.v1QuickFinish(sa, q, nil, err)
		return
	}
	pfs := v1PFSGroup(t.Cfg.ESPProposals)
	transforms := v1ESPTransforms(t.Cfg.ESPProposals, pfs, v1EncapMode(sa), t.Cfg.ChildLifetime)
	if len(transforms) == 0 {
		e.v1QuickFinish(sa, q, nil, fmt.Errorf("esp_proposals: %w", errNoV1Proposal))
		return
	}
	mid := e.v1NewMID(sa)
	cbc, err := v1of(sa).keys.ExchangeCipher(v1of(sa).p1, mid)
	if err != nil {
		e.v1QuickFinish(sa, q, nil, err)
		return
	}
	q.ni = e.Nonce()
	rest := []v1wire.Payload{
		&v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoESP, SPI: ike.SPIBytes(q.spiIn), Transforms: transforms}}},
		&v1wire.Nonce{Data: q.ni},
	}
	if pfs != 0 {
		dh, err := e.NewDH(pfs)
		if err != nil {
			e.v1QuickFinish(sa, q, nil, err)
			return
		}
		q.dh = dh
		rest = append(rest, &v1wire.KE{Data: dh.PublicKey()})
	}
	rest = append(rest, idci, idcr)
	hash := v1of(sa).keys.QuickHash1(mid, v1wire.AppendPayloads(nil, rest))
	raw := v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeQuickMode, mid), append([]v1wire.Payload{&v1wire.Hash{Data: hash}}, rest...), cbc)
	x := &v1Exchange{mid: mid, initiator: true, cbc: cbc, qm: q, started: time.Now()}
	v1of(sa).exch[mid] = x
	if rekey != nil {
		rekey.State = ike.ChildRekeying
	}
	e.Log().Debug("IKEv1 Quick Mode started", "tunnel", t.Cfg.Name, "ike", sa.String(), "msgid", mid, "rekey", ike.RekeyOf(rekey))
	x.req = e.v1Send(sa, raw, budget, func(err error) {
		delete(v1of(sa).exch, mid)
		x.finished = true
		e.v1QuickFinish(sa, q, nil, err)
		e.IKEFailed(sa, err)
	})
}

// v1QuickFinish ends a Quick Mode we initiated.
func (e *engine) v1QuickFinish(sa *ike.IKESA, q *v1Quick, c *ike.ChildSA, err error) {
	if old := q.rekey; old != nil && old.State == ike.ChildRekeying {
		old.State = ike.ChildInstalled
	}
	if err != nil {
		e.Log().Info("IKEv1 Quick Mode failed", "tunnel", q.tunnel.Cfg.Name, "rekey", q.rekey != nil, "err", err)
		if old := q.rekey; old != nil && old.State == ike.ChildInstalled {
			if p := old.PeerRekey; old.Collision && p != nil && p.State == ike.ChildInstalled {
				// Our rekey failed, the peer's colliding one did not: it replaces the SA.
				old.Collision, old.PeerRekey = false, nil
				e.v1Replace(p, old)
			} else {
				e.Hooks().ChildRekeyFailed(old, err)
			}
		}
	}
	if q.done != nil {
		q.done(c, err)
	}
}

// v1Quick dispatches a Quick Mode message.
func (e *engine) v1Quick(sa *ike.IKESA, local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	if x := v1of(sa).exch[h.MessageID]; x != nil {
		if x.initiator {
			e.v1QuickResponse(sa, x, msg)
		} else {
			e.v1QuickFinal(sa, x, msg)
		}
		return
	}
	e.v1QuickRequest(sa, local, remote, h, msg)
}

// v1QuickResponse processes message 2 of our Quick Mode.
func (e *engine) v1QuickResponse(sa *ike.IKESA, x *v1Exchange, msg []byte) {
	q := x.qm
	if x.finished {
		if x.lastOut != nil && bytes.Equal(msg, x.lastIn) {
			e.Counters().ResponsesResent++
			e.Send(sa, x.lastOut) // the peer missed message 3
		}
		return
	}
	trial := x.cbc.Clone()
	m, err := v1wire.OpenEncrypted(msg, trial)
	if err != nil || m.Index(v1wire.PayloadHash) != 0 || !hmac.Equal(m.Hash().Data, v1of(sa).keys.QuickHash2(x.mid, q.ni, m.After(0))) {
		e.Counters().Malformed++
		e.Log().Debug("dropping Quick Mode message 2 that does not verify", "ike", sa.String(), "msgid", x.mid)
		return
	}
	x.cbc = trial
	e.v1Stop(sa, x.req)
	x.finished = true
	x.lastIn = bytes.Clone(msg)
	sa.SetLastInbound(time.Now())
	e.Hooks().Exchange(sa, "QUICK_MODE", time.Since(x.started), x.req.retry.Tries)
	mid := x.mid
	x.expire = e.After(qmForget, func() { // until then repeats of message 2 are recognised
		if v1of(sa).exch[mid] == x {
			delete(v1of(sa).exch, mid)
		}
	})

	c, gqm, err := e.v1QuickAccept(sa, q, m)
	if err != nil {
		e.v1SendInfo(sa, []v1wire.Payload{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: ike.SPIBytes(q.spiIn), Type: v1wire.NotifyNoProposalChosen}})
		e.v1QuickFinish(sa, q, nil, err)
		return
	}
	x.lastOut = v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeQuickMode, x.mid),
		[]v1wire.Payload{&v1wire.Hash{Data: v1of(sa).keys.QuickHash3(x.mid, q.ni, c.NonceR)}}, x.cbc)
	e.Send(sa, x.lastOut)
	if err := e.InstallChild(c, v1ChildKeys(sa, c, gqm, c.NonceI, c.NonceR)); err != nil {
		// The peer installs its half with message 3: ask it to remove it again.
		e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDeleteESP(q.spiIn)})
		e.v1QuickFinish(sa, q, nil, err)
		return
	}
	clear(gqm)
	e.v1QuickFinish(sa, q, e.v1ActivateNew(c, q.rekey), nil)
}

// v1QuickAccept checks the responder's message 2 and returns the (not yet installed) Child SA
// and the PFS secret.
func (e *engine) v1QuickAccept(sa *ike.IKESA, q *v1Quick, m *v1wire.Message) (*ike.ChildSA, []byte, error) {
	for _, n := range m.Notifications() {
		if n.Type.IsError() {
			return nil, nil, v1PeerError(n.Type)
		}
	}
	sap, nonce := m.SA(), m.Nonce()
	if sap == nil || !validNonce(nonce) {
		return nil, nil, errors.New("Quick Mode message 2 lacks SA or Nonce")
	}
	if len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 || sap.Proposals[0].Protocol != v1wire.ProtoESP || len(sap.Proposals[0].SPI) != 4 {
		return nil, nil, errors.New("Quick Mode message 2 must carry one ESP proposal with one transform")
	}
	suite, _, err := v1ParseESPTransform(sap.Proposals[0].Transforms[0])
	if err != nil {
		return nil, nil, err
	}
	if !v1ESPAllowed(suite, q.tunnel.Cfg.ESPProposals) {
		return nil, nil, fmt.Errorf("peer chose %v, which we did not offer", suite)
	}
	var gqm []byte
	switch {
	case q.dh != nil:
		ke := m.KE()
		if suite.DH != q.dh.Group() || ke == nil {
			return nil, nil, errors.New("peer did not answer our PFS key exchange")
		}
		gqm, err = q.dh.SharedSecret(ke.Data)
		crypto.WipeDH(q.dh)
		if err != nil {
			return nil, nil, err
		}
	case suite.DH != 0:
		return nil, nil, errors.New("peer chose a PFS group we did not offer")
	}
	tsi, tsr := q.localTS, q.remoteTS
	if ids := m.IDs(); len(ids) >= 2 {
		a, err1 := v1TSFromID(ids[0])
		b, err2 := v1TSFromID(ids[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, err
		}
		tsi, tsr = []ike.Selector{a}, []ike.Selector{b}
		if !ike.Within(tsi, q.localTS) || !ike.Within(tsr, q.remoteTS) {
			return nil, nil, errors.New("peer's client IDs are not within ours")
		}
	}
	c := &ike.ChildSA{
		ID: e.NewID(), Tunnel: q.tunnel, IKE: sa, SPIIn: q.spiIn, SPIOut: binary.BigEndian.Uint32(sap.Proposals[0].SPI),
		Suite: suite, LocalTS: tsi, RemoteTS: tsr, Initiator: true,
		NonceI: q.ni, NonceR: bytes.Clone(m.Body(m.Index(v1wire.PayloadNonce))),
	}
	return c, gqm, nil
}

// v1ActivateNew makes a Child SA we negotiated carry the tunnel's traffic and, for a rekey,
// deletes the old one (with the simultaneous-rekey rule of RFC 7296 2.8.1, which IKEv1 lacks:
// the pair with the lowest nonce is redundant). It returns the SA that ends up active.
func (e *engine) v1ActivateNew(c, old *ike.ChildSA) *ike.ChildSA {
	if old != nil && old.Collision && old.PeerRekey != nil && old.PeerRekey.State != ike.ChildDeleted {
		p := old.PeerRekey
		if string(ike.LowestNonce(c.NonceI, c.NonceR, p.NonceI, p.NonceR)) == string(ike.LowestNonce(c.NonceI, c.NonceR)) {
			e.Log().Info("IKEv1 rekey collision lost: deleting our redundant Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", fmt.Sprintf("0x%08x", c.SPIIn))
			e.Activate(p, old)
			e.DeleteChild(c, true, nil)
			return p
		}
		e.Log().Info("IKEv1 rekey collision won", "tunnel", c.Tunnel.Cfg.Name)
		p.Replaces = nil
	}
	e.Activate(c, old)
	if old != nil && old.State != ike.ChildDeleted {
		old.State = ike.ChildRekeyed
		old.RekeyedBy = c
		e.DeleteChild(old, true, nil)
	}
	return c
}

// v1QuickRequest answers a Quick Mode message 1 (responder).
func (e *engine) v1QuickRequest(sa *ike.IKESA, local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	v := v1of(sa)
	mid := h.MessageID
	if sa.State != ike.IKEEstablished || !v1Ready(sa) || v.seen.has(mid) {
		if v.seen.has(mid) {
			e.Counters().Rejected++ // a replay: this message ID was used on this ISAKMP SA before
		}
		e.Log().Debug("ignoring Quick Mode message", "ike", sa.String(), "state", sa.State, "msgid", mid)
		return
	}
	cbc, err := v.keys.ExchangeCipher(v.p1, mid)
	if err != nil {
		return
	}
	m, err := v1wire.OpenEncrypted(msg, cbc)
	if err != nil || m.Index(v1wire.PayloadHash) != 0 || !hmac.Equal(m.Hash().Data, v.keys.QuickHash1(mid, m.After(0))) {
		e.Counters().Malformed++
		e.Log().Debug("dropping Quick Mode message 1 that does not verify", "ike", sa.String(), "msgid", mid)
		return
	}
	v.seen.add(mid)
	sa.SetLastInbound(time.Now())
	e.PeerMoved(sa, local, remote)
	t := sa.Tunnel
	var peerSPI []byte
	refuse := func(n v1wire.NotifyType, why string) {
		e.Log().Info("refusing IKEv1 Quick Mode", "tunnel", t.Cfg.Name, "peer", remote, "notify", n, "reason", why)
		e.v1SendInfo(sa, []v1wire.Payload{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: peerSPI, Type: n}})
	}
	sap, nonce := m.SA(), m.Nonce()
	if sap == nil || !validNonce(nonce) {
		refuse(v1wire.NotifyPayloadMalformed, "missing SA or Nonce")
		return
	}
	if len(sap.Proposals) > 0 && len(sap.Proposals[0].SPI) == 4 {
		peerSPI = bytes.Clone(sap.Proposals[0].SPI)
	}
	var tsi, tsr []ike.Selector // the initiator's and the responder's client
	switch ids := m.IDs(); len(ids) {
	case 0:
		tsi, tsr = hostTS(sa.Remote.Addr()), hostTS(sa.Local.Addr())
	case 2:
		a, err1 := v1TSFromID(ids[0])
		b, err2 := v1TSFromID(ids[1])
		if err := errors.Join(err1, err2); err != nil {
			refuse(v1wire.NotifyInvalidIDInformation, err.Error())
			return
		}
		tsi, tsr = []ike.Selector{a}, []ike.Selector{b}
	default:
		refuse(v1wire.NotifyInvalidIDInformation, "Quick Mode needs no or two client IDs")
		return
	}
	if !ike.Within(tsi, ike.Selectors(t.Cfg.RemoteTS)) || !ike.Within(tsr, ike.Selectors(t.Cfg.LocalTS)) {
		refuse(v1wire.NotifyInvalidIDInformation, fmt.Sprintf("client IDs %v === %v are not within remote_subnets/local_subnets (IKEv1 has no narrowing: the peer's subnets must equal or lie within ours)", ike.SelectorStrings(tsi), ike.SelectorStrings(tsr)))
		return
	}
	suite, _, prop, err := v1SelectESP(sap, t.Cfg.ESPProposals)
	if err != nil {
		refuse(v1wire.NotifyNoProposalChosen, "no acceptable ESP proposal")
		return
	}
	peerSPI = prop.SPI
	var gqm []byte
	var ourKE *v1wire.KE
	if suite.DH != 0 {
		ke := m.KE()
		if ke == nil {
			refuse(v1wire.NotifyInvalidKeyInformation, "PFS transform without KE payload")
			return
		}
		dh, err := e.NewDH(suite.DH)
		if err != nil {
			refuse(v1wire.NotifyNoProposalChosen, err.Error())
			return
		}
		defer crypto.WipeDH(dh)
		if gqm, err = dh.SharedSecret(ke.Data); err != nil {
			refuse(v1wire.NotifyInvalidKeyInformation, "bad KE payload")
			return
		}
		ourKE = &v1wire.KE{Data: dh.PublicKey()}
	}
	ni := bytes.Clone(m.Body(m.Index(v1wire.PayloadNonce)))
	nr := e.Nonce()
	old := e.v1FindReplaced(sa, t, tsr, tsi)
	c := &ike.ChildSA{
		ID: e.NewID(), Tunnel: t, IKE: sa, SPIIn: e.RandomChildSPI(), SPIOut: binary.BigEndian.Uint32(prop.SPI),
		Suite: suite, LocalTS: tsr, RemoteTS: tsi, NonceI: ni, NonceR: nr, Replaces: old, Unconfirmed: true,
	}
	err = e.InstallChild(c, v1ChildKeys(sa, c, gqm, ni, nr))
	clear(gqm)
	if err != nil {
		refuse(v1wire.NotifyNoProposalChosen, err.Error())
		return
	}
	prop.SPI = ike.SPIBytes(c.SPIIn)
	rest := []v1wire.Payload{&v1wire.SA{Proposals: []v1wire.Proposal{prop}}, &v1wire.Nonce{Data: nr}}
	if ourKE != nil {
		rest = append(rest, ourKE)
	}
	for _, id := range m.IDs() {
		rest = append(rest, id)
	}
	hash := v.keys.QuickHash2(mid, ni, v1wire.AppendPayloads(nil, rest))
	raw := v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeQuickMode, mid), append([]v1wire.Payload{&v1wire.Hash{Data: hash}}, rest...), cbc)
	x := &v1Exchange{mid: mid, cbc: cbc, lastIn: bytes.Clone(msg), lastOut: raw, started: time.Now(),
		qm: &v1Quick{tunnel: t, child: c, replaces: old, ni: ni, nr: nr}}
	if old != nil && old.State == ike.ChildRekeying {
		// Both sides rekey the same SA: our own Quick Mode decides which new SA stays
		// (v1ActivateNew), whichever completes first.
		old.Collision, old.PeerRekey = true, c
		x.qm.collided = true
	}
	v.exch[mid] = x
	x.req = e.v1Send(sa, raw, 0, func(error) {
		delete(v.exch, mid)
		x.finished = true
		e.Log().Info("IKEv1 Quick Mode message 3 never arrived: removing the Child SA", "tunnel", t.Cfg.Name, "spi_in", fmt.Sprintf("0x%08x", c.SPIIn))
		if c.State != ike.ChildDeleted && !c.OutboundActive() {
			e.RemoveChild(c, ike.ErrTimeout)
		}
	})
}

// v1Replace makes c, created by the peer's rekey of old, carry the traffic. The initiator
// installs both halves before it sends message 3, so outbound traffic moves at once. IKEv1
// peers need not delete the old SA (strongSwan lets it expire), so we do, after a grace period
// for packets in flight.
func (e *engine) v1Replace(c, old *ike.ChildSA) {
	c.Replaces = nil
	e.Activate(c, old)
	if old.State != ike.ChildInstalled {
		return
	}
	old.State = ike.ChildRekeyed
	old.RekeyedBy = c
	old.StopRekey()
	e.After(ike.RekeyGrace, func() {
		if old.State == ike.ChildRekeyed {
			e.DeleteChild(old, true, nil)
		}
	})
}

// v1FindReplaced finds the Child SA a peer's Quick Mode for the same selectors rekeys.
func (e *engine) v1FindReplaced(sa *ike.IKESA, t *ike.Tunnel, local, remote []ike.Selector) *ike.ChildSA {
	var best *ike.ChildSA
	for _, s := range []*ike.IKESA{sa, t.IKE} {
		if s == nil {
			continue
		}
		for _, c := range s.Children() {
			if c.Tunnel == t && (c.State == ike.ChildInstalled || c.State == ike.ChildRekeying) &&
				slices.Equal(c.LocalTS, local) && slices.Equal(c.RemoteTS, remote) &&
				(best == nil || c.Created.After(best.Created)) {
				best = c
			}
		}
	}
	return best
}

// v1QuickFinal processes message 3 of a Quick Mode we answered.
func (e *engine) v1QuickFinal(sa *ike.IKESA, x *v1Exchange, msg []byte) {
	q := x.qm
	if x.finished {
		return
	}
	if bytes.Equal(msg, x.lastIn) {
		e.Counters().ResponsesResent++
		e.Send(sa, x.lastOut)
		return
	}
	trial := x.cbc.Clone()
	m, err := v1wire.OpenEncrypted(msg, trial)
	if err != nil || m.Index(v1wire.PayloadHash) != 0 || !hmac.Equal(m.Hash().Data, v1of(sa).keys.QuickHash3(x.mid, q.ni, q.nr)) {
		e.Counters().Malformed++
		e.Log().Debug("dropping Quick Mode message 3 that does not verify", "ike", sa.String(), "msgid", x.mid)
		return
	}
	x.cbc = trial
	e.v1Stop(sa, x.req)
	x.finished = true
	delete(v1of(sa).exch, x.mid)
	sa.SetLastInbound(time.Now())
	c, old := q.child, q.replaces
	if c.State == ike.ChildDeleted {
		return
	}
	c.Unconfirmed = false
	switch {
	case q.collided:
		// A simultaneous rekey: v1ActivateNew (or v1QuickFinish) has decided or will decide.
	case old != nil && old.State != ike.ChildDeleted:
		e.v1Replace(c, old)
	default:
		c.Replaces = nil
		e.Activate(c, nil)
	}
}
