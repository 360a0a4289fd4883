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

// ikeRekey is our IKE SA rekey in flight.
type ikeRekey struct {
	spi     uint64
	ni      []byte
	dh      crypto.DH
	peerNew *ike.IKESA // created by the peer's colliding rekey
}

func spi64(s uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s)
	return b[:]
}

// v2RekeyIKE rekeys an IKE SA with CREATE_CHILD_SA (RFC 7296 2.18); its Child SAs move to the
// new one.
func (e *engine) v2RekeyIKE(sa *ike.IKESA) {
	if v2of(sa).rekeying != nil {
		return
	}
	rk := &ikeRekey{spi: e.RandomSPI()}
	v2of(sa).rekeying = rk
	e.Log().Info("rekeying IKE SA", "tunnel", sa.TunnelName(), "ike", sa.String())
	build := func() []wire.Payload {
		rk.ni = e.Nonce()
		dh, err := e.NewDH(sa.Suite.DH)
		if err != nil {
			return nil
		}
		rk.dh = dh
		return []wire.Payload{
			&wire.SA{Proposals: proposal.ToWire(sa.Tunnel.Cfg.IKEProposals, wire.ProtocolIKE, spi64(rk.spi))},
			&wire.Nonce{Data: rk.ni},
			&wire.KE{Group: dh.Group(), Data: dh.PublicKey()},
		}
	}
	e.request(sa, wire.ExchangeCreateChildSA, build, func(m *wire.Message) {
		v2of(sa).rekeying = nil
		n, err := e.ikeRekeyResponse(sa, rk, m)
		if err != nil {
			e.Log().Info("IKE rekey failed", "tunnel", sa.TunnelName(), "err", err)
			if errors.Is(err, ike.ErrTemporaryFailure) && sa.State == ike.IKEEstablished {
				e.After(time.Second+ike.Jitter(time.Second), func() { e.RekeyIKE(sa) })
			}
			return
		}
		if p := rk.peerNew; p != nil && p.State != ike.IKEDead {
			if string(ike.LowestNonce(rk.ni, v2of(n).nr, v2of(p).ni, v2of(p).nr)) == string(ike.LowestNonce(rk.ni, v2of(n).nr)) {
				// Ours is redundant (RFC 7296 2.8.1): delete it; the peer's replaces the old SA
				// and the peer deletes the old one.
				e.Log().Info("IKE rekey collision lost", "tunnel", sa.TunnelName())
				e.registerRekeyed(sa, n, false)
				e.DeleteIKE(n, true)
				e.MoveChildren(sa, p)
				return
			}
		}
		e.registerRekeyed(sa, n, true)
		e.DeleteIKE(sa, true)
	}, func(err error) {
		v2of(sa).rekeying = nil
		e.IKEFailed(sa, err)
	})
}

func (e *engine) ikeRekeyResponse(sa *ike.IKESA, rk *ikeRekey, m *wire.Message) (*ike.IKESA, error) {
	if ne := notifyError(m); ne != 0 {
		return nil, peerError(ne)
	}
	sap, ke, nonce := m.SA(), m.KE(), m.Nonce()
	if sap == nil || ke == nil || nonce == nil || len(sap.Proposals) != 1 || len(sap.Proposals[0].SPI) != 8 || rk.dh == nil {
		return nil, fmt.Errorf("IKE rekey response lacks SA, KE or Nonce")
	}
	suite, err := proposal.SuiteFromAccepted(sap.Proposals[0])
	if err != nil {
		return nil, err
	}
	if !ike.Acceptable(suite, sa.Tunnel.Cfg.IKEProposals) || ke.Group != rk.dh.Group() || suite.DH != ke.Group {
		return nil, fmt.Errorf("peer chose %v, which we did not offer", suite)
	}
	gir, err := rk.dh.SharedSecret(ke.Data)
	crypto.WipeDH(rk.dh)
	if err != nil {
		return nil, err
	}
	n := e.NewIKESA(2, sa.Tunnel, true, sa.Local, sa.Remote)
	n.SPIi, n.SPIr, n.Suite = rk.spi, binary.BigEndian.Uint64(sap.Proposals[0].SPI), suite
	n.Floated, n.NATLocal, n.NATRemote = sa.Floated, sa.NATLocal, sa.NATRemote
	n.SetProto(&v2SA{e: e, sa: n, ni: rk.ni, nr: append([]byte(nil), nonce.Data...)})
	if err := e.deriveRekeyed(sa, n, gir); err != nil {
		return nil, err
	}
	return n, nil
}

