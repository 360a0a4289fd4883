package config

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// Config is a loaded and validated configuration: the main file and the files it includes.
type Config struct {
	File     string   // path of the main file
	Global   Global   // [global]
	Includes []string // the included files, in the order their tunnels come in Tunnels
	// Tunnels are the [tunnel.NAME] tables: the main file's in file order, then each included
	// file's in turn.
	Tunnels []Tunnel

	byName nameIndex // tunnel name -> index in Tunnels, when built by Parse
	loader *Loader   // the Loader whose Load returned this Config, if any
}

// Loader returns the Loader whose Load returned c (Load uses one of its own), or nil for a
// Config from Parse or built by hand. Loading again with it reads only the included files
// that changed since.
func (c *Config) Loader() *Loader {
	if c == nil {
		return nil
	}
	return c.loader
}

// Tunnel returns the tunnel called name, or nil if there is none.
func (c *Config) Tunnel(name string) *Tunnel {
	if c == nil {
		return nil
	}
	if c.byName.slots != nil {
		if i := c.byName.find(len(c.Tunnels), c.tunnelName, name); i >= 0 {
			return &c.Tunnels[i]
		}
		return nil
	}
	for i := range c.Tunnels { // Config built by hand rather than by Parse
		if c.Tunnels[i].Name == name {
			return &c.Tunnels[i]
		}
	}
	return nil
}

// tunnelName is the name of c.Tunnels[i], for the name index.
func (c *Config) tunnelName(i int) string { return c.Tunnels[i].Name }

// nameIn returns the name of tunnels[i], for the name index.
func nameIn(tunnels []Tunnel) func(int) string {
	return func(i int) string { return tunnels[i].Name }
}

// Global holds daemon-wide settings, the [global] table.
type Global struct {
	Socket            string     // socket: control API Unix socket path
	IKEPort           int        // ike_port: UDP port for IKE
	NATTPort          int        // natt_port: UDP port for IKE and ESP behind NAT
	LogLevel          string     // log_level: debug, info, warn or error
	LogFormat         string     // log_format: text or json
	MetricsAddr       string     // metrics_addr: host:port of the metrics endpoint; "" disables it
	CookieThreshold   int        // cookie_threshold: half-open IKE SAs before a COOKIE is demanded (0: always)
	HalfOpenMax       int        // half_open_max: cap on half-open IKE SAs in all
	HalfOpenPerSource int        // half_open_per_source: cap on half-open IKE SAs from one address
	Retransmit        Retransmit // [global.retransmit]
	TUNName           string     // tun_name: name of the TUN interface
	// DHReuse (dh_reuse): how long one Diffie-Hellman value of ours serves every exchange
	// that needs one of its group (RFC 7296 2.12); 0 makes one per exchange.
	DHReuse    time.Duration
	InvalidSPI InvalidSPI // [global.invalid_spi]
}

// Retransmit controls IKE request retransmission, the [global.retransmit]
// table. The n-th retransmission (n from 0) waits
// min(Timeout * Base^n, MaxTimeout); the exchange fails after Tries
// retransmissions.
type Retransmit struct {
	Timeout    time.Duration // timeout: first wait
	Base       float64       // base: growth factor, at least 1
	Tries      int           // tries: retransmissions before giving up
	MaxTimeout time.Duration // max_timeout: cap on a single wait
}

// InvalidSPI rate-limits INVALID_SPI handling, the [global.invalid_spi] table.
type InvalidSPI struct {
	PerSPIInterval  time.Duration // per_spi_interval: at most one notification per SPI per interval
	PerPeerRate     int           // per_peer_rate: notifications per second per peer
	Unprotected     bool          // unprotected: also send unprotected notifications to peers with no IKE SA
	UnprotectedRate int           // unprotected_rate: unprotected notifications per second, global
}

// Tunnel is one [tunnel.NAME] table: a peer and the traffic it protects.
//
// A configuration may hold 100,000 tunnels, so a Tunnel is kept small: the booleans share a
// word, and tunnels of one Config share equal slices (parsed proposals, identities, subnet
// lists). Like the whole Config, a Tunnel is read-only once loaded.
type Tunnel struct {
	Name string // the table key
	File string // the file it is in: the main file or an included one
	Line int    // line of the table header in File
	// Gen is the generation of the tunnel's settings: non-zero, new for every parse of its
	// file, the same for tunnels a Loader reused from an unchanged included file. Two tunnels
	// of the same Gen and name are the same settings.
	Gen uint64

	Version    int        // version: IKE version, 2 (or 1)
	LocalAddr  netip.Addr // local_addr: our IKE address
	RemoteAddr netip.Addr // remote_addr: the peer's IKE address (same family)
	LocalPort  int        // local_port: defaults to global ike_port
	RemotePort int        // remote_port: the peer's IKE port
	LocalID    Identity   // local_id: defaults to the local_addr identity
	RemoteID   Identity   // remote_id: defaults to the remote_addr identity
	PSK        Secret     // psk, or the content of psk_file; at least 16 bytes

	LocalTS  []netip.Prefix // local_subnets: protected networks on our side
	RemoteTS []netip.Prefix // remote_subnets: protected networks behind the peer

	IKEProposals string // ike_proposals: strongSwan proposal syntax, comma-separated, as written
	ESPProposals string // esp_proposals: strongSwan proposal syntax, comma-separated, as written
	// IKEParsed and ESPParsed are IKEProposals and ESPProposals parsed. This package is the
	// only place that parses proposal strings; everything else uses these.
	IKEParsed []crypto.Proposal
	ESPParsed []crypto.Proposal

	IKELifetime      time.Duration // ike_lifetime: IKE SA rekey time; 0 never rekeys
	ChildLifetime    time.Duration // child_lifetime: Child SA rekey time; 0 never rekeys
	ChildLifeBytes   uint64        // child_life_bytes: rekey after this many bytes; 0 unlimited
	ChildLifePackets uint64        // child_life_packets: rekey after this many packets; 0 unlimited

	StartAction string // start_action: "start", "trap" or "none"
	Encap       string // encap: "auto", "udp" (force ESP-in-UDP on port 4500) or "raw"

	DPDDelay     time.Duration // dpd_delay: idle time before a liveness check; 0 disables
	DPDTimeout   time.Duration // dpd_timeout: time without answer before the peer is declared dead
	ChildProbe   time.Duration // child_probe: Child SA probe interval; 0 disables
	HealDelay    time.Duration // heal_delay: how long the peer may take to replace a Child SA we lost
	ReplayWindow int           // replay_window: ESP anti-replay window in packets; 0 or less than 1024 means 1024 (the minimum)
	Heal         bool          // heal: repair the tunnel when this side lost its state
	Mobike       bool          // mobike: reserved, currently ignored
}
