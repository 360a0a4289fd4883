package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// peerError turns an error notify answering our request into a PeerError.
func peerError(t wire.NotifyType) error {
	var kind error
	switch t {
	case wire.NotifyTemporaryFailure:
		kind = ErrTemporaryFailure
	case wire.NotifyChildSANotFound:
		kind = ErrChildSANotFound
	case wire.NotifyNoProposalChosen:
		kind = ErrNoProposalChosen
	}
	return &PeerError{Notify: t.String(), Kind: kind}
}

// v2CreateChild negotiates a new Child SA for t with CREATE_CHILD_SA.
func (e *Engine) v2CreateChild(sa *IKESA, t *Tunnel, done func(*ChildSA, error)) {
	cp := &childProposal{tunnel: t, spi: e.RandomChildSPI(), localTS: Selectors(t.Cfg.LocalTS), remoteTS: Selectors(t.Cfg.RemoteTS)}
	e.childExchange(sa, cp, 0, done)
}

// v2RekeyChild rekeys c (RFC 7296 2.8, make-before-break).
func (e *Engine) v2RekeyChild(sa *IKESA, c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	c.State = ChildRekeying
	cp := &childProposal{tunnel: c.Tunnel, spi: e.RandomChildSPI(), localTS: c.LocalTS, remoteTS: c.RemoteTS, rekey: c}
	e.childExchange(sa, cp, budget, done)
}

func (e *Engine) childExchange(sa *IKESA, cp *childProposal, budget time.Duration, done func(*ChildSA, error)) {
	t := cp.tunnel
	finish := func(c *ChildSA, err error) {
		if cp.rekey != nil && cp.rekey.State == ChildRekeying {
			cp.rekey.State = ChildInstalled
		}
		if err != nil {
			e.log.Info("CREATE_CHILD_SA failed", "tunnel", t.Cfg.Name, "rekey", cp.rekey != nil, "err", err)
			if cp.rekey != nil && cp.rekey.State == ChildInstalled {
				e.hooks.ChildRekeyFailed(cp.rekey, err)
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
			ps = append(ps, &wire.Notify{Protocol: wire.ProtocolESP, SPI: SPIBytes(cp.rekey.SPIIn), Type: wire.NotifyRekeySA})
		}
		ps = append(ps,
			&wire.SA{Proposals: proposal.ToWire(t.Cfg.ESPProposals, wire.ProtocolESP, SPIBytes(cp.spi))},
			&wire.Nonce{Data: cp.ni})
		if g := pfsGroup(t.Cfg.ESPProposals); g != 0 {
			dh, err := crypto.NewDH(g, e.rand)
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

func (e *Engine) acceptChildResponseCreate(sa *IKESA, cp *childProposal, m *wire.Message) (*ChildSA, error) {
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
		if gir, err = cp.dh.SharedSecret(ke.Data); err != nil {
			return nil, err
		}
	}
	return e.acceptChildResponse(sa, cp, m, &childKeys{ni: cp.ni, nr: nonce.Data, gir: gir})
}

type childKeys struct{ ni, nr, gir []byte }

// acceptChildResponse completes a Child SA we proposed: checks the chosen proposal and the
// narrowed selectors, derives keys, installs and activates it.
func (e *Engine) acceptChildResponse(sa *IKESA, cp *childProposal, m *wire.Message, k *childKeys) (*ChildSA, error) {
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
	if !Acceptable(suite, cp.tunnel.Cfg.ESPProposals) && !Acceptable(suite, withoutDH(cp.tunnel.Cfg.ESPProposals)) {
		return nil, fmt.Errorf("peer chose %v, which we did not offer", suite)
	}
	if !Within(fromWireTS(tsi.Selectors), cp.localTS) || !Within(fromWireTS(tsr.Selectors), cp.remoteTS) {
		return nil, errors.New("peer's traffic selectors are not within ours")
	}
	if k == nil {
		k = &childKeys{ni: v2of(sa).ni, nr: v2of(sa).nr}
	}
	c := &ChildSA{
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
			return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{SPIBytes(cp.spi)}}}
		}, func(*wire.Message) {}, func(err error) { e.IKEFailed(sa, err) })
		return nil, err
	}
	old := cp.rekey
	if old != nil && old.Collision && old.PeerRekey != nil && old.PeerRekey.State != ChildDeleted {
		// Simultaneous rekey (RFC 7296 2.8.1): the SA created with the lowest nonce is redundant
		// and deleted by whoever initiated it.
		p := old.PeerRekey
		if string(LowestNonce(c.NonceI, c.NonceR, p.NonceI, p.NonceR)) == string(LowestNonce(c.NonceI, c.NonceR)) {
			e.log.Info("rekey collision lost: deleting our redundant Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", fmt.Sprintf("0x%08x", c.SPIIn))
			e.Activate(p, old)
			e.DeleteChild(c, true, nil)
			return p, nil
		}
		e.log.Info("rekey collision won", "tunnel", c.Tunnel.Cfg.Name)
		p.Replaces = nil
	}
	e.Activate(c, old)
	if old != nil && old.State != ChildDeleted {
		old.State = ChildRekeyed
		old.RekeyedBy = c
		e.DeleteChild(old, true, nil)
	}
	return c, nil
}

