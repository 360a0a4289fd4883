package v2

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// v2Initiate starts an IKEv2 SA for t: IKE_SA_INIT, then IKE_AUTH with the first Child SA.
func (e *engine) v2Initiate(t *ike.Tunnel) *ike.IKESA {
	if len(t.Cfg.IKEProposals) == 0 || len(t.Cfg.IKEProposals[0].DH) == 0 {
		return nil
	}
	sa := e.NewIKESA(2, t, true, t.Cfg.Local, t.Cfg.Remote)
	sa.SPIi, sa.State = e.RandomSPI(), ike.IKEInitSent
	sa.SetProto(&v2SA{e: e, sa: sa, group: t.Cfg.IKEProposals[0].DH[0], ni: e.Nonce()})
	e.AddIKE(sa)
	t.IKE = sa
	ike.LogInfo(e.Log(), "initiating IKE SA", slog.String("tunnel", t.Cfg.Name), slog.String("peer", sa.Remote.String()), slog.String("ike", sa.String()))
	e.sendInit(sa)
	return sa
}

// sendInit (re)builds and sends our IKE_SA_INIT request.
func (e *engine) sendInit(sa *ike.IKESA) {
	dh, err := e.NewDH(v2of(sa).group)
	if err != nil {
		e.IKEFailed(sa, err)
		return
	}
	if v2of(sa).dh != nil {
		crypto.WipeDH(v2of(sa).dh) // an earlier try's (COOKIE, INVALID_KE_PAYLOAD)
	}
	v2of(sa).dh = dh
	var ps []wire.Payload
	if v2of(sa).cookie != nil {
		ps = append(ps, &wire.Notify{Type: wire.NotifyCookie, Data: v2of(sa).cookie})
	}
	ps = append(ps,
		&wire.SA{Proposals: proposal.ToWire(sa.Tunnel.Cfg.IKEProposals, wire.ProtocolIKE, nil)},
		&wire.KE{Group: v2of(sa).group, Data: dh.PublicKey()},
		&wire.Nonce{Data: v2of(sa).ni},
	)
	ps = append(ps, e.natDetection(sa, sa.Local, sa.Remote, sa.Tunnel.Cfg.Encap == ike.EncapUDP)...)
	m := &wire.Message{Header: header(sa, wire.ExchangeIKESAInit, 0, false), Payloads: ps}
	raw := m.Append(nil)
	v2of(sa).initReq = raw
	if v2of(sa).pending != nil && v2of(sa).pending.timer != nil {
		v2of(sa).pending.timer.Stop()
	}
	v2of(sa).pending = nil
	r := &request{exch: wire.ExchangeIKESAInit, raw: raw, msgID: 0,
		onResp: func(*wire.Message) {}, onFail: func(err error) { e.IKEFailed(sa, err) }}
	v2of(sa).nextMsgID = 1
	e.sendRequest(sa, r)
}

// natHash is the NAT_DETECTION_*_IP value (RFC 7296 2.23): SHA-1 of both SPIs, the address
// and the port. The input is built on the stack (it is hashed four times per IKE SA set up).
func natHash(spii, spir uint64, ap netip.AddrPort) [sha1.Size]byte {
	var b [8 + 8 + 16 + 2]byte
	in := binary.BigEndian.AppendUint64(b[:0], spii)
	in = binary.BigEndian.AppendUint64(in, spir)
	if a := ap.Addr(); a.Is4() {
		a4 := a.As4()
		in = append(in, a4[:]...)
	} else {
		a16 := a.As16()
		in = append(in, a16[:]...)
	}
	in = binary.BigEndian.AppendUint16(in, ap.Port())
	return sha1.Sum(in)
}

// natDetection builds our two NAT detection notifies. With force, the source hash is made not
// to match, so that both sides move to UDP encapsulation (what strongSwan calls forceencaps).
func (e *engine) natDetection(sa *ike.IKESA, local, remote netip.AddrPort, force bool) []wire.Payload {
	spii := sa.SPIi
	if force {
		spii = ^spii
	}
	src, dst := natHash(spii, sa.SPIr, local), natHash(sa.SPIi, sa.SPIr, remote)
	data := make([]byte, 0, 2*sha1.Size) // the two values in one allocation
	data = append(append(data, src[:]...), dst[:]...)
	return []wire.Payload{
		&wire.Notify{Type: wire.NotifyNATDetectionSourceIP, Data: data[:sha1.Size:sha1.Size]},
		&wire.Notify{Type: wire.NotifyNATDetectionDestinationIP, Data: data[sha1.Size:]},
	}
}

// checkNAT evaluates the peer's NAT detection notifies of m. It reports whether the peer
// supports NAT traversal at all.
func checkNAT(sa *ike.IKESA, m *wire.Message, local, remote netip.AddrPort) bool {
	// The hashes cover the SPIs as they appear in the message's header: a request has SPIr 0.
	spir := sa.SPIr
	if !m.IsResponse() {
		spir = 0
	}
	seen := false
	srcMatch := false
	for _, p := range m.Payloads {
		n, ok := p.(*wire.Notify)
		if !ok {
			continue
		}
		switch n.Type {
		case wire.NotifyNATDetectionSourceIP:
			seen = true
			if h := natHash(sa.SPIi, spir, remote); bytes.Equal(n.Data, h[:]) {
				srcMatch = true
			}
		case wire.NotifyNATDetectionDestinationIP:
			seen = true
			if h := natHash(sa.SPIi, spir, local); !bytes.Equal(n.Data, h[:]) {
				sa.NATLocal = true
			}
		}
	}
	if seen && !srcMatch {
		sa.NATRemote = true
	}
	return seen
}

// handleInitResponse processes the answer to our IKE_SA_INIT.
func (e *engine) handleInitResponse(local, remote netip.AddrPort, h wire.Header, msg []byte) {
	sa := e.LookupIKE(h.SPIi)
	if sa == nil || !sa.Initiator || sa.State != ike.IKEInitSent || v2of(sa).pending == nil || h.MessageID != 0 {
		return
	}
	m, err := wire.ParseMessage(msg)
	if err != nil {
		e.Counters().Malformed++
		return
	}
	e.SetCurrent(sa)
	t := sa.Tunnel
	if n := m.Notify(wire.NotifyCookie); n != nil {
		if len(n.Data) < 1 || len(n.Data) > 64 || bytes.Equal(n.Data, v2of(sa).cookie) {
			return
		}
		v2of(sa).cookie = append([]byte(nil), n.Data...)
		e.Log().Debug("peer demands a cookie", "tunnel", t.Cfg.Name)
		e.sendInit(sa)
		return
	}
	if n := m.Notify(wire.NotifyInvalidKEPayload); n != nil && len(n.Data) == 2 {
		g := binary.BigEndian.Uint16(n.Data)
		if g != v2of(sa).group && proposesGroup(t.Cfg.IKEProposals, g) {
			e.Log().Info("peer asks for another DH group", "tunnel", t.Cfg.Name, "group", g)
			v2of(sa).group = g
			e.sendInit(sa)
			return
		}
		e.IKEFailed(sa, fmt.Errorf("peer wants DH group %d, which we do not propose", g))
		return
	}
	if ne := notifyError(m); ne != 0 {
		e.IKEFailed(sa, fmt.Errorf("peer answered IKE_SA_INIT with %v", ne))
		return
	}
	sap, ke, nonce := m.SA(), m.KE(), m.Nonce()
	if sap == nil || ke == nil || nonce == nil || len(sap.Proposals) != 1 || h.SPIr == 0 {
		e.IKEFailed(sa, fmt.Errorf("IKE_SA_INIT response lacks SA, KE or Nonce"))
		return
	}
	suite, err := proposal.SuiteFromAccepted(sap.Proposals[0])
	if err == nil && !ike.Acceptable(suite, t.Cfg.IKEProposals) {
		err = fmt.Errorf("peer chose %v, which we did not offer", suite)
	}
	if err == nil && (ke.Group != suite.DH || ke.Group != v2of(sa).group) {
		err = fmt.Errorf("peer's KE group %d does not match", ke.Group)
	}
	if err == nil && (len(nonce.Data) < 16 || len(nonce.Data) > 256) {
		err = fmt.Errorf("peer's nonce has a bad length %d", len(nonce.Data))
	}
	var gir []byte
	if err == nil {
		gir, err = v2of(sa).dh.SharedSecret(ke.Data)
	}
	if err != nil {
		e.IKEFailed(sa, err)
		return
	}
	v2of(sa).pending.timer.Stop()
	v2of(sa).pending = nil
	sa.SPIr = h.SPIr
	sa.Suite = suite
	v2of(sa).nr = append([]byte(nil), nonce.Data...)
	v2of(sa).initResp = append([]byte(nil), msg...)
	if err := e.deriveIKE(sa, gir); err != nil {
		e.IKEFailed(sa, err)
		return
	}
	natt := checkNAT(sa, m, local, remote)
	if natt && (sa.NATLocal || sa.NATRemote || t.Cfg.Encap == ike.EncapUDP) {
		sa.Floated = true
		sa.Local = netip.AddrPortFrom(sa.Local.Addr(), e.Config().NATTPort)
		sa.Remote = netip.AddrPortFrom(sa.Remote.Addr(), e.Config().NATTPort)
	}
	e.sendAuth(sa)
}

