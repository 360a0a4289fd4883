package v2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// peerError turns an error notify answering our request into a ike.PeerError.
func peerError(t wire.NotifyType) error {
	var kind error
	switch t {
	case wire.NotifyTemporaryFailure:
		kind = ike.ErrTemporaryFailure
	case wire.NotifyChildSANotFound:
		kind = ike.ErrChildSANotFound
	case wire.NotifyNoProposalChosen:
		kind = ike.ErrNoProposalChosen
	}
	return &ike.PeerError{Notify: t.String(), Kind: kind}
}

// v2CreateChild negotiates a new Child SA for t with CREATE_CHILD_SA.
func (e *engine) v2CreateChild(sa *ike.IKESA, t *ike.Tunnel, done func(*ike.ChildSA, error)) {
	cp := &childProposal{tunnel: t, spi: e.RandomChildSPI(), localTS: ike.Selectors(t.Cfg.LocalTS), remoteTS: ike.Selectors(t.Cfg.RemoteTS)}
	e.childExchange(sa, cp, 0, done)
}

// v2RekeyChild rekeys c (RFC 7296 2.8, make-before-break).
func (e *engine) v2RekeyChild(sa *ike.IKESA, c *ike.ChildSA, budget time.Duration, done func(*ike.ChildSA, error)) {
	c.State = ike.ChildRekeying
	cp := &childProposal{tunnel: c.Tunnel, spi: e.RandomChildSPI(), localTS: c.LocalTS, remoteTS: c.RemoteTS, rekey: c}
	e.childExchange(sa, cp, budget, done)
}

func (e *engine) childExchange(sa *ike.IKESA, cp *childProposal, budget time.Duration, done func(*ike.ChildSA, error)) {
	t := cp.tunnel
	finish := func(c *ike.ChildSA, err error) {
		if cp.rekey != nil && cp.rekey.State == ike.ChildRekeying {
			cp.rekey.State = ike.ChildInstalled
		}
		if err != nil {
			e.Log().Info("CREATE_CHILD_SA failed", "tunnel", t.Cfg.Name, "rekey", cp.rekey != nil, "err", err)
			if cp.rekey != nil && cp.rekey.State == ike.ChildInstalled {
				e.Hooks().ChildRekeyFailed(cp.rekey, err)
			}
		}
		if done != nil {
			done(c, err)
		}
	}
	build := func() []wire.Payload {
		cp.ni = e.Nonce()
		var ps []wire.Payload
		if cp.rekey != nil {
			ps = append(ps, &wire.Notify{Protocol: wire.ProtocolESP, SPI: ike.SPIBytes(cp.rekey.SPIIn), Type: wire.NotifyRekeySA})
		}
		ps = append(ps,
			&wire.SA{Proposals: proposal.ToWire(t.Cfg.ESPProposals, wire.ProtocolESP, ike.SPIBytes(cp.spi))},
			&wire.Nonce{Data: cp.ni})
		if g := pfsGroup(t.Cfg.ESPProposals); g != 0 {
			dh, err := e.NewDH(g)
			if err == nil {
				cp.dh = dh
				ps = append(ps, &wire.KE{Group: g, Data: dh.PublicKey()})
			}
		}
		ps = append(ps, &wire.TrafficSelectors{Selectors: wireTS(cp.localTS)}, &wire.TrafficSelectors{Responder: true, Selectors: wireTS(cp.remoteTS)})
		return ps
	}
	e.enqueue(sa, &request{exch: wire.ExchangeCreateChildSA, build: build, budget: budget, onResp: func(m *wire.Message) {
		if ne := notifyError(m); ne != 0 {
			finish(nil, peerError(ne))
			return
		}
		c, err := e.acceptChildResponseCreate(sa, cp, m)
		finish(c, err)
	}, onFail: func(err error) {
		finish(nil, err)
		e.IKEFailed(sa, err)
	}})
}

func pfsGroup(ps []crypto.Proposal) uint16 {
	if len(ps) > 0 && len(ps[0].DH) > 0 {
		return ps[0].DH[0]
	}
	return 0
}

