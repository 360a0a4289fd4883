package ike

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Hint is the kind of an unprotected notify: anyone could have sent it (RFC 7296 2.21.4).
type Hint uint8

const (
	HintInvalidSPI    Hint = iota + 1 // INVALID_SPI (IKEv1: INVALID-SPI) outside any IKE SA
	HintInvalidIKESPI                 // INVALID_IKE_SPI (IKEv1: INVALID-COOKIE)
)

func (h Hint) String() string {
	switch h {
	case HintInvalidSPI:
		return "invalid-spi"
	case HintInvalidIKESPI:
		return "invalid-ike-spi"
	}
	return "unknown"
}

// Hooks let the gateway observe and steer the engine. They are called on the loop goroutine
// and may call the engine's loop-only methods.
type Hooks interface {
	IKEUp(sa *IKESA)
	IKEDown(sa *IKESA, err error)
	// ChildUp reports an installed Child SA; old is the SA it replaces after a rekey, or nil.
	ChildUp(c *ChildSA, old *ChildSA)
	ChildDown(c *ChildSA, err error)
	// ChildFailed reports that creating a Child SA for t failed (refused or unanswered).
	ChildFailed(t *Tunnel, err error)
	// ChildRekeyFailed reports that rekeying c failed (err may wrap ErrChildSANotFound or
	// ErrTemporaryFailure, or be ErrTimeout); c is still installed.
	ChildRekeyFailed(c *ChildSA, err error)
	// InvalidSPI reports a protected INVALID_SPI notify received on the established IKE SA sa.
	// c is the Child SA of sa (never of another IKE SA) whose outbound SPI is spi, or nil.
	InvalidSPI(sa *IKESA, spi uint32, c *ChildSA)
	// UnprotectedNotify reports an unprotected INVALID_SPI or INVALID_IKE_SPI: a hint only.
	UnprotectedNotify(remote netip.AddrPort, h Hint, spi uint32)
	// UnknownIKESA reports a request (IKEv1: an encrypted exchange) for an IKE SA we do not
	// have, from remote: unauthenticated, a hint that we lost our state (a restart).
	UnknownIKESA(remote netip.AddrPort)
	// UnknownSPI reports ESP that arrived on an SPI we have no SA for, after the engine answered
	// it: sa is the established IKE SA with the sender the INVALID_SPI went out in (nil: none),
	// answered whether a notify (protected or not) was sent.
	UnknownSPI(ev dataplane.Event, sa *IKESA, answered bool)
	// DataplaneEvent reports the dataplane's other events: acquires and SA lifetimes.
	DataplaneEvent(ev dataplane.Event)
	// DPDDue is called every DPDDelay on an established IKE SA; the gateway decides whether a
	// liveness check is needed (outbound traffic without inbound). It returns when to look
	// again: zero means after DPDDelay, less when the silence will reach DPDDelay sooner, and
	// DPDIdle that nothing goes out: the gateway calls ScheduleDPD when traffic does, and the
	// engine only looks again after DPDIdleBackstop.
	DPDDue(sa *IKESA) time.Duration
	// Exchange reports a completed request/response exchange that we initiated; exch is its
	// name on the wire (CREATE_CHILD_SA, INFORMATIONAL, ...).
	Exchange(sa *IKESA, exch string, rtt time.Duration, retransmits int)
}

// NopHooks ignores everything.
type NopHooks struct{}

func (NopHooks) IKEUp(*IKESA)                                   {}
func (NopHooks) IKEDown(*IKESA, error)                          {}
func (NopHooks) ChildUp(*ChildSA, *ChildSA)                     {}
func (NopHooks) ChildDown(*ChildSA, error)                      {}
func (NopHooks) ChildFailed(*Tunnel, error)                     {}
func (NopHooks) ChildRekeyFailed(*ChildSA, error)               {}
func (NopHooks) InvalidSPI(*IKESA, uint32, *ChildSA)            {}
func (NopHooks) UnprotectedNotify(netip.AddrPort, Hint, uint32) {}
func (NopHooks) DPDDue(*IKESA) time.Duration                    { return 0 }
func (NopHooks) UnknownSPI(dataplane.Event, *IKESA, bool)       {}
func (NopHooks) DataplaneEvent(dataplane.Event)                 {}
func (NopHooks) UnknownIKESA(netip.AddrPort)                    {}
func (NopHooks) Exchange(*IKESA, string, time.Duration, int)    {}
