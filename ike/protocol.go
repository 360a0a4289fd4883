package ike

import (
	"net/netip"
	"time"
)

// The engine's core (the loop, the tunnels, the SA tables, installing Child SAs, timers and
// hooks) is the same for both IKE versions. What differs, the messages and exchanges, sits
// behind two interfaces: Protocol for one IKE version as a whole, SAProtocol for one IKE SA
// of that version. The core calls them on the loop only.

// Protocol is one IKE version.
type Protocol interface {
	// Version is the IKE major version: 1 (RFC 2409) or 2 (RFC 7296).
	Version() int
	// Handle processes a received message of this version.
	Handle(local, remote netip.AddrPort, msg []byte)
	// Initiate starts a new IKE SA (and its first Child SA) for t, which has none.
	Initiate(t *Tunnel) *IKESA
	// Classify sorts a received message of this version (at least its 28-octet header) by its
	// header alone: protected, SA set-up, or other. Called on any goroutine.
	Classify(msg []byte) MsgClass
	// CheckTunnel warns about settings this version cannot honour.
	CheckTunnel(c *TunnelConfig)
	// SendUnprotectedInvalidSPI tells remote, outside any IKE SA, that ESP arrived on an SPI we
	// do not know (RFC 7296 2.21.4; the caller rate-limits).
	SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32)
}

// SAProtocol runs the exchanges of one established IKE SA. The core has checked that the SA
// is established (and for Child SA operations that the Child SA is installed) before calling.
type SAProtocol interface {
	// CreateChild negotiates a new Child SA for t; done (never nil) gets it or the error.
	CreateChild(t *Tunnel, done func(*ChildSA, error))
	// RekeyChild replaces c (make-before-break); budget, if not zero, replaces the tunnel's
	// dpd_timeout as the retransmission budget.
	RekeyChild(c *ChildSA, budget time.Duration, done func(*ChildSA, error))
	// DeleteChild tells the peer and removes c; done (never nil) follows.
	DeleteChild(c *ChildSA, done func(error))
	// DeleteLost asks the peer to delete the pair whose inbound half (our SPI spi) we lost.
	DeleteLost(spi uint32)
	// DeleteIKE tells the peer and removes the IKE SA with its Child SAs.
	DeleteIKE()
	// RekeyIKE replaces the IKE SA, moving its Child SAs to the new one.
	RekeyIKE()
	// Liveness checks that the peer answers (RFC 7296 2.4, RFC 3706); done (never nil) gets nil
	// when it does. An unanswered check removes the IKE SA first.
	Liveness(budget time.Duration, done func(error))
	// Busy reports whether an exchange is in flight (a liveness check would wait behind it).
	Busy() bool
	// SendInvalidSPI tells the peer, protected, that ESP arrived on an SPI we do not know.
	SendInvalidSPI(spi uint32)
	// Teardown stops everything in flight: the SA is being removed with err.
	Teardown(err error)
	// Wipe clears the SA's key material.
	Wipe()
}

// protocol returns the implementation of IKE version v (0 means 2).
func (e *Engine) protocol(v int) Protocol {
	if v == 0 {
		v = 2
	}
	if v < len(e.protos) && e.protos[v] != nil {
		return e.protos[v]
	}
	return nil
}