func (e *engine) acceptChildResponseCreate(sa *ike.IKESA, cp *childProposal, m *wire.Message) (*ike.ChildSA, error) {
	nonce := m.Nonce()
	if nonce == nil || len(nonce.Data) < 16 {
		return nil, errors.New("CREATE_CHILD_SA response without a valid nonce")
	}
	var gir []byte
	if cp.dh != nil {
		ke := m.KE()
		if ke == nil || ke.Group != cp.dh.Group() {
			return nil, errors.New("CREATE_CHILD_SA response lacks the PFS KE payload")
		}
		var err error
		gir, err = cp.dh.SharedSecret(ke.Data)
		crypto.WipeDH(cp.dh)
		if err != nil {
			return nil, err
		}
	}
	return e.acceptChildResponse(sa, cp, m, &childKeys{ni: cp.ni, nr: nonce.Data, gir: gir})
}

type childKeys struct{ ni, nr, gir []byte }

// acceptChildResponse completes a Child SA we proposed: checks the chosen proposal and the
// narrowed selectors, derives keys, installs and activates it.
func (e *engine) acceptChildResponse(sa *ike.IKESA, cp *childProposal, m *wire.Message, k *childKeys) (*ike.ChildSA, error) {
	if ne := notifyError(m); ne != 0 {
		return nil, peerError(ne)
	}
	sap, tsi, tsr := m.SA(), m.TSi(), m.TSr()
	if sap == nil || tsi == nil || tsr == nil || len(sap.Proposals) != 1 || len(sap.Proposals[0].SPI) != 4 {
		return nil, errors.New("child SA response lacks SA, TSi or TSr")
	}
	suite, err := proposal.SuiteFromAccepted(sap.Proposals[0])
	if err != nil {
		return nil, err
	}
	if !ike.Acceptable(suite, cp.tunnel.Cfg.ESPProposals) && !ike.Acceptable(suite, withoutDH(cp.tunnel.Cfg.ESPProposals)) {
		return nil, fmt.Errorf("peer chose %v, which we did not offer", suite)
	}
	if !ike.Within(fromWireTS(tsi.Selectors), cp.localTS) || !ike.Within(fromWireTS(tsr.Selectors), cp.remoteTS) {
		return nil, errors.New("peer's traffic selectors are not within ours")
	}
	if k == nil {
		k = &childKeys{ni: v2of(sa).ni, nr: v2of(sa).nr}
	}
	c := &ike.ChildSA{
		ID: e.NewID(), Tunnel: cp.tunnel, IKE: sa, SPIIn: cp.spi,
		SPIOut: binary.BigEndian.Uint32(sap.Proposals[0].SPI), Suite: suite,
		LocalTS: fromWireTS(tsi.Selectors), RemoteTS: fromWireTS(tsr.Selectors), Initiator: true, NonceI: k.ni, NonceR: k.nr,
	}
	keys := crypto.DeriveChildKeys(v2of(sa).prf, v2of(sa).keys.SKd, k.gir, k.ni, k.nr, suite)
	clear(k.gir) // PFS shared secret, no longer needed
	if err := e.InstallChild(c, keys); err != nil {
		// The peer has installed its half: tell it to remove it (our inbound SPI names the
		// pair), instead of leaving it a Child SA we do not have.
		e.request(sa, wire.ExchangeInformational, func() []wire.Payload {
			return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{ike.SPIBytes(cp.spi)}}}
		}, func(*wire.Message) {}, func(err error) { e.IKEFailed(sa, err) })
		return nil, err
	}
	old := cp.rekey
	if old != nil && old.Collision && old.PeerRekey != nil && old.PeerRekey.State != ike.ChildDeleted {
		// Simultaneous rekey (RFC 7296 2.8.1): the SA created with the lowest nonce is redundant
		// and deleted by whoever initiated it.
		p := old.PeerRekey
		if string(ike.LowestNonce(c.NonceI, c.NonceR, p.NonceI, p.NonceR)) == string(ike.LowestNonce(c.NonceI, c.NonceR)) {
			e.Log().Info("rekey collision lost: deleting our redundant Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", fmt.Sprintf("0x%08x", c.SPIIn))
			e.Activate(p, old)
			e.DeleteChild(c, true, nil)
			return p, nil
		}
		e.Log().Info("rekey collision won", "tunnel", c.Tunnel.Cfg.Name)
		p.Replaces = nil
	}
	e.Activate(c, old)
	if old != nil && old.State != ike.ChildDeleted {
		old.State = ike.ChildRekeyed
		old.RekeyedBy = c
		e.DeleteChild(old, true, nil)
	}
	return c, nil
}

