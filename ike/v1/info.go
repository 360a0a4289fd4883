package v1

import (
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// Informational exchanges (RFC 2409 5.7): one protected message, HASH(1) followed by
// Notification or Delete payloads, each with its own message ID and IV, and no answer, except
// for DPD (RFC 3706), where an R-U-THERE is answered by an R-U-THERE-ACK in an Informational
// of its own.

// v1InfoRaw builds a protected Informational with message ID mid.
func v1InfoRaw(sa *ike.IKESA, mid uint32, ps []v1wire.Payload) []byte {
	cbc, err := v1of(sa).keys.ExchangeCipher(v1of(sa).p1, mid)
	if err != nil {
		return nil
	}
	hash := v1of(sa).keys.InfoHash(mid, v1wire.AppendPayloads(nil, ps))
	return v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeInformational, mid), append([]v1wire.Payload{&v1wire.Hash{Data: hash}}, ps...), cbc)
}

// v1SendInfo sends a protected Informational on sa (nothing if sa has no keys yet).
func (e *engine) v1SendInfo(sa *ike.IKESA, ps []v1wire.Payload) {
	if !v1Ready(sa) {
		return
	}
	if raw := v1InfoRaw(sa, e.v1NewMID(sa), ps); raw != nil {
		e.Send(sa, raw)
	}
}

// v1SendPlain sends an unprotected Informational with one notification.
func (e *engine) v1SendPlain(local, remote netip.AddrPort, cookieI, cookieR uint64, n *v1wire.Notification) {
	var b [4]byte
	io.ReadFull(e.Rand(), b[:])
	h := v1wire.Header{CookieI: cookieI, CookieR: cookieR, Version: v1wire.Version, Exchange: v1wire.ExchangeInformational, MessageID: binary.BigEndian.Uint32(b[:])}
	e.Dataplane().SendIKE(local, remote, (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{n}}).Append(nil))
}

// v1NotifySPI reads the SPI an INVALID-SPI notification is about, as a network-order integer:
// from the SPI field for ESP with a 4-byte SPI, else from the first four bytes of the data.
func v1NotifySPI(n *v1wire.Notification) uint32 {
	switch {
	case n.Protocol == v1wire.ProtoESP && len(n.SPI) == 4:
		return binary.BigEndian.Uint32(n.SPI)
	case len(n.Data) >= 4:
		return binary.BigEndian.Uint32(n.Data[:4])
	}
	return 0
}

// v1Info processes an Informational on sa.
func (e *engine) v1Info(sa *ike.IKESA, local, remote netip.AddrPort, h v1wire.Header, msg []byte) {
	if !h.Encrypted() {
		e.v1UnprotectedInfo(remote, msg, sa)
		return
	}
	v := v1of(sa)
	if v.keys == nil || v.p1 == nil {
		return
	}
	cbc, err := v.keys.ExchangeCipher(v.p1, h.MessageID)
	if err != nil {
		return
	}
	m, err := v1wire.OpenEncrypted(msg, cbc)
	if err != nil {
		e.Counters().Malformed++
		e.Log().Debug("dropping Informational that does not decrypt", "ike", sa.String(), "err", err)
		return
	}
	if m.Index(v1wire.PayloadHash) != 0 || !hmac.Equal(m.Hash().Data, v.keys.InfoHash(h.MessageID, m.After(0))) {
		// Without a valid HASH(1) the message proves nothing: INVALID-SPI is a hint only.
		e.Counters().Malformed++
		e.Log().Debug("Informational without a valid HASH(1)", "ike", sa.String(), "peer", remote)
		e.v1Hints(remote, m)
		return
	}
	dup := v.seen.has(h.MessageID)
	if !onlyDPD(m) {
		// A replayed liveness check changes nothing; anything else is remembered for good.
		v.seen.add(h.MessageID)
	}
	sa.SetLastInbound(time.Now())
	if sa.State != ike.IKEEstablished {
		// During Main Mode only a refusal matters.
		for _, n := range m.Notifications() {
			if n.Type.IsError() {
				e.v1MainRefused(sa, n.Type)
				return
			}
		}
		return
	}
	e.PeerMoved(sa, local, remote)
	for _, p := range m.Payloads[1:] {
		if sa.State == ike.IKEDead {
			return
		}
		switch p := p.(type) {
		case *v1wire.Notification:
			e.v1Notify(sa, p, dup)
		case *v1wire.Delete:
			if !dup {
				e.v1Delete(sa, p)
			}
		}
	}
}

// onlyDPD reports whether an Informational carries nothing but RFC 3706 DPD notifications.
func onlyDPD(m *v1wire.Message) bool {
	for _, p := range m.Payloads[1:] {
		n, ok := p.(*v1wire.Notification)
		if !ok || (n.Type != v1wire.NotifyRUThere && n.Type != v1wire.NotifyRUThereAck) {
			return false
		}
	}
	return true
}

// v1Hints passes INVALID-SPI notifications of an unauthenticated message to the hooks.
func (e *engine) v1Hints(remote netip.AddrPort, m *v1wire.Message) bool {
	found := false
	for _, n := range m.Notifications() {
		if n.Type == v1wire.NotifyInvalidSPI {
			found = true
			e.Hooks().UnprotectedNotify(remote, ike.HintInvalidSPI, v1NotifySPI(n))
		}
	}
	return found
}

// v1UnprotectedInfo handles an unencrypted Informational. It changes no state, except that an
// error notification ends a Main Mode we have in progress with that peer (the peer refused it
// before keys existed).
func (e *engine) v1UnprotectedInfo(remote netip.AddrPort, msg []byte, sa *ike.IKESA) {
	m, err := v1wire.ParseMessage(msg)
	if err != nil {
		e.Counters().Malformed++
		return
	}
	if e.v1Hints(remote, m) {
		return
	}
	if sa == nil || sa.State == ike.IKEEstablished || sa.State == ike.IKEDead || remote.Addr() != sa.Remote.Addr() {
		e.Counters().UnknownSPI++
		return
	}
	for _, n := range m.Notifications() {
		if n.Type.IsError() {
			e.v1MainRefused(sa, n.Type)
			return
		}
	}
}

// v1MainRefused ends a Main Mode the peer refused.
func (e *engine) v1MainRefused(sa *ike.IKESA, n v1wire.NotifyType) {
	if n == v1wire.NotifyAuthenticationFailed || n == v1wire.NotifyInvalidIDInformation || n == v1wire.NotifyInvalidHashInformation {
		e.Counters().AuthFailures++
		e.Log().Error("peer rejected our IKEv1 authentication: "+n.String()+" (check psk, local_id and remote_id)", "tunnel", sa.TunnelName(), "peer", sa.Remote)
		e.IKEFailed(sa, fmt.Errorf("%w: peer answered %v", ike.ErrAuthFailed, n))
		return
	}
	e.IKEFailed(sa, fmt.Errorf("peer answered Main Mode with %v", n))
}

// v1Notify acts on one protected notification.
func (e *engine) v1Notify(sa *ike.IKESA, n *v1wire.Notification, dup bool) {
	switch n.Type {
	case v1wire.NotifyRUThere:
		if seq, ok := n.DPDSequence(); ok {
			e.v1SendInfo(sa, []v1wire.Payload{v1wire.NewDPD(v1wire.NotifyRUThereAck, sa.SPIi, sa.SPIr, seq)})
		}
	case v1wire.NotifyRUThereAck:
		if seq, ok := n.DPDSequence(); ok {
			e.v1DPDAck(sa, seq)
		}
	case v1wire.NotifyInvalidSPI:
		if !dup {
			e.ReceivedInvalidSPI(sa, v1NotifySPI(n))
		}
	case v1wire.NotifyInitialContact:
		if !dup {
			e.InitialContact(sa)
		}
	default:
		if !n.Type.IsError() {
			return
		}
		e.Log().Info("peer sent an IKEv1 error notification", "tunnel", sa.TunnelName(), "notify", n.Type, "protocol", n.Protocol)
		if dup {
			return
		}
		// An error about a Quick Mode of ours (strongSwan names our SPI): it failed.
		spi := uint32(0)
		if n.Protocol == v1wire.ProtoESP && len(n.SPI) == 4 {
			spi = binary.BigEndian.Uint32(n.SPI)
		}
		for mid, x := range v1of(sa).exch {
			if x.initiator && !x.finished && x.qm != nil && (spi == 0 || x.qm.spiIn == spi) {
				e.v1Stop(sa, x.req)
				x.finished = true
				delete(v1of(sa).exch, mid)
				e.v1QuickFinish(sa, x.qm, nil, v1PeerError(n.Type))
			}
		}
	}
}