// deriveIKE computes the IKE SA keys and ciphers from the DH secret.
func (e *engine) deriveIKE(sa *ike.IKESA, gir []byte) error {
	defer clear(gir) // the DH shared secret is not needed once the keys are derived
	prf, err := crypto.NewPRF(sa.Suite.PRF)
	if err != nil {
		return err
	}
	keys, err := crypto.DeriveIKEKeys(sa.Suite, v2of(sa).ni, v2of(sa).nr, gir, sa.SPIi, sa.SPIr)
	if err != nil {
		return err
	}
	return setKeys(sa, prf, keys)
}

func setKeys(sa *ike.IKESA, prf crypto.PRF, keys crypto.IKEKeys) error {
	ei, ai, er, ar := keys.SKei, keys.SKai, keys.SKer, keys.SKar
	if !sa.Initiator {
		ei, ai, er, ar = er, ar, ei, ai
	}
	out, err := crypto.NewSKCipher(sa.Suite, ei, ai)
	if err != nil {
		return err
	}
	in, err := crypto.NewSKCipher(sa.Suite, er, ar)
	if err != nil {
		return err
	}
	v2of(sa).prf, v2of(sa).keys, v2of(sa).out, v2of(sa).in = prf, keys, out, in
	return nil
}

func proposesGroup(ps []crypto.Proposal, g uint16) bool {
	for _, p := range ps {
		if slices.Contains(p.DH, g) {
			return true
		}
	}
	return false
}

// replyInitError sends a stateless IKE_SA_INIT error response.
func (e *engine) replyInitError(local, remote netip.AddrPort, h wire.Header, n *wire.Notify) {
	rh := wire.Header{SPIi: h.SPIi, Version: 0x20, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagResponse}
	m := &wire.Message{Header: rh, Payloads: []wire.Payload{n}}
	e.Dataplane().SendIKE(local, remote, m.Append(nil))
}

