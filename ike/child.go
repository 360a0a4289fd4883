package ike

import (
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
)

// ChildState is the state of a Child SA.
type ChildState uint8

const (
	ChildInstalled ChildState = iota + 1 // carrying traffic
	ChildRekeying                        // our rekey of it is in progress
	ChildRekeyed                         // replaced; kept until its Delete completes
	ChildDeleting                        // Delete sent
	ChildDeleted
)

func (s ChildState) String() string {
	switch s {
	case ChildInstalled:
		return "installed"
	case ChildRekeying:
		return "rekeying"
	case ChildRekeyed:
		return "rekeyed"
	case ChildDeleting:
		return "deleting"
	case ChildDeleted:
		return "deleted"
	}
	return "?"
}

// ChildSA is one Child SA (an inbound and an outbound ESP SA).
type ChildSA struct {
	ID       uint64
	Tunnel   *Tunnel
	IKE      *IKESA
	SPIIn    uint32 // chosen by us
	SPIOut   uint32 // chosen by the peer
	Suite    crypto.Suite
	LocalTS  []Selector
	RemoteTS []Selector
	Encap    dataplane.Encap
	State    ChildState
	Created  time.Time
	RekeyAt  time.Time
	// Initiator is true if we initiated the exchange that created it.
	Initiator bool
	// Unconfirmed: installed as responder, but the peer has not yet shown that it installed
	// its half (IKEv1, until Quick Mode message 3): nothing may be sent on it.
	Unconfirmed bool

	NonceI, NonceR []byte // nonces of the creating exchange (collision resolution)
	rekeyTimer     *Timer
	RekeyedBy      *ChildSA
	Replaces       *ChildSA   // the SA this one rekeyed (responder: switch outbound when it is deleted)
	outActive      bool       // the policy points at SPIOut
	Collision      bool       // the peer rekeyed this SA while our rekey of it was in flight
	countedAs      ChildState // the state c is counted in (counts.go); 0 while not counted
	PeerRekey      *ChildSA   // the SA created by the peer's colliding rekey

	// keys were handed to the dataplane (which keeps its own copy); wiped on removal.
	keys crypto.ChildKeys
}

// wipe zeroes the Child SA's key material once it is removed. The dataplane's copies (and
// the AES key schedules Go's crypto derives from them, which cannot be zeroed) go with the
// dataplane SA.
func (c *ChildSA) wipe() {
	c.keys.Wipe()
	c.keys = crypto.ChildKeys{}
}

// Algorithms renders the negotiated suite.
func (c *ChildSA) Algorithms() string { return c.Suite.String() }

// LocalTSStrings and RemoteTSStrings render the selectors.
func (c *ChildSA) LocalTSStrings() []string  { return SelectorStrings(c.LocalTS) }
func (c *ChildSA) RemoteTSStrings() []string { return SelectorStrings(c.RemoteTS) }

// LowestNonce returns the smallest of the given nonces (RFC 7296 2.8.1 compares them as
// byte strings).
func LowestNonce(ns ...[]byte) []byte {
	var low []byte
	for _, n := range ns {
		if low == nil || string(n) < string(low) {
			low = n
		}
	}
	return low
}