// acceptChildRequest handles the Child SA part of a request (IKE_AUTH or CREATE_CHILD_SA) as
// responder. It installs the new SA's inbound and outbound halves and returns the SA (nil on
// error) and the response payloads. The caller activates the SA after sending the response.
func (e *Engine) acceptChildRequest(sa *IKESA, m *wire.Message, rekeyOf *ChildSA, ni, nr []byte, peerKE *wire.KE) (*ChildSA, []wire.Payload) {
	t := sa.Tunnel
	refuse := func(n wire.NotifyType, why string) (*ChildSA, []wire.Payload) {
		e.log.Info("refusing Child SA", "tunnel", t.Cfg.Name, "peer", sa.Remote, "notify", n, "reason", why)
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
		dh, err := crypto.NewDH(suite.DH, e.rand)
		if err != nil {
			return refuse(wire.NotifyNoProposalChosen, err.Error())
		}
		if gir, err = dh.SharedSecret(peerKE.Data); err != nil {
			return refuse(wire.NotifyInvalidSyntax, "bad KE payload")
		}
		ourKE = &wire.KE{Group: suite.DH, Data: dh.PublicKey()}
	}
	ntsi := narrow(fromWireTS(tsi.Selectors), Selectors(t.Cfg.RemoteTS))
	ntsr := narrow(fromWireTS(tsr.Selectors), Selectors(t.Cfg.LocalTS))
	if len(ntsi) == 0 || len(ntsr) == 0 {
		return refuse(wire.NotifyTSUnacceptable, "traffic selectors do not match local_subnets/remote_subnets")
	}
	c := &ChildSA{
		ID: e.NewID(), Tunnel: t, IKE: sa, SPIIn: e.RandomChildSPI(),
		SPIOut: binary.BigEndian.Uint32(chosen.SPI), Suite: suite,
		LocalTS: ntsr, RemoteTS: ntsi, NonceI: ni, NonceR: nr, Replaces: rekeyOf,
	}
	keys := crypto.DeriveChildKeys(v2of(sa).prf, v2of(sa).keys.SKd, gir, ni, nr, suite)
	clear(gir) // PFS shared secret, no longer needed
	if err := e.InstallChild(c, keys); err != nil {
		if errors.Is(err, ErrSPIInUse) {
			return refuse(wire.NotifyNoProposalChosen, err.Error())
		}
		return refuse(wire.NotifyTemporaryFailure, err.Error())
	}
	chosen.SPI = SPIBytes(c.SPIIn)
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
func (e *Engine) handleCreateChildRequest(sa *IKESA, m *wire.Message) ([]wire.Payload, func()) {
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
	var old *ChildSA
	if n := m.Notify(wire.NotifyRekeySA); n != nil {
		spi := notifySPI(n)
		if len(n.SPI) == 4 {
			spi = binary.BigEndian.Uint32(n.SPI)
		}
		old = e.outSPIs[outKey{sa.Remote.Addr(), spi}]
		if old == nil || old.IKE != sa {
			e.log.Info("peer rekeys a Child SA we do not have: CHILD_SA_NOT_FOUND", "tunnel", sa.TunnelName(), "spi", fmt.Sprintf("0x%08x", spi))
			return []wire.Payload{&wire.Notify{Protocol: wire.ProtocolESP, SPI: SPIBytes(spi), Type: wire.NotifyChildSANotFound}}, nil
		}
		if old.State == ChildRekeyed || old.State == ChildDeleting || old.State == ChildDeleted {
			return []wire.Payload{&wire.Notify{Type: wire.NotifyTemporaryFailure}}, nil
		}
	}
	nr := e.Nonce()
	c, ps := e.acceptChildRequest(sa, m, old, append([]byte(nil), nonce.Data...), nr, m.KE())
	if c == nil {
		return ps, nil
	}
	if old != nil && old.State == ChildRekeying {
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
func (e *Engine) childUpPassive(c, old *ChildSA) {
	c.State = ChildInstalled
	c.Created = time.Now()
	c.Tunnel.Child = c
	time.AfterFunc(5*time.Second, func() {
		e.Do(func() {
			if c.State == ChildInstalled && !c.outActive && c.Replaces != nil {
				e.switchOutbound(c)
			}
		})
	})
	e.scheduleChildRekey(c)
	e.hooks.ChildUp(c, old)
}