func (e *engine) deriveRekeyed(old, n *ike.IKESA, gir []byte) error {
	defer clear(gir) // the DH shared secret is not needed once the keys are derived
	prf, err := crypto.NewPRF(n.Suite.PRF)
	if err != nil {
		return err
	}
	keys, err := crypto.DeriveRekeyedIKEKeys(n.Suite, v2of(old).prf, v2of(old).keys.SKd, gir, v2of(n).ni, v2of(n).nr, n.SPIi, n.SPIr)
	if err != nil {
		return err
	}
	return setKeys(n, prf, keys)
}

// registerRekeyed makes n a live IKE SA; with move it also takes over old's children.
func (e *engine) registerRekeyed(old, n *ike.IKESA, move bool) {
	e.AddIKE(n)
	e.SetIKEState(n, ike.IKEEstablished)
	n.Up = time.Now()
	n.SetLastInbound(n.Up)
	if move {
		e.MoveChildren(old, n)
	}
}

// handleIKERekeyRequest answers the peer's IKE SA rekey (responder).
func (e *engine) handleIKERekeyRequest(sa *ike.IKESA, m *wire.Message) ([]wire.Payload, func()) {
	if sa.RekeyedBy != nil || sa.State != ike.IKEEstablished {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyTemporaryFailure}}, nil
	}
	suite, chosen, err := proposal.Select(m.SA().Proposals, sa.Tunnel.Cfg.IKEProposals, wire.ProtocolIKE)
	if err != nil || len(chosen.SPI) != 8 {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyNoProposalChosen}}, nil
	}
	ke := m.KE()
	if ke == nil || ke.Group != suite.DH {
		var g [2]byte
		binary.BigEndian.PutUint16(g[:], suite.DH)
		return []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidKEPayload, Data: g[:]}}, nil
	}
	dh, err := e.NewDH(suite.DH)
	if err != nil {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyNoProposalChosen}}, nil
	}
	defer crypto.WipeDH(dh)
	gir, err := dh.SharedSecret(ke.Data)
	if err != nil {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSyntax}}, nil
	}
	n := e.NewIKESA(2, sa.Tunnel, false, sa.Local, sa.Remote)
	n.SPIi, n.SPIr, n.Suite = binary.BigEndian.Uint64(chosen.SPI), e.RandomSPI(), suite
	n.Floated, n.NATLocal, n.NATRemote = sa.Floated, sa.NATLocal, sa.NATRemote
	n.SetProto(&v2SA{e: e, sa: n, ni: append([]byte(nil), m.Nonce().Data...), nr: e.Nonce()})
	if err := e.deriveRekeyed(sa, n, gir); err != nil {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyNoProposalChosen}}, nil
	}
	chosen.SPI = spi64(n.SPIr)
	ps := []wire.Payload{&wire.SA{Proposals: []wire.Proposal{chosen}}, &wire.Nonce{Data: v2of(n).nr}, &wire.KE{Group: suite.DH, Data: dh.PublicKey()}}
	return ps, func() {
		if rk := v2of(sa).rekeying; rk != nil {
			// Collision: decide when our own rekey's answer arrives.
			rk.peerNew = n
			e.registerRekeyed(sa, n, false)
			return
		}
		e.registerRekeyed(sa, n, true)
	}
}
