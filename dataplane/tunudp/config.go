package tunudp

import (
	"errors"
	"log/slog"
	"net/netip"

	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// Defaults.
const (
	DefaultTUNName  = "vigil0"
	DefaultLinkMTU  = 1500
	DefaultIKEPort  = 500
	DefaultNATTPort = 4500
)

// Worst-case ESP overhead over the transforms esp supports: SPI+Seq (8), IV (16, AES-CBC),
// padding to a 16-byte block (15), Pad Length + Next Header (2), ICV (32, HMAC-SHA2-512-256).
const maxESPOverhead = 8 + 16 + 15 + 2 + 32

// Config configures a Dataplane.
type Config struct {
	// TUNName is the TUN device to create (default DefaultTUNName).
	TUNName string
	// LinkMTU is the MTU of the path carrying the outer packets (default 1500).
	LinkMTU int
	// MTU is the TUN device MTU. Zero computes DefaultMTU(LinkMTU): the largest inner packet
	// that still fits LinkMTU after outer IPv4 + UDP + worst-case ESP. Packets bigger than
	// what their SA's actual overhead allows are answered with ICMP (see Dataplane).
	MTU int
	// TUNAddrs are optional addresses to assign to the TUN device.
	TUNAddrs []netip.Prefix
	// IKEPort and NATTPort are the UDP ports (default 500 and 4500).
	IKEPort, NATTPort uint16
	// Addrs are the local addresses to listen on (more can be added with Listen).
	Addrs []netip.Addr
	// Raw also opens IP protocol 50 sockets on each address, for SAs with EncapRaw.
	Raw bool
	// UnknownSPI limits unknown-SPI events.
	UnknownSPI sad.UnknownSPILimits
	// QueueLen is the per-policy hold queue (default sad.DefaultQueueLen).
	QueueLen int
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

// DefaultMTU returns the TUN MTU for a link MTU when the outer header is IPv4+UDP.
func DefaultMTU(linkMTU int) int { return linkMTU - 20 - 8 - maxESPOverhead }

func (c *Config) setDefaults() error {
	if c.TUNName == "" {
		c.TUNName = DefaultTUNName
	}
	if c.LinkMTU == 0 {
		c.LinkMTU = DefaultLinkMTU
	}
	if c.LinkMTU < 576 || c.LinkMTU > 65535 {
		return errors.New("tunudp: LinkMTU out of range")
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU(c.LinkMTU)
	}
	if c.MTU < 576 || c.MTU > 65535-maxESPOverhead-48 {
		return errors.New("tunudp: MTU out of range")
	}
	if c.IKEPort == 0 {
		c.IKEPort = DefaultIKEPort
	}
	if c.NATTPort == 0 {
		c.NATTPort = DefaultNATTPort
	}
	if c.IKEPort == c.NATTPort {
		return errors.New("tunudp: IKEPort and NATTPort must differ")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
