package api

import "context"

// Backend is what the server exposes: implemented by the daemon. Methods are called concurrently.
// Errors should wrap ErrNotFound, ErrBadRequest or ErrConflict where one applies; their message
// is shown to the user as is.
type Backend interface {
	Status() Status
	Tunnels() []Tunnel
	Tunnel(name string) (Tunnel, error)
	TunnelUp(name string) error
	TunnelDown(name string) error
	// SAs lists IKE SAs with their Child SAs; tunnel "" means all tunnels.
	SAs(tunnel string) []IKESA
	// ChildSA finds a Child SA by its inbound or outbound SPI, among the Child SAs of tunnel
	// unless it is "". Peers choose the outbound SPIs, so two may coincide: an SPI that names
	// several Child SAs is ErrConflict, with a message that lists them and says how to pick
	// one (the tunnel, or the inbound SPI). The same holds for DeleteChildSA and RekeyChildSA.
	ChildSA(spi SPI, tunnel string) (ChildSA, error)
	// DeleteChildSA removes the Child SA with that SPI (either direction), telling the peer if
	// notify is set.
	DeleteChildSA(spi SPI, tunnel string, notify bool) (DeleteResult, error)
	// RekeyChildSA starts a make-before-break rekey of the Child SA with that SPI (either
	// direction): the new Child SA is installed before the old one is deleted. It returns once
	// the rekey is under way (ErrNotFound for an unknown SPI, ErrConflict if the SA cannot be
	// rekeyed now, e.g. a rekey is already running).
	RekeyChildSA(spi SPI, tunnel string) error
	// RekeyIKESA starts a rekey of the tunnel's IKE SA and returns once it is under way
	// (ErrNotFound for an unknown tunnel, ErrConflict if it has no established IKE SA).
	RekeyIKESA(tunnel string) error
	// Events returns the retained events with Seq > since, oldest first; tunnel "" means all.
	Events(tunnel string, since uint64) []Event
	// Subscribe delivers live events (of one tunnel, or all if ""); the channel is closed when
	// ctx ends (or if the backend gives up on a slow subscriber).
	Subscribe(ctx context.Context, tunnel string) <-chan Event
	Reload() (ReloadResult, error)
	SetLogLevel(level string) error
}
