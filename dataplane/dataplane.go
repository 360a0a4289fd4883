// Package dataplane is the boundary between Vigil's control plane (IKE) and the packet path.
//
// The control plane installs SAs and policies and sends IKE messages through a Dataplane; the
// dataplane delivers received IKE messages to an IKEHandler and reports what happens to packets
// (unknown SPIs, acquires, lifetime expiry) as Events. Two implementations exist: the TUN+UDP one
// in dataplane/tunudp that carries real traffic, and an in-memory one in dataplane/memory for tests.
package dataplane

import (
	"fmt"
	"net/netip"
	"time"
)

// Direction of an SA, seen from this gateway.
type Direction uint8

const (
	In  Direction = 1 // packets we decrypt; its SPI was chosen by us
	Out Direction = 2 // packets we encrypt; its SPI was chosen by the peer
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "?"
}

// Encap is how ESP is carried on the wire.
type Encap uint8

const (
	EncapUDP Encap = 1 // ESP-in-UDP, RFC 3948 (port 4500, shared with IKE through the non-ESP marker)
	EncapRaw Encap = 2 // IP protocol 50
)

// Selector is one traffic selector: an address range, an IP protocol (0 = any) and a port range.
type Selector struct {
	Proto     uint8
	StartAddr netip.Addr
	EndAddr   netip.Addr
	StartPort uint16
	EndPort   uint16
}

// SARef names one installed SA. Inbound SAs are found by their SPI (chosen by us, unique among
// our inbound SAs); outbound SAs by their Child SA id, because their SPIs are chosen by the
// peers and two peers may pick the same value. Build one with InSA or OutSA.
type SARef struct {
	Dir   Direction
	SPI   uint32 // In: the key. Out: if non-zero, must match the installed SA's SPI
	Child uint64 // Out: the key (SAConfig.ChildID)
}

// InSA refers to the inbound SA with our SPI spi.
func InSA(spi uint32) SARef { return SARef{Dir: In, SPI: spi} }

// OutSA refers to the outbound SA of Child SA child; spi (0 = any) is checked against the
// installed SA's SPI, so a stale reference cannot touch a newer SA of the same Child.
func OutSA(child uint64, spi uint32) SARef { return SARef{Dir: Out, SPI: spi, Child: child} }

func (r SARef) String() string {
	switch r.Dir {
	case In:
		return fmt.Sprintf("inbound SA %#08x", r.SPI)
	case Out:
		return fmt.Sprintf("outbound SA of child %d (SPI %#08x)", r.Child, r.SPI)
	}
	return fmt.Sprintf("SA %#08x (invalid direction %d)", r.SPI, r.Dir)
}

// SAConfig is everything the dataplane needs to install one direction of a Child SA.
type SAConfig struct {
	SPI     uint32
	Dir     Direction
	Tunnel  string // owning tunnel name (for events and counters)
	ChildID uint64 // control-plane id of the Child SA pair: unique, non-zero; keys outbound SAs

	Local  netip.AddrPort // our outer address (port 4500 with EncapUDP)
	Remote netip.AddrPort // the peer's outer address
	Encap  Encap

	Encr     uint16 // IANA IKEv2 transform IDs (crypto.Encr*, crypto.Integ*)
	EncrKey  []byte // AEAD: key||salt
	Integ    uint16
	IntegKey []byte
	ESN      bool

	ReplayWindow int // inbound only

	// Lifetimes; zero means unlimited. Crossing a soft limit raises EventSoftExpire once,
	// a hard limit raises EventHardExpire and the SA stops passing traffic. Outbound SAs
	// without ESN never get more than the sequence number space allows (see PacketLimits).
	SoftBytes, HardBytes     uint64
	SoftPackets, HardPackets uint64
}

// Packet limits imposed by the 32-bit ESP sequence number (RFC 4303 3.3.3: it must not cycle;
// the SA has to be replaced before 2^32-1 packets). The soft limit leaves 2^20 packets for
// the rekey to complete.
const (
	SeqHardPackets uint64 = 1<<32 - 1
	SeqSoftPackets uint64 = 1<<32 - 1<<20
)

// PacketLimits returns the soft and hard packet limits an outbound SA really gets: the
// configured ones (0 = unlimited), lowered without ESN to SeqSoftPackets and SeqHardPackets
// so that it is rekeyed before its sequence numbers run out. With ESN the 64-bit space
// cannot be exhausted in practice and the configured limits stand.
func PacketLimits(esn bool, soft, hard uint64) (uint64, uint64) {
	if esn {
		return soft, hard
	}
	if hard == 0 || hard > SeqHardPackets {
		hard = SeqHardPackets
	}
	if soft == 0 || soft > SeqSoftPackets {
		soft = SeqSoftPackets
	}
	return soft, hard
}

// Policy binds a tunnel's selectors to its current outbound SA. Packets read from the TUN device
// whose source matches LocalTS and destination matches RemoteTS are sealed with the outbound SA
// of Child SA OutChild. With OutChild == 0 (or while that Child has no outbound SA installed)
// the policy holds: matching packets are queued (a small bounded queue) and, if Trap is set, an
// EventAcquire is raised (rate limited). Installing the SA or setting OutChild later flushes
// the queue through the new SA.
type Policy struct {
	Tunnel   string
	LocalTS  []Selector
	RemoteTS []Selector
	OutChild uint64
	Trap     bool
}