// v1Delete acts on one protected Delete payload.
func (e *engine) v1Delete(sa *ike.IKESA, d *v1wire.Delete) {
	switch d.Protocol {
	case v1wire.ProtoESP:
		for _, spi := range d.ESPSPIs() {
			c := e.ChildByOutSPI(sa.Remote.Addr(), spi)
			if c == nil || (c.IKE != sa && c.Tunnel != sa.Tunnel) {
				continue
			}
			e.PeerDeletedChild(c)
		}
	case v1wire.ProtoISAKMP:
		for _, s := range d.SPIs {
			if len(s) != 16 {
				continue
			}
			target := e.v1Lookup(v1wire.Header{CookieI: binary.BigEndian.Uint64(s[:8]), CookieR: binary.BigEndian.Uint64(s[8:])})
			if target == nil || target.Remote.Addr() != sa.Remote.Addr() || target.Tunnel != sa.Tunnel {
				continue
			}
			e.Log().Info("peer deleted the ISAKMP SA", "tunnel", target.TunnelName(), "ike", target.String())
			if o := target.Tunnel.IKE; o != nil && o != target && o.Version == 1 && o.State == ike.IKEEstablished {
				// The tunnel goes on with another ISAKMP SA (a duplicate was resolved or one
				// replaced): the IPsec SAs stay, as IKEv1 allows.
				ike.AdoptChildren(target, o)
			}
			e.RemoveIKE(target, ike.ErrPeerDeleted)
		}
	}
}

// ---- DPD (RFC 3706) -------------------------------------------------------------------------

// v1Liveness sends R-U-THERE until an R-U-THERE-ACK arrives; every retry is a new message with
// the next sequence number. Unanswered within the budget, the ISAKMP SA is declared dead.
func (e *engine) v1Liveness(sa *ike.IKESA, budget time.Duration, done func(error)) {
	v := v1of(sa)
	if sa.State != ike.IKEEstablished || !v1Ready(sa) {
		if done != nil {
			done(errors.New("IKE SA not established"))
		}
		return
	}
	if d := v.dpdWait; d != nil {
		// The check in flight answers this one too.
		if done != nil {
			d.dones = append(d.dones, done)
		}
		return
	}
	d := &v1DPD{first: v.dpdSeq, started: time.Now()}
	if done != nil {
		d.dones = append(d.dones, done)
	}
	build := func() []byte {
		d.last = v.dpdSeq
		v.dpdSeq++
		return v1InfoRaw(sa, e.v1NewMID(sa), []v1wire.Payload{v1wire.NewDPD(v1wire.NotifyRUThere, sa.SPIi, sa.SPIr, d.last)})
	}
	d.req = &v1req{raw: build(), next: build, budget: budget, onFail: func(err error) {
		v.dpdWait = nil
		e.IKEFailed(sa, err)
		for _, f := range d.dones {
			f(err)
		}
	}}
	v.dpdWait = d
	e.v1Start(sa, d.req)
}

// v1DPDAck completes the liveness check in flight if seq is one of its R-U-THEREs.
func (e *engine) v1DPDAck(sa *ike.IKESA, seq uint32) {
	d := v1of(sa).dpdWait
	if d == nil || seq-d.first > d.last-d.first {
		return
	}
	v1of(sa).dpdWait = nil
	e.v1Stop(sa, d.req)
	e.Hooks().Exchange(sa, "INFORMATIONAL", time.Since(d.started), d.req.retry.Tries)
	for _, f := range d.dones {
		f(nil)
	}
}
