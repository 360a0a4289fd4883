package api

import "time"

// Version is the API version; every route is under /v1.
const Version = "v1"

// Tunnel states reported in Tunnel.State.
const (
	StateUp         = "up"
	StateConnecting = "connecting"
	StateDown       = "down"
)

// Status is the daemon's overview (GET /v1/status).
type Status struct {
	Version    string    `json:"version"` // daemon version
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	Uptime     Duration  `json:"uptime"`
	ConfigFile string    `json:"config_file"`
	Tunnels    int       `json:"tunnels"`    // configured
	TunnelsUp  int       `json:"tunnels_up"` // with an established Child SA
	IKESAs     int       `json:"ike_sas"`
	ChildSAs   int       `json:"child_sas"`
	LogLevel   string    `json:"log_level"`
	// Healthy is false once the daemon cannot work any more (its dataplane failed); Problem
	// says why. The daemon then shuts down and exits non-zero.
	Healthy bool   `json:"healthy"`
	Problem string `json:"problem,omitempty"`
}

// VersionInfo answers GET /v1/version.
type VersionInfo struct {
	API    string `json:"api"`    // Version
	Daemon string `json:"daemon"` // Status.Version
	Go     string `json:"go"`     // Go toolchain that built the daemon
}

// Tunnel is one configured connection and its current state.
type Tunnel struct {
	Name        string    `json:"name"`
	State       string    `json:"state"`   // StateUp, StateConnecting or StateDown
	Version     int       `json:"version"` // IKE version (2)
	Local       string    `json:"local"`   // local address
	Remote      string    `json:"remote"`  // peer address
	LocalID     string    `json:"local_id"`
	RemoteID    string    `json:"remote_id"`
	LocalTS     []string  `json:"local_ts"`
	RemoteTS    []string  `json:"remote_ts"`
	StartAction string    `json:"start_action"`
	IKESAs      int       `json:"ike_sas"`
	ChildSAs    int       `json:"child_sas"`
	Since       time.Time `json:"since,omitzero"` // when State last changed
	LastEvent   string    `json:"last_event,omitempty"`
}

// IKESA is an IKE SA and the Child SAs it negotiated.
type IKESA struct {
	ID          uint64    `json:"id"`
	Tunnel      string    `json:"tunnel"`
	SPIi        string    `json:"spi_i"` // "%016x"
	SPIr        string    `json:"spi_r"` // "%016x"
	Initiator   bool      `json:"initiator"`
	State       string    `json:"state"`
	Local       string    `json:"local"`
	Remote      string    `json:"remote"`
	Algorithms  string    `json:"algorithms"`
	Established time.Time `json:"established,omitzero"`
	Age         Duration  `json:"age"`
	RekeyIn     Duration  `json:"rekey_in"` // 0 = no rekey scheduled
	Children    []ChildSA `json:"children"`
}

// ChildSA is a pair of ESP SAs (inbound and outbound).
type ChildSA struct {
	ID          uint64    `json:"id"`
	Tunnel      string    `json:"tunnel"`
	IKESA       uint64    `json:"ike_sa"` // ID of the parent IKESA
	SPIIn       SPI       `json:"spi_in"`
	SPIOut      SPI       `json:"spi_out"`
	State       string    `json:"state"`
	Algorithms  string    `json:"algorithms"`
	Encap       string    `json:"encap,omitempty"` // e.g. "udp" for NAT-T, "" for plain ESP
	LocalTS     []string  `json:"local_ts"`
	RemoteTS    []string  `json:"remote_ts"`
	Established time.Time `json:"established,omitzero"`
	Age         Duration  `json:"age"`
	RekeyIn     Duration  `json:"rekey_in"` // 0 = no rekey scheduled
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
	PacketsIn   uint64    `json:"packets_in"`
	PacketsOut  uint64    `json:"packets_out"`
	LastIn      time.Time `json:"last_in,omitzero"`  // zero = never
	LastOut     time.Time `json:"last_out,omitzero"` // zero = never
	ReplayDrops uint64    `json:"replay_drops"`      // inbound packets dropped as replays
	AuthFails   uint64    `json:"auth_fails"`        // inbound packets that failed the integrity check
}

// Event is one entry of the daemon's timeline (dead-peer and invalid-SPI detection, recovery,
// tunnel state changes, rekeys, deletes).
type Event struct {
	Seq       uint64    `json:"seq"` // increasing, starting at 1
	Time      time.Time `json:"time"`
	Tunnel    string    `json:"tunnel,omitempty"`
	Kind      string    `json:"kind"`            // "detect", "action", "recovered", "up", "down", "rekey", "delete", ...
	Cause     string    `json:"cause,omitempty"` // "invalid-spi", "child-probe", "dpd", "manual", "peer-delete", ...
	Peer      string    `json:"peer,omitempty"`
	SPI       SPI       `json:"spi,omitempty"` // 0 if none
	Protected *bool     `json:"protected,omitempty"`
	Message   string    `json:"message,omitempty"`
	OutageMS  float64   `json:"outage_ms,omitempty"` // > 0 on "recovered"
}

// ReloadResult lists tunnel names by what a configuration reload did to them.
type ReloadResult struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
	// Unchanged names the tunnels left as they were, if there are at most MaxListedUnchanged
	// or the request asked for all (?unchanged=all); UnchangedCount always counts them.
	Unchanged      []string `json:"unchanged"`
	UnchangedCount int      `json:"unchanged_count"`
}

// MaxListedUnchanged bounds the unchanged tunnels a reload's answer names unless asked for
// all: a gateway with 100,000 tunnels would otherwise answer a one-tunnel edit with 1.3 MB.
const MaxListedUnchanged = 1000

// DeleteResult reports a Child SA deleted by DELETE /v1/sas/child/{spi}.
type DeleteResult struct {
	Tunnel   string `json:"tunnel"`
	SPIIn    SPI    `json:"spi_in"`
	SPIOut   SPI    `json:"spi_out"`
	Notified bool   `json:"notified"` // an INFORMATIONAL Delete was sent to the peer
	Action   string `json:"action"`   // what the daemon did next, e.g. "none", "restart"
}

// LogLevelRequest is the body of PUT /v1/log-level (and its response).
type LogLevelRequest struct {
	Level string `json:"level"`
}