// Stats are per-SA counters.
type Stats struct {
	Bytes, Packets uint64
	LastUsed       time.Time // last packet sealed (Out) or successfully opened (In); zero if none
	ReplayDrops    uint64
	AuthFails      uint64
}

// EventKind says what happened.
type EventKind uint8

const (
	EventUnknownSPI EventKind = 1 // ESP arrived on an SPI with no inbound SA
	EventAcquire    EventKind = 2 // a packet matched a trapping policy with no SA
	EventSoftExpire EventKind = 3
	EventHardExpire EventKind = 4
	EventActive     EventKind = 5 // a packet passed an SA that WatchSA was watching
)

func (k EventKind) String() string {
	switch k {
	case EventUnknownSPI:
		return "unknown-spi"
	case EventAcquire:
		return "acquire"
	case EventSoftExpire:
		return "soft-expire"
	case EventHardExpire:
		return "hard-expire"
	case EventActive:
		return "active"
	}
	return "?"
}

// Event is reported on the Events channel. Rate limiting and counting happen in the dataplane:
// Suppressed says how many similar events were dropped since the last one delivered.
type Event struct {
	Kind   EventKind
	Time   time.Time
	SPI    uint32
	Dir    Direction
	Tunnel string
	// Child is the SAConfig.ChildID of the SA (lifetime events); identify outbound SAs by it,
	// never by SPI. Zero for EventUnknownSPI and EventAcquire.
	Child      uint64
	Src        netip.AddrPort // EventUnknownSPI: outer source of the ESP packet; EventAcquire: inner source
	Dst        netip.AddrPort // EventUnknownSPI: our outer address; EventAcquire: inner destination
	Suppressed uint64
}

// IKEHandler receives IKE messages (without the non-ESP marker). local is the address and port
// the message arrived on, remote the sender. msg is only valid during the call.
type IKEHandler func(local, remote netip.AddrPort, msg []byte)

// Dataplane is the interface the control plane uses.
type Dataplane interface {
	// AddSA installs one direction of a Child SA; it never replaces one. It fails with an
	// error wrapping ErrExists if an inbound SA with c.SPI exists (In), or if c.ChildID already
	// has an outbound SA or another outbound SA has the same SPI towards the same remote
	// address (Out). A failed AddSA changes nothing.
	AddSA(c SAConfig) error
	// DeleteSA removes an SA; unknown ones return an error wrapping ErrNotFound.
	DeleteSA(r SARef) error
	// SAStats reports counters of an installed SA.
	SAStats(r SARef) (Stats, bool)
	// WatchSA asks for one EventActive (with the SA's Child, SPI and direction) when the next
	// packet passes the SA, so that a control plane need not poll an idle SA's counters. If a
	// packet passed it after since already, it watches nothing and returns true. It fails
	// with ErrNotFound if the SA is not installed.
	WatchSA(r SARef, since time.Time) (active bool, err error)
	// UpdateRemote changes the outer remote address and port of both halves of Child SA child
	// in place (NAT rebinding, RFC 7296 2.23): the port must be 0 for EncapRaw and non-zero
	// for EncapUDP. It fails with ErrNotFound if child has no SA, and with ErrExists if
	// another outbound SA has the same SPI towards the new address.
	UpdateRemote(child uint64, remote netip.AddrPort) error
	// SetPolicy adds or replaces the policy of p.Tunnel. Implementations that own a TUN device
	// route p.RemoteTS through it (routes are removed by DeletePolicy and Close).
	SetPolicy(p Policy) error
	// DeletePolicy removes a tunnel's policy (and drops its queue).
	DeletePolicy(tunnel string) error
	// SetPolicies and DeletePolicies do the same for many tunnels at once (start-up, reload,
	// shutdown), as one change: a gateway with 100,000 tunnels must not pay 100,000 times for
	// publishing a new policy table.
	SetPolicies(ps []Policy) error
	DeletePolicies(tunnels []string) error
	// SendIKE sends an IKE message from local to remote; with local port 4500 the non-ESP
	// marker is prepended.
	SendIKE(local, remote netip.AddrPort, msg []byte) error
	// SendKeepalive sends a NAT keepalive (RFC 3948 2.3: one 0xFF octet) from local port 4500
	// to remote, to keep a NAT's mapping of our ESP-in-UDP flow.
	SendKeepalive(local, remote netip.AddrPort) error
	// Listen makes sure IKE/ESP sockets exist on addr (ports from the dataplane's config).
	Listen(addr netip.Addr) error
	// Events delivers dataplane events; the channel is buffered and never closed before Close.
	Events() <-chan Event
	// Failed delivers one error if the dataplane stops working on its own before Close (a
	// worker died: the TUN device or a socket failed). The daemon cannot carry traffic any
	// more and should exit so that it is restarted. The channel is never closed; a nil
	// channel means the dataplane cannot fail that way.
	Failed() <-chan error
	// Close releases sockets, routes and devices.
	Close() error
}

// ErrNotFound is returned for SPIs or tunnels that are not installed.
var ErrNotFound = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }

// ErrExists is returned by AddSA (and UpdateRemote) for an SA that would clash with an
// installed one: installed SAs are never replaced.
var ErrExists = errExists{}

type errExists struct{}

func (errExists) Error() string { return "already exists" }
