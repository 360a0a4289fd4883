package v2

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// v2DeleteChild tells the peer (INFORMATIONAL Delete) and removes c when the answer arrives.
func (e *engine) v2DeleteChild(sa *ike.IKESA, c *ike.ChildSA, done func(error)) {
	if c.State != ike.ChildRekeyed {
		c.State = ike.ChildDeleting
	}
	e.request(sa, wire.ExchangeInformational, func() []wire.Payload {
		return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{ike.SPIBytes(c.SPIIn)}}}
	}, func(*wire.Message) {
		e.RemoveChild(c, ike.ErrDeleted)
		if done != nil {
			done(nil)
		}
	}, func(err error) {
		e.RemoveChild(c, ike.ErrDeleted)
		if done != nil {
			done(err)
		}
		e.IKEFailed(sa, err)
	})
}

// v2DeleteIKE deletes an IKE SA and its children, telling the peer first.
func (e *engine) v2DeleteIKE(sa *ike.IKESA) {
	e.SetIKEState(sa, ike.IKEDeleting)
	// The Delete goes right after the exchange in flight (window size 1): waiting requests
	// are dropped.
	q := v2of(sa).queue
	v2of(sa).queue = nil
	for _, r := range q {
		r.onFail(ike.ErrDeleted)
	}
	e.request(sa, wire.ExchangeInformational, func() []wire.Payload {
		return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolIKE}}
	}, func(*wire.Message) { e.RemoveIKE(sa, ike.ErrDeleted) }, func(error) { e.RemoveIKE(sa, ike.ErrDeleted) })
}

// v2Liveness sends an empty INFORMATIONAL request (a liveness check, RFC 7296 2.4).
func (e *engine) v2Liveness(sa *ike.IKESA, budget time.Duration, done func(error)) {
	e.enqueue(sa, &request{exch: wire.ExchangeInformational, budget: budget, build: func() []wire.Payload { return nil }, onResp: func(*wire.Message) {
		done(nil)
	}, onFail: func(err error) {
		e.IKEFailed(sa, err)
		done(err)
	}})
}

// v2SendInvalidSPI tells the peer, inside sa, that ESP arrived on an SPI we do not know
// (RFC 7296 3.10.1: SPI size 0, protocol 0, the SPI as 4 bytes of notification data).
func (e *engine) v2SendInvalidSPI(sa *ike.IKESA, spi uint32) {
	e.Counters().InvalidSPISent++
	e.enqueue(sa, &request{exch: wire.ExchangeInformational, notify: true, build: func() []wire.Payload {
		return []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSPI, Data: ike.SPIBytes(spi)}}
	}, onResp: func(*wire.Message) {}, onFail: func(err error) { e.IKEFailed(sa, err) }})
}

// v2DeleteLost sends a Delete for our former inbound SPI spi. A Delete names the sender's
// inbound SPIs (RFC 7296 3.11), so the peer removes both halves of its pair.
func (e *engine) v2DeleteLost(sa *ike.IKESA, spi uint32) {
	e.request(sa, wire.ExchangeInformational, func() []wire.Payload {
		return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{ike.SPIBytes(spi)}}}
	}, func(*wire.Message) {}, func(err error) { e.IKEFailed(sa, err) })
}

// v2SendUnprotectedInvalidSPI sends an INVALID_SPI notify outside any IKE SA.
func (e *engine) v2SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	h := wire.Header{SPIi: 0, SPIr: 0, Version: 0x20, Exchange: wire.ExchangeInformational}
	m := &wire.Message{Header: h, Payloads: []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSPI, Data: ike.SPIBytes(spi)}}}
	e.Dataplane().SendIKE(local, remote, m.Append(nil))
}

// handleInformationalRequest answers an INFORMATIONAL request: Deletes, notifies, liveness.
func (e *engine) handleInformationalRequest(sa *ike.IKESA, m *wire.Message) ([]wire.Payload, func()) {
	var resp []wire.Payload
	var after []func()
	var spis [][]byte
	for _, p := range m.Payloads {
		switch p := p.(type) {
		case *wire.Delete:
			switch p.Protocol {
			case wire.ProtocolIKE:
				e.Log().Info("peer deleted the IKE SA", "tunnel", sa.TunnelName(), "ike", sa.String())
				return nil, func() { e.RemoveIKE(sa, ike.ErrPeerDeleted) }
			case wire.ProtocolESP:
				for _, b := range p.SPIs {
					spi := binary.BigEndian.Uint32(b)
					c := e.ChildByOutSPI(sa.Remote.Addr(), spi)
					if c == nil || c.IKE != sa {
						continue
					}
					if c.State != ike.ChildDeleting && c.State != ike.ChildRekeyed {
						// Not deleting it ourselves: answer with our inbound SPI (RFC 7296 1.4.1).
						spis = append(spis, ike.SPIBytes(c.SPIIn))
					}
					after = append(after, func() { e.PeerDeletedChild(c) })
				}
			}
		case *wire.Notify:
			switch p.Type {
			case wire.NotifyInvalidSPI:
				spi := notifySPI(p)
				after = append(after, func() { e.ReceivedInvalidSPI(sa, spi) })
			default:
				if p.Type.IsError() {
					e.Log().Info("peer sent an error notify in a request", "tunnel", sa.TunnelName(), "notify", p.Type)
				}
			}
		}
	}
	if len(spis) > 0 {
		resp = append(resp, &wire.Delete{Protocol: wire.ProtocolESP, SPIs: spis})
	}
	return resp, func() {
		for _, f := range after {
			f()
		}
	}
}
