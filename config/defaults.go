package config

import "time"

// Default values of the optional settings.
const (
	DefaultSocket            = "/run/vigil/vigil.sock"
	DefaultIKEPort           = 500
	DefaultNATTPort          = 4500
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "text"
	DefaultMetricsAddr       = "127.0.0.1:9745"
	DefaultCookieThreshold   = 500
	DefaultHalfOpenMax       = 20000
	DefaultHalfOpenPerSource = 2000
	DefaultTUNName           = "vigil0"
	DefaultDHReuse           = time.Second
	// MaxDHReuse caps dh_reuse: a longer reuse buys no speed (one value per second is
	// already nothing next to the exchanges it serves) and weakens forward secrecy.
	MaxDHReuse = time.Minute

	DefaultRetransmitTimeout    = 500 * time.Millisecond
	DefaultRetransmitBase       = 1.8
	DefaultRetransmitTries      = 5
	DefaultRetransmitMaxTimeout = 4 * time.Second

	DefaultPerSPIInterval  = time.Second
	DefaultPerPeerRate     = 10
	DefaultUnprotectedRate = 10

	DefaultVersion      = 2
	DefaultRemotePort   = 500
	DefaultIKEProposals = "aes128gcm16-prfsha256-x25519"
	// DefaultIKEv1Proposals is the ike_proposals default of version = 1 tunnels.
	DefaultIKEv1Proposals = "aes128-sha256-ecp256,aes256-sha256-modp2048"
	DefaultESPProposals   = "aes128gcm16"
	DefaultIKELifetime    = 4 * time.Hour
	DefaultChildLifetime  = time.Hour
	DefaultStartAction    = "none"
	DefaultEncap          = "auto"
	DefaultDPDDelay       = 10 * time.Second
	DefaultDPDTimeout     = 10 * time.Second
	DefaultChildProbe     = 3 * time.Second
	DefaultHealDelay      = time.Second
	DefaultReplayWindow   = 1024
)

// Accepted values of the enumerated settings.
var (
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"text", "json"}
	startActions = []string{"start", "trap", "none"}
	encaps       = []string{"auto", "udp", "raw"}
)

// DefaultGlobal returns the global settings used when [global] is empty.
func DefaultGlobal() Global {
	return Global{
		Socket:            DefaultSocket,
		IKEPort:           DefaultIKEPort,
		NATTPort:          DefaultNATTPort,
		LogLevel:          DefaultLogLevel,
		LogFormat:         DefaultLogFormat,
		MetricsAddr:       DefaultMetricsAddr,
		DHReuse:           DefaultDHReuse,
		CookieThreshold:   DefaultCookieThreshold,
		HalfOpenMax:       DefaultHalfOpenMax,
		HalfOpenPerSource: DefaultHalfOpenPerSource,
		Retransmit: Retransmit{
			Timeout:    DefaultRetransmitTimeout,
			Base:       DefaultRetransmitBase,
			Tries:      DefaultRetransmitTries,
			MaxTimeout: DefaultRetransmitMaxTimeout,
		},
		TUNName: DefaultTUNName,
		InvalidSPI: InvalidSPI{
			PerSPIInterval:  DefaultPerSPIInterval,
			PerPeerRate:     DefaultPerPeerRate,
			UnprotectedRate: DefaultUnprotectedRate,
		},
	}
}

// defaultTunnel returns a tunnel with every optional setting at its
// default; local_port follows the global IKE port.
func defaultTunnel(name string, line int, g *Global) Tunnel {
	return Tunnel{
		Name:          name,
		Line:          line,
		Version:       DefaultVersion,
		LocalPort:     g.IKEPort,
		RemotePort:    DefaultRemotePort,
		IKEProposals:  DefaultIKEProposals,
		ESPProposals:  DefaultESPProposals,
		IKEParsed:     defaultIKEParsed,
		ESPParsed:     defaultESPParsed,
		IKELifetime:   DefaultIKELifetime,
		ChildLifetime: DefaultChildLifetime,
		StartAction:   DefaultStartAction,
		Encap:         DefaultEncap,
		DPDDelay:      DefaultDPDDelay,
		DPDTimeout:    DefaultDPDTimeout,
		ChildProbe:    DefaultChildProbe,
		Heal:          true,
		HealDelay:     DefaultHealDelay,
		ReplayWindow:  DefaultReplayWindow,
	}
}
