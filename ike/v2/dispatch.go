package v2

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// IKEv2: the receive path.

// handleV2 dispatches one received IKEv2 message.
func (e *engine) handleV2(local, remote netip.AddrPort, msg []byte) {
	h, err := wire.ParseHeader(msg)
	if err != nil {
		e.Counters().Malformed++
		e.Config().LogThrottle.Log(e.Log(), slog.LevelDebug, remote.Addr(), "ike-malformed", "dropping malformed IKE message", "peer", remote, "err", err)
		return
	}
	msg = msg[:h.Length]
	if e.Log().Enabled(context.Background(), slog.LevelDebug) {
		e.Log().Debug("received IKE message", "peer", remote, "local", local, "exchange", h.Exchange, "response", h.IsResponse(), "msgid", h.MessageID, "len", len(msg))
	}
	if h.Exchange == wire.ExchangeIKESAInit {
		if h.IsResponse() {
			e.handleInitResponse(local, remote, h, msg)
		} else {
			e.handleInitRequest(local, remote, h, msg)
		}
		return
	}
	own := h.SPIi
	if h.IsInitiator() {
		own = h.SPIr
	}
	sa := e.LookupIKE(own)
	if sa == nil || (h.IsInitiator() == sa.Initiator) || peerSPI(sa, h) != sa.OtherSPI() {
		e.handleUnknownSA(local, remote, h, msg)
		return
	}
	e.handleProtected(sa, local, remote, h, msg)
}

// handleUnknownSA covers messages for IKE SAs we do not have. Unprotected notifies are hints
// only (RFC 7296 2.21.4): they go to the hooks, which may start a rate-limited liveness check,
// and change no state here.
func (e *engine) handleUnknownSA(local, remote netip.AddrPort, h wire.Header, msg []byte) {
	if e.unprotectedHint(remote, msg) {
		return
	}
	e.Counters().UnknownSPI++
	e.Config().LogThrottle.Log(e.Log(), slog.LevelDebug, remote.Addr(), "ike-unknown-sa", "IKE message for unknown IKE SA", "peer", remote, "exchange", h.Exchange, "spi_i", fmt.Sprintf("%016x", h.SPIi), "spi_r", fmt.Sprintf("%016x", h.SPIr))
	if !h.IsResponse() && h.SPIr != 0 {
		// A request in an IKE SA we do not have (the peer's DPD or rekey after we restarted):
		// the gateway may re-initiate towards the configured peer (nothing is created here).
		e.Hooks().UnknownIKESA(remote)
	}
	if !h.IsResponse() && e.invalidIKESPI.Allow(time.Now()) {
		// RFC 7296 2.21.4: a request for an IKE SA we do not know (we may have restarted) MAY be
		// answered, unprotected, with INVALID_IKE_SPI, same SPIs and message ID. Rate-limited.
		rh := h
		rh.Flags = wire.FlagResponse
		if !h.IsInitiator() {
			rh.Flags |= wire.FlagInitiator
		}
		rh.NextPayload = 0
		m := &wire.Message{Header: rh, Payloads: []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidIKESPI}}}
		e.Dataplane().SendIKE(local, remote, m.Append(nil))
	}
}

// unprotectedHint passes unprotected INVALID_SPI / INVALID_IKE_SPI notifies to the hooks. They
// change no state (RFC 7296 2.21.4).
func (e *engine) unprotectedHint(remote netip.AddrPort, msg []byte) bool {
	m, err := wire.ParseMessage(msg)
	if err != nil {
		e.Counters().Malformed++
		return false
	}
	for _, p := range m.Payloads {
		n, ok := p.(*wire.Notify)
		switch {
		case ok && n.Type == wire.NotifyInvalidSPI:
			e.Hooks().UnprotectedNotify(remote, ike.HintInvalidSPI, notifySPI(n))
			return true
		case ok && n.Type == wire.NotifyInvalidIKESPI:
			e.Hooks().UnprotectedNotify(remote, ike.HintInvalidIKESPI, notifySPI(n))
			return true
		}
	}
	return false
}

// notifySPI reads the SPI an INVALID_SPI notify is about: a 32-bit network-order integer from
// the notification data; lenient with peers that put it in the SPI field instead.
func notifySPI(n *wire.Notify) uint32 {
	switch {
	case len(n.Data) >= 4:
		return binary.BigEndian.Uint32(n.Data[:4])
	case len(n.SPI) == 4:
		return binary.BigEndian.Uint32(n.SPI)
	}
	return 0
}