// acceptChildRequest handles the Child SA part of a request (IKE_AUTH or CREATE_CHILD_SA) as
// responder. It installs the new SA's inbound and outbound halves and returns the SA (nil on
// error) and the response payloads. The caller activates the SA after sending the response.
func (e *engine) acceptChildRequest(sa *ike.IKESA, m *wire.Message, rekeyOf *ike.ChildSA, ni, nr []byte, peerKE *wire.KE) (*ike.ChildSA, []wire.Payload) {
	t := sa.Tunnel
	refuse := func(n wire.NotifyType, why string) (*ike.ChildSA, []wire.Payload) {
		e.Log().Info("refusing Child SA", "tunnel", t.Cfg.Name, "peer", sa.Remote, "notify", n, "reason", why)
		return nil, []wire.Payload{&wire.Notify{Type: n}}
	}
	sap, tsi, tsr := m.SA(), m.TSi(), m.TSr()
	if sap == nil || tsi == nil || tsr == nil {
		return refuse(wire.NotifyInvalidSyntax, "missing SA, TSi or TSr")
	}
	if m.Notify(wire.NotifyUseTransportMode) != nil {
		return refuse(wire.NotifyNoProposalChosen, "transport mode is not supported")
	}
	props := t.Cfg.ESPProposals
	if peerKE == nil {
		props = withoutDH(props)
	}
	suite, chosen, err := proposal.Select(sap.Proposals, props, wire.ProtocolESP)
	if err != nil || len(chosen.SPI) != 4 {
		return refuse(wire.NotifyNoProposalChosen, "no acceptable ESP proposal")
	}
	var gir []byte
	var ourKE *wire.KE
	if suite.DH != 0 {
		if peerKE == nil || peerKE.Group != suite.DH {
			var g [2]byte
			binary.BigEndian.PutUint16(g[:], suite.DH)
			return nil, []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidKEPayload, Data: g[:]}}
		}
		dh, err := e.NewDH(suite.DH)
		if err != nil {
			return refuse(wire.NotifyNoProposalChosen, err.Error())
		}
		defer crypto.WipeDH(dh)
		if gir, err = dh.SharedSecret(peerKE.Data); err != nil {
			return refuse(wire.NotifyInvalidSyntax, "bad KE payload")
		}
		ourKE = &wire.KE{Group: suite.DH, Data: dh.PublicKey()}
	}
	ntsi := ike.Narrow(fromWireTS(tsi.Selectors), ike.Selectors(t.Cfg.RemoteTS))
	ntsr := ike.Narrow(fromWireTS(tsr.Selectors), ike.Selectors(t.Cfg.LocalTS))
	if len(ntsi) == 0 || len(ntsr) == 0 {
		return refuse(wire.NotifyTSUnacceptable, "traffic selectors do not match local_subnets/remote_subnets")
	}
	c := &ike.ChildSA{
		ID: e.NewID(), Tunnel: t, IKE: sa, SPIIn: e.RandomChildSPI(),
		SPIOut: binary.BigEndian.Uint32(chosen.SPI), Suite: suite,
		LocalTS: ntsr, RemoteTS: ntsi, NonceI: ni, NonceR: nr, Replaces: rekeyOf,
	}
	keys := crypto.DeriveChildKeys(v2of(sa).prf, v2of(sa).keys.SKd, gir, ni, nr, suite)
	clear(gir) // PFS shared secret, no longer needed
	if err := e.InstallChild(c, keys); err != nil {
		if errors.Is(err, ike.ErrSPIInUse) {
			return refuse(wire.NotifyNoProposalChosen, err.Error())
		}
		return refuse(wire.NotifyTemporaryFailure, err.Error())
	}
	chosen.SPI = ike.SPIBytes(c.SPIIn)
	ps := []wire.Payload{&wire.SA{Proposals: []wire.Proposal{chosen}}}
	if m.Exchange == wire.ExchangeCreateChildSA {
		ps = append(ps, &wire.Nonce{Data: nr})
		if ourKE != nil {
			ps = append(ps, ourKE)
		}
	}
	ps = append(ps, &wire.TrafficSelectors{Selectors: wireTS(ntsi)}, &wire.TrafficSelectors{Responder: true, Selectors: wireTS(ntsr)})
	return c, ps
}

