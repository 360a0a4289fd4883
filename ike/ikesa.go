package ike

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// IKEState is the state of an IKE SA.
type IKEState uint8

const (
	IKEInitSent    IKEState = iota + 1 // initiator: IKE_SA_INIT request sent
	IKEHalfOpen                        // responder: IKE_SA_INIT answered, waiting for IKE_AUTH
	IKEAuthSent                        // initiator: IKE_AUTH request sent
	IKEEstablished                     // authenticated
	IKEDeleting                        // Delete sent, waiting for the answer
	IKEDead                            // removed
)

func (s IKEState) String() string {
	switch s {
	case IKEInitSent:
		return "init-sent"
	case IKEHalfOpen:
		return "half-open"
	case IKEAuthSent:
		return "auth-sent"
	case IKEEstablished:
		return "established"
	case IKEDeleting:
		return "deleting"
	case IKEDead:
		return "dead"
	}
	return "?"
}

// IKESA is one IKE SA.
type IKESA struct {
	ID        uint64
	Version   int // 1 for an IKEv1 ISAKMP SA (SPIi/SPIr are its cookies), 2 otherwise
	Tunnel    *Tunnel
	SPIi      uint64
	SPIr      uint64
	Initiator bool     // we are the original initiator
	State     IKEState // read here, changed with Engine.SetIKEState
	Local     netip.AddrPort
	Remote    netip.AddrPort
	Suite     crypto.Suite
	Created   time.Time
	Up        time.Time // when it became established
	RekeyAt   time.Time // zero if no rekey is scheduled

	halfKey HalfOpenKey
	// estPeer holds sa while it is established (index.go); estAddr is its key there.
	estPeer *peer
	estAddr netip.Addr

	NATLocal  bool // we are behind a NAT (our NAT_DETECTION_SOURCE_IP did not match)
	NATRemote bool // the peer is behind a NAT
	Floated   bool // IKE moved to port 4500

	// counted: in the engine's counts (counts.go), in state countedAs.
	counted   bool
	countedAs IKEState

	children map[uint64]*ChildSA
	proto    SAProtocol // the exchanges of the SA's IKE version

	lastInbound time.Time // last authenticated message from the peer
	timers      saTimers

	RekeyedBy *IKESA // replaced by this SA (rekey); this one is being deleted
	// DeleteAfterAuth: deleted while IKE_AUTH was in flight; sends its Delete once it completes.
	DeleteAfterAuth bool
	deleteErr       error
}

type saTimers struct {
	rekey, dpd, halfOpen *Timer
}

// wipe zeroes the key material of a removed IKE SA where Go allows it: SK_d, SK_ai/ar,
// SK_ei/er, SK_pi/pr (IKEv1: SKEYID, SKEYID_d/a/e and the phase 1 key), and drops the DH key
// pair and the nonces. Go's crypto keeps copies it offers no way to zero: the expanded AES key
// schedules and HMAC pads inside in, out and prf, and crypto/ecdh private keys (an
// *ecdh.PrivateKey cannot be cleared; it is only dropped here and left to the garbage
// collector). SKEYSEED is cleared as soon as the keys are expanded (crypto.expandIKEKeys), the
// DH shared secret once the keys are derived.
func (sa *IKESA) wipe() { sa.proto.Wipe() }

func (sa *IKESA) stop() {
	for _, t := range []*Timer{sa.timers.rekey, sa.timers.dpd, sa.timers.halfOpen} {
		if t != nil {
			t.Stop()
		}
	}
}

// OurSPI is the SPI we chose; otherSPI the peer's.
func (sa *IKESA) OurSPI() uint64 {
	if sa.Initiator {
		return sa.SPIi
	}
	return sa.SPIr
}

func (sa *IKESA) OtherSPI() uint64 {
	if sa.Initiator {
		return sa.SPIr
	}
	return sa.SPIi
}

// Children lists the SA's Child SAs.
func (sa *IKESA) Children() map[uint64]*ChildSA { return sa.children }

// Algorithms renders the negotiated suite.
func (sa *IKESA) Algorithms() string { return sa.Suite.String() }

// String names the SA by its SPIs, "%016x_i %016x_r". It is formatted by hand (one
// allocation) since it is logged for every IKE SA set up.
func (sa *IKESA) String() string {
	var b [len("0123456789abcdef_i 0123456789abcdef_r")]byte
	putHex(b[0:16], sa.SPIi)
	copy(b[16:19], "_i ")
	putHex(b[19:35], sa.SPIr)
	copy(b[35:], "_r")
	return string(b[:])
}

// putHex writes v into b in lower-case hex, zero-padded to len(b) digits (at most 16).
func putHex(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
}
