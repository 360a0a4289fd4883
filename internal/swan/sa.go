package swan

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/strongswan/govici/vici"
)

// IKESA is an IKE SA as reported by VICI list-sas (and the SA events).
type IKESA struct {
	Name      string // connection name
	UniqueID  uint32
	Version   int
	State     string // e.g. "CONNECTING", "ESTABLISHED", "REKEYED", "DELETING"
	Initiator bool   // this side initiated the IKE SA

	LocalHost, RemoteHost string
	LocalPort, RemotePort int
	LocalID, RemoteID     string
	// LocalSPI and RemoteSPI are 16 hex digits.
	LocalSPI, RemoteSPI string
	// NATAny is set when NAT was detected or faked (forced encapsulation).
	NATAny bool

	EncrAlg     string // e.g. "AES_GCM_16"
	EncrKeySize int    // bits
	IntegAlg    string // empty for AEADs
	PRFAlg      string // e.g. "PRF_HMAC_SHA2_256"
	DHGroup     string // e.g. "CURVE_25519"

	Established time.Duration // time since establishment
	Children    []ChildSA     // ordered by UniqueID
}

// ChildSA is a CHILD_SA as reported by VICI.
type ChildSA struct {
	Name     string // child config name
	UniqueID uint32
	ReqID    uint32
	State    string // e.g. "INSTALLED", "REKEYING", "REKEYED", "DELETING"
	Mode     string // "TUNNEL", "TRANSPORT"
	Protocol string // "ESP", "AH"
	Encap    bool   // UDP encapsulation

	SPIIn, SPIOut uint32

	EncrAlg     string
	EncrKeySize int
	IntegAlg    string
	DHGroup     string // PFS group, if any
	ESN         bool

	BytesIn, PacketsIn, BytesOut, PacketsOut uint64
	InstallTime                              time.Duration // time since installation
	LocalTS, RemoteTS                        []string
}

// Gone reports whether the CHILD_SA is deleted and only waiting to be
// destroyed (strongSwan keeps deleted CHILD_SAs for a few seconds).
func (c ChildSA) Gone() bool { return c.State == "DELETED" || c.State == "DESTROYING" }

// Gone reports whether the IKE SA is being deleted or destroyed.
func (sa IKESA) Gone() bool { return sa.State == "DELETING" || sa.State == "DESTROYING" }

// LiveChildren returns the CHILD_SAs that are not Gone.
func (sa IKESA) LiveChildren() []ChildSA {
	var out []ChildSA
	for _, c := range sa.Children {
		if !c.Gone() {
			out = append(out, c)
		}
	}
	return out
}

// field accessors over a VICI message; a wrong type reads as absent.

func str(m *vici.Message, key string) string {
	s, _ := m.Get(key).(string)
	return s
}

func list(m *vici.Message, key string) []string {
	l, _ := m.Get(key).([]string)
	return slices.Clone(l)
}

func sub(m *vici.Message, key string) *vici.Message {
	s, _ := m.Get(key).(*vici.Message)
	return s
}

// numParser accumulates the first number parse error.
type numParser struct{ err error }

func (p *numParser) uint(m *vici.Message, key string, bits int) uint64 {
	s := str(m, key)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("swan: field %s: %w", key, err)
	}
	return v
}

func (p *numParser) hex32(m *vici.Message, key string) uint32 {
	s := str(m, key)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("swan: field %s: %w", key, err)
	}
	return uint32(v)
}

func (p *numParser) secs(m *vici.Message, key string) time.Duration {
	return time.Duration(p.uint(m, key, 32)) * time.Second
}