// handleInitRequest answers an IKE_SA_INIT request (responder).
func (e *engine) handleInitRequest(local, remote netip.AddrPort, h wire.Header, msg []byte) {
	if h.SPIr != 0 || h.MessageID != 0 || !h.IsInitiator() {
		return
	}
	key := ike.HalfOpenKey{Remote: remote, SPIi: h.SPIi}
	if sa := e.HalfOpen(key); sa != nil {
		if bytes.Equal(v2of(sa).initReq, msg) {
			e.Counters().ResponsesResent++
			e.Dataplane().SendIKE(local, remote, v2of(sa).initResp)
		}
		return
	}
	m, err := wire.ParseMessage(msg)
	if err != nil {
		e.Counters().Malformed++
		e.Log().Debug("malformed IKE_SA_INIT", "peer", remote, "err", err)
		return
	}
	cands := e.TunnelsTo(remote.Addr())
	if len(cands) == 0 {
		e.Config().LogThrottle.Log(e.Log(), slog.LevelInfo, remote.Addr(), "no-tunnel", "IKE_SA_INIT from a peer with no tunnel configured", "peer", remote)
		e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyNoProposalChosen})
		return
	}
	t := cands[0]
	sap, ke, nonce := m.SA(), m.KE(), m.Nonce()
	if sap == nil || ke == nil || nonce == nil || len(nonce.Data) < 16 || len(nonce.Data) > 256 {
		e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyInvalidSyntax})
		return
	}
	if e.Config().CookieThreshold >= 0 && e.HalfOpenCount() >= e.Config().CookieThreshold {
		// Under load (or always, with a threshold of 0) the initiator must prove that it
		// receives at its address before we spend a DH computation and state on it.
		now := time.Now()
		if n := m.Notify(wire.NotifyCookie); n == nil || !e.cookies.valid(now, n.Data, nonce.Data, remote, h.SPIi) {
			e.Counters().CookiesSent++
			e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyCookie, Data: e.cookies.make(now, nonce.Data, remote, h.SPIi)})
			return
		}
	}
	if !e.HalfOpenRoom(remote.Addr()) {
		return
	}
	suite, chosen, err := proposal.Select(sap.Proposals, t.Cfg.IKEProposals, wire.ProtocolIKE)
	if err != nil {
		e.Config().LogThrottle.Log(e.Log(), slog.LevelInfo, remote.Addr(), "no-proposal", "no acceptable IKE proposal", "tunnel", t.Cfg.Name, "peer", remote)
		e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyNoProposalChosen})
		return
	}
	if ke.Group != suite.DH {
		var g [2]byte
		binary.BigEndian.PutUint16(g[:], suite.DH)
		e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyInvalidKEPayload, Data: g[:]})
		return
	}
	dh, err := e.NewDH(suite.DH)
	if err != nil {
		return
	}
	defer crypto.WipeDH(dh) // a responder needs its value for this message only
	gir, err := dh.SharedSecret(ke.Data)
	if err != nil {
		e.Log().Info("bad KE payload", "peer", remote, "err", err)
		e.replyInitError(local, remote, h, &wire.Notify{Type: wire.NotifyInvalidSyntax})
		return
	}
	sa := e.NewIKESA(2, t, false, local, remote)
	sa.SPIi, sa.SPIr, sa.State, sa.Suite = h.SPIi, e.RandomSPI(), ike.IKEHalfOpen, suite
	sa.SetProto(&v2SA{e: e, sa: sa, group: suite.DH, peerMsgID: 1, ni: append([]byte(nil), nonce.Data...), nr: e.Nonce()})
	if err := e.deriveIKE(sa, gir); err != nil {
		e.Log().Warn("key derivation failed", "err", err)
		return
	}
	checkNAT(sa, m, local, remote)
	chosen.SPI = nil
	ps := []wire.Payload{
		&wire.SA{Proposals: []wire.Proposal{chosen}},
		&wire.KE{Group: suite.DH, Data: dh.PublicKey()},
		&wire.Nonce{Data: v2of(sa).nr},
	}
	ps = append(ps, e.natDetection(sa, local, remote, t.Cfg.Encap == ike.EncapUDP)...)
	resp := &wire.Message{Header: header(sa, wire.ExchangeIKESAInit, 0, true), Payloads: ps}
	v2of(sa).initReq = append([]byte(nil), msg...)
	v2of(sa).initResp = resp.Append(nil)
	e.StartHalfOpen(sa, key)
	e.Dataplane().SendIKE(local, remote, v2of(sa).initResp)
}
