// Package dataplane is the boundary between Vigil's control plane (IKE) and the packet path.
//
// The control plane installs SAs and policies and sends IKE messages through a Dataplane; the
// dataplane delivers received IKE messages to an IKEHandler and reports what happens to packets
// (unknown SPIs, acquires, lifetime expiry) as Events. Two implementations exist: the TUN+UDP one
// in dataplane/tunudp that carries real traffic, and an in-memory one in dataplane/memory for tests.
package dataplane

import (
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

// SAConfig is everything the dataplane needs to install one direction of a Child SA.
type SAConfig struct {
	SPI     uint32
	Dir     Direction
	Tunnel  string // owning tunnel name (for events and counters)
	ChildID uint64 // control-plane id of the Child SA pair

	Local  netip.AddrPort // our outer address (port 4500 with EncapUDP)
	Remote netip.AddrPort // the peer's outer address
	Encap  Encap

	Encr     uint16 // IANA IKEv2 transform IDs (crypto.Encr*, esp.Encr*)
	EncrKey  []byte // AEAD: key||salt
	Integ    uint16
	IntegKey []byte
	ESN      bool

	ReplayWindow int // inbound only

	// Lifetimes; zero means unlimited. Crossing a soft limit raises EventSoftExpire once,
	// a hard limit raises EventHardExpire and the SA stops passing traffic.
	SoftBytes, HardBytes     uint64
	SoftPackets, HardPackets uint64
}

// Policy binds a tunnel's selectors to its current outbound SA. Packets read from the TUN device
// whose source matches LocalTS and destination matches RemoteTS are sealed with OutSPI.
// With OutSPI == 0 the policy holds: matching packets are queued (a small bounded queue) and, if
// Trap is set, an EventAcquire is raised (rate limited). Setting OutSPI later flushes the queue
// through the new SA.
type Policy struct {
	Tunnel   string
	LocalTS  []Selector
	RemoteTS []Selector
	OutSPI   uint32
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
	}
	return "?"
}

// Event is reported on the Events channel. Rate limiting and counting happen in the dataplane:
// Suppressed says how many similar events were dropped since the last one delivered.
type Event struct {
	Kind       EventKind
	Time       time.Time
	SPI        uint32
	Dir        Direction
	Tunnel     string
	Src        netip.AddrPort // EventUnknownSPI: outer source of the ESP packet; EventAcquire: inner source
	Dst        netip.AddrPort // EventUnknownSPI: our outer address; EventAcquire: inner destination
	Suppressed uint64
}

// IKEHandler receives IKE messages (without the non-ESP marker). local is the address and port
// the message arrived on, remote the sender. msg is only valid during the call.
type IKEHandler func(local, remote netip.AddrPort, msg []byte)

// Dataplane is the interface the control plane uses.
type Dataplane interface {
	// AddSA installs one direction of a Child SA. Installing an SPI that exists replaces it.
	AddSA(c SAConfig) error
	// DeleteSA removes an SA; unknown SPIs return an error wrapping ErrNotFound.
	DeleteSA(spi uint32, dir Direction) error
	// SAStats reports counters of an installed SA.
	SAStats(spi uint32, dir Direction) (Stats, bool)
	// SetPolicy adds or replaces the policy of p.Tunnel. Implementations that own a TUN device
	// route p.RemoteTS through it (routes are removed by DeletePolicy and Close).
	SetPolicy(p Policy) error
	// DeletePolicy removes a tunnel's policy (and drops its queue).
	DeletePolicy(tunnel string) error
	// SendIKE sends an IKE message from local to remote; with local port 4500 the non-ESP
	// marker is prepended.
	SendIKE(local, remote netip.AddrPort, msg []byte) error
	// Listen makes sure IKE/ESP sockets exist on addr (ports from the dataplane's config).
	Listen(addr netip.Addr) error
	// Events delivers dataplane events; the channel is buffered and never closed before Close.
	Events() <-chan Event
	// Close releases sockets, routes and devices.
	Close() error
}

// ErrNotFound is returned for SPIs or tunnels that are not installed.
var ErrNotFound = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }
