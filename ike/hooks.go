package ike

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

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
	// ChildRekeyFailed reports that rekeying c failed (err may be a *NotifyError such as
	// CHILD_SA_NOT_FOUND, or ErrTimeout); c is still installed.
	ChildRekeyFailed(c *ChildSA, err error)
	// InvalidSPI reports a protected INVALID_SPI notify received on the established IKE SA sa.
	// c is the Child SA of sa (never of another IKE SA) whose outbound SPI is spi, or nil.
	InvalidSPI(sa *IKESA, spi uint32, c *ChildSA)
	// UnprotectedNotify reports an unprotected INVALID_SPI or INVALID_IKE_SPI: a hint only.
	UnprotectedNotify(remote netip.AddrPort, t wire.NotifyType, spi uint32)
	// UnknownIKESA reports a request (IKEv1: an encrypted exchange) for an IKE SA we do not
	// have, from remote: unauthenticated, a hint that we lost our state (a restart).
	UnknownIKESA(remote netip.AddrPort)
	// DPDDue is called every DPDDelay on an established IKE SA; the gateway decides whether a
	// liveness check is needed (outbound traffic without inbound).
	DPDDue(sa *IKESA)
	// Exchange reports a completed request/response exchange that we initiated.
	Exchange(sa *IKESA, exch wire.ExchangeType, rtt time.Duration, retransmits int)
}

// NopHooks ignores everything.
type NopHooks struct{}

func (NopHooks) IKEUp(*IKESA)                                              {}
func (NopHooks) IKEDown(*IKESA, error)                                     {}
func (NopHooks) ChildUp(*ChildSA, *ChildSA)                                {}
func (NopHooks) ChildDown(*ChildSA, error)                                 {}
func (NopHooks) ChildFailed(*Tunnel, error)                                {}
func (NopHooks) ChildRekeyFailed(*ChildSA, error)                          {}
func (NopHooks) InvalidSPI(*IKESA, uint32, *ChildSA)                       {}
func (NopHooks) UnprotectedNotify(netip.AddrPort, wire.NotifyType, uint32) {}
func (NopHooks) DPDDue(*IKESA)                                             {}
func (NopHooks) UnknownIKESA(netip.AddrPort)                               {}
func (NopHooks) Exchange(*IKESA, wire.ExchangeType, time.Duration, int)    {}
