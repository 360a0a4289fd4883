package swan

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Conf describes the single connection a Charon is started with, plus the
// daemon's retransmission settings. Zero values leave strongSwan's defaults.
type Conf struct {
	// Name is the connection (IKE SA config) name.
	Name string
	// ChildName is the CHILD_SA config name; empty means Name.
	ChildName string
	// Version is the IKE version, 2 (default when 0) or 1.
	Version int

	// LocalAddr and RemoteAddr are the IKE endpoints (swanctl local_addrs and
	// remote_addrs; "%any" is allowed).
	LocalAddr, RemoteAddr string
	// LocalID and RemoteID are the IKE identities; empty means the address.
	LocalID, RemoteID string
	// PSK is the pre-shared key used for both directions. It is written only
	// to swanctl.conf (hex-encoded) and never printed.
	PSK string

	// LocalTS and RemoteTS are the traffic selectors, e.g. "10.1.0.0/24".
	LocalTS, RemoteTS []string
	// IKEProposals and ESPProposals are in strongSwan syntax, e.g.
	// "aes128gcm16-prfsha256-x25519" and "aes128gcm16"; several proposals
	// are comma-separated. Empty means strongSwan's default.
	IKEProposals, ESPProposals string

	// RekeyTime is the IKE SA rekey time; LifeTime the hard IKE SA lifetime
	// (written as over_time = LifeTime - RekeyTime, so it needs RekeyTime).
	RekeyTime, LifeTime time.Duration
	// ChildRekeyTime and ChildLifeTime are the CHILD_SA rekey_time and
	// life_time. strongSwan also applies a random jitter (rand_time);
	// set ExtraChildOptions["rand_time"] = "0" for exact timing.
	ChildRekeyTime, ChildLifeTime time.Duration
	// DPDDelay is the dead peer detection interval (dpd_delay).
	DPDDelay time.Duration
	// StartAction is the child start_action: "none" (default), "trap" or "start".
	StartAction string
	// Encap sets swanctl encap = yes (fake NAT detection to force UDP
	// encapsulation). With kernel-libipsec charon fakes NAT detection
	// anyway, so this changes nothing on the wire; it is kept for clarity.
	Encap bool

	// ExtraConnOptions and ExtraChildOptions are added to (or override) the
	// generated connection and child sections, e.g. {"rekey_time": "0"},
	// {"mobike": "no"}, {"dpd_action": "restart"}.
	ExtraConnOptions, ExtraChildOptions map[string]string

	// RetransmitTries, RetransmitTimeout and RetransmitBase set
	// charon.retransmit_tries/_timeout/_base in strongswan.conf.
	RetransmitTries   int
	RetransmitTimeout time.Duration
	RetransmitBase    float64
}

// String describes the connection without the PSK.
func (c Conf) String() string {
	return fmt.Sprintf("swan.Conf{%s: %s(%s) <-> %s(%s), ts %v <-> %v, ike %q, esp %q, psk set: %v}",
		c.Name, c.LocalAddr, c.LocalID, c.RemoteAddr, c.RemoteID, c.LocalTS, c.RemoteTS,
		c.IKEProposals, c.ESPProposals, c.PSK != "")
}

// GoString is String, so %#v does not print the PSK either.
func (c Conf) GoString() string { return c.String() }

// child returns the CHILD_SA config name.
func (c Conf) child() string {
	if c.ChildName != "" {
		return c.ChildName
	}
	return c.Name
}

// validate checks the fields that are not passed through verbatim.
func (c Conf) validate() error {
	if err := checkName(c.Name); err != nil {
		return fmt.Errorf("swan: connection name: %w", err)
	}
	if err := checkName(c.child()); err != nil {
		return fmt.Errorf("swan: child name: %w", err)
	}
	if c.Version != 0 && c.Version != 1 && c.Version != 2 {
		return fmt.Errorf("swan: IKE version %d, want 1 or 2", c.Version)
	}
	if c.LocalAddr == "" || c.RemoteAddr == "" {
		return fmt.Errorf("swan: %s: LocalAddr and RemoteAddr are required", c.Name)
	}
	if c.PSK == "" {
		return fmt.Errorf("swan: %s: PSK is required", c.Name)
	}
	if len(c.LocalTS) == 0 || len(c.RemoteTS) == 0 {
		return fmt.Errorf("swan: %s: LocalTS and RemoteTS are required", c.Name)
	}
	switch c.StartAction {
	case "", "none", "trap", "start":
	default:
		return fmt.Errorf("swan: start action %q, want none, trap or start", c.StartAction)
	}
	if c.LifeTime != 0 && c.LifeTime <= c.RekeyTime {
		return fmt.Errorf("swan: LifeTime %v must exceed RekeyTime %v", c.LifeTime, c.RekeyTime)
	}
	if c.LifeTime != 0 && c.RekeyTime == 0 {
		return fmt.Errorf("swan: LifeTime needs RekeyTime (strongSwan's over_time is relative)")
	}
	for _, d := range []time.Duration{c.RekeyTime, c.LifeTime, c.ChildRekeyTime, c.ChildLifeTime, c.DPDDelay} {
		if d < 0 || d%time.Second != 0 {
			return fmt.Errorf("swan: duration %v is not a whole number of seconds", d)
		}
	}
	if c.RetransmitTries < 0 || c.RetransmitTimeout < 0 || c.RetransmitBase < 0 {
		return fmt.Errorf("swan: negative retransmit setting")
	}
	return nil
}

// checkName accepts names usable as swanctl section names and VICI keys.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q: want 1-64 characters", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%q: invalid character %q", s, r)
		}
	}
	return nil
}

// secs formats a whole-second duration for strongSwan.
func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

// swanctlConf renders the swanctl.conf loading c.
func (c Conf) swanctlConf() (string, error) {
	conn, secret, err := c.sections()
	if err != nil {
		return "", err
	}
	root := &section{}
	root.sub("connections").subs = append(root.sub("connections").subs, named{c.Name, conn})
	root.sub("secrets").subs = append(root.sub("secrets").subs, named{"ike-" + c.Name, secret})

	var b strings.Builder
	b.WriteString("# swanctl.conf generated by vigil internal/swan\n")
	if err := root.write(&b, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

// sections validates c and returns its connection section (named c.Name under
// "connections") and its PSK section (named "ike-"+c.Name under "secrets").
func (c Conf) sections() (conn, secret *section, err error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	version := c.Version
	if version == 0 {
		version = 2
	}
	localID, remoteID := c.LocalID, c.RemoteID
	if localID == "" {
		localID = c.LocalAddr
	}
	if remoteID == "" {
		remoteID = c.RemoteAddr
	}

	conn = &section{}
	conn.set("version", strconv.Itoa(version))
	conn.set("local_addrs", c.LocalAddr)
	conn.set("remote_addrs", c.RemoteAddr)
	if c.IKEProposals != "" {
		conn.set("proposals", c.IKEProposals)
	}
	if c.RekeyTime != 0 {
		conn.set("rekey_time", secs(c.RekeyTime))
	}
	if c.LifeTime != 0 {
		conn.set("over_time", secs(c.LifeTime-c.RekeyTime))
	}
	if c.DPDDelay != 0 {
		conn.set("dpd_delay", secs(c.DPDDelay))
	}
	if c.Encap {
		conn.set("encap", "yes")
	}
	local := conn.sub("local")
	local.set("auth", "psk")
	local.set("id", localID)
	remote := conn.sub("remote")
	remote.set("auth", "psk")
	remote.set("id", remoteID)

	child := conn.sub("children").sub(c.child())
	child.set("local_ts", strings.Join(c.LocalTS, ","))
	child.set("remote_ts", strings.Join(c.RemoteTS, ","))
	if c.ESPProposals != "" {
		child.set("esp_proposals", c.ESPProposals)
	}
	if c.ChildRekeyTime != 0 {
		child.set("rekey_time", secs(c.ChildRekeyTime))
	}
	if c.ChildLifeTime != 0 {
		child.set("life_time", secs(c.ChildLifeTime))
	}
	if c.StartAction != "" {
		child.set("start_action", c.StartAction)
	}
	for _, extra := range []struct {
		s *section
		m map[string]string
	}{{conn, c.ExtraConnOptions}, {child, c.ExtraChildOptions}} {
		for _, k := range sortedKeys(extra.m) {
			if err := checkKey(k); err != nil {
				return nil, nil, err
			}
			extra.s.set(k, extra.m[k])
		}
	}

	secret = &section{}
	secret.set("id-local", localID)
	secret.set("id-remote", remoteID)
	secret.set("secret", "0x"+hex.EncodeToString([]byte(c.PSK)))
	return conn, secret, nil
}

// checkKey accepts swanctl option names.
func checkKey(k string) error {
	if err := checkName(k); err != nil {
		return fmt.Errorf("swan: option name %w", err)
	}
	return nil
}