// handleCreateChildRequest answers CREATE_CHILD_SA: a new Child SA, a Child rekey or an IKE
// rekey.
func (e *engine) handleCreateChildRequest(sa *ike.IKESA, m *wire.Message) ([]wire.Payload, func()) {
	nonce := m.Nonce()
	sap := m.SA()
	if nonce == nil || sap == nil || len(nonce.Data) < 16 || len(nonce.Data) > 256 || len(sap.Proposals) == 0 {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSyntax}}, nil
	}
	if sap.Proposals[0].Protocol == wire.ProtocolIKE {
		return e.handleIKERekeyRequest(sa, m)
	}
	if v2of(sa).rekeying != nil || sa.RekeyedBy != nil {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyTemporaryFailure}}, nil
	}
	var old *ike.ChildSA
	if n := m.Notify(wire.NotifyRekeySA); n != nil {
		spi := notifySPI(n)
		if len(n.SPI) == 4 {
			spi = binary.BigEndian.Uint32(n.SPI)
		}
		old = e.ChildByOutSPI(sa.Remote.Addr(), spi)
		if old == nil || old.IKE != sa {
			e.Log().Info("peer rekeys a Child SA we do not have: CHILD_SA_NOT_FOUND", "tunnel", sa.TunnelName(), "spi", fmt.Sprintf("0x%08x", spi))
			return []wire.Payload{&wire.Notify{Protocol: wire.ProtocolESP, SPI: ike.SPIBytes(spi), Type: wire.NotifyChildSANotFound}}, nil
		}
		if old.State == ike.ChildRekeyed || old.State == ike.ChildDeleting || old.State == ike.ChildDeleted {
			return []wire.Payload{&wire.Notify{Type: wire.NotifyTemporaryFailure}}, nil
		}
	}
	nr := e.Nonce()
	c, ps := e.acceptChildRequest(sa, m, old, append([]byte(nil), nonce.Data...), nr, m.KE())
	if c == nil {
		return ps, nil
	}
	if old != nil && old.State == ike.ChildRekeying {
		old.Collision = true
		old.PeerRekey = c
		return ps, nil
	}
	return ps, func() {
		if old == nil {
			e.Activate(c, nil)
			return
		}
		// Responder of a rekey: the new SA takes over outbound traffic when the initiator deletes
		// the old one (or after a grace period if it never does).
		e.childUpPassive(c, old)
	}
}

// childUpPassive reports a Child SA installed as rekey responder; the policy keeps the old
// outbound SA until the peer deletes it.
func (e *engine) childUpPassive(c, old *ike.ChildSA) {
	c.State = ike.ChildInstalled
	c.Created = time.Now()
	c.Tunnel.Child = c
	e.After(5*time.Second, func() {
		if c.State == ike.ChildInstalled && !c.OutboundActive() && c.Replaces != nil {
			e.SwitchOutbound(c)
		}
	})
	e.ScheduleChildRekey(c)
	e.Hooks().ChildUp(c, old)
}

// childProposal is a Child SA being negotiated by us.
type childProposal struct {
	tunnel   *ike.Tunnel
	spi      uint32
	ni       []byte
	dh       crypto.DH
	localTS  []ike.Selector
	remoteTS []ike.Selector
	rekey    *ike.ChildSA // rekeying this SA
}