// parseIKESA converts the list-sas section of the IKE SA named name.
func parseIKESA(name string, m *vici.Message) (IKESA, error) {
	if m == nil {
		return IKESA{}, fmt.Errorf("swan: IKE SA %q: not a section", name)
	}
	var p numParser
	sa := IKESA{
		Name:        name,
		UniqueID:    uint32(p.uint(m, "uniqueid", 32)),
		Version:     int(p.uint(m, "version", 8)),
		State:       str(m, "state"),
		Initiator:   str(m, "initiator") == "yes",
		LocalHost:   str(m, "local-host"),
		RemoteHost:  str(m, "remote-host"),
		LocalPort:   int(p.uint(m, "local-port", 16)),
		RemotePort:  int(p.uint(m, "remote-port", 16)),
		LocalID:     str(m, "local-id"),
		RemoteID:    str(m, "remote-id"),
		NATAny:      str(m, "nat-any") == "yes",
		EncrAlg:     str(m, "encr-alg"),
		EncrKeySize: int(p.uint(m, "encr-keysize", 16)),
		IntegAlg:    str(m, "integ-alg"),
		PRFAlg:      str(m, "prf-alg"),
		DHGroup:     str(m, "dh-group"),
		Established: p.secs(m, "established"),
	}
	ispi, rspi := str(m, "initiator-spi"), str(m, "responder-spi")
	if sa.Initiator {
		sa.LocalSPI, sa.RemoteSPI = ispi, rspi
	} else {
		sa.LocalSPI, sa.RemoteSPI = rspi, ispi
	}
	if p.err != nil {
		return IKESA{}, fmt.Errorf("IKE SA %q: %w", name, p.err)
	}
	if children := sub(m, "child-sas"); children != nil {
		for _, key := range children.Keys() {
			c, err := parseChildSA(key, sub(children, key))
			if err != nil {
				return IKESA{}, fmt.Errorf("IKE SA %q: %w", name, err)
			}
			sa.Children = append(sa.Children, c)
		}
		slices.SortFunc(sa.Children, func(a, b ChildSA) int { return cmp.Compare(a.UniqueID, b.UniqueID) })
	}
	return sa, nil
}

// parseChildSA converts one child-sas entry (keyed "<name>-<uniqueid>").
func parseChildSA(key string, m *vici.Message) (ChildSA, error) {
	if m == nil {
		return ChildSA{}, fmt.Errorf("swan: CHILD_SA %q: not a section", key)
	}
	var p numParser
	c := ChildSA{
		Name:        str(m, "name"),
		UniqueID:    uint32(p.uint(m, "uniqueid", 32)),
		ReqID:       uint32(p.uint(m, "reqid", 32)),
		State:       str(m, "state"),
		Mode:        str(m, "mode"),
		Protocol:    str(m, "protocol"),
		Encap:       str(m, "encap") == "yes",
		SPIIn:       p.hex32(m, "spi-in"),
		SPIOut:      p.hex32(m, "spi-out"),
		EncrAlg:     str(m, "encr-alg"),
		EncrKeySize: int(p.uint(m, "encr-keysize", 16)),
		IntegAlg:    str(m, "integ-alg"),
		DHGroup:     str(m, "dh-group"),
		ESN:         str(m, "esn") == "1" || str(m, "esn") == "yes",
		BytesIn:     p.uint(m, "bytes-in", 64),
		PacketsIn:   p.uint(m, "packets-in", 64),
		BytesOut:    p.uint(m, "bytes-out", 64),
		PacketsOut:  p.uint(m, "packets-out", 64),
		InstallTime: p.secs(m, "install-time"),
		LocalTS:     list(m, "local-ts"),
		RemoteTS:    list(m, "remote-ts"),
	}
	if c.Name == "" {
		c.Name = key
	}
	if p.err != nil {
		return ChildSA{}, fmt.Errorf("CHILD_SA %q: %w", key, p.err)
	}
	return c, nil
}

// parseSAs converts a message holding IKE SA sections keyed by name (a
// list-sa event, or an updown event after skipping "up").
func parseSAs(m *vici.Message) ([]IKESA, error) {
	var out []IKESA
	for _, k := range m.Keys() {
		if _, ok := m.Get(k).(*vici.Message); !ok {
			continue // "up" and other flags in events
		}
		sa, err := parseIKESA(k, sub(m, k))
		if err != nil {
			return nil, err
		}
		out = append(out, sa)
	}
	return out, nil
}
