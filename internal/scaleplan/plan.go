// Package scaleplan numbers the tunnels of the scale benchmark (bench/scale) and of its CI
// test (e2e): N tunnels between gwA and gwB of the site-to-site topology, each with its own
// IKE SA and Child SA, identities, pre-shared key and pair of disjoint /28 subnets, so that no
// two tunnels can share state. It renders them as vigild tunnels (vigiltest.Tunnel) and as
// strongSwan connections (swan.Conf). Nothing here starts a process.
package scaleplan

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// Proposals of every tunnel, the same as the setup benchmark's.
const (
	IKEProposals = "aes128gcm16-prfsha256-x25519"
	ESPProposals = "aes128gcm16"
)

// MaxTunnels is how many tunnels the address plan can number: tunnel i's subnets are the
// /28s number i of 10.64.0.0/10 (A side) and of 10.128.0.0/10 (B side), 2^18 of each.
// Both ranges stay clear of the topology's site networks 10.1.0.0/24 and 10.2.0.0/24.
const MaxTunnels = 1 << 18

// MaxPeers is how many IKE addresses side A can use: its WAN address and 65,534 addresses
// of PeerNet.
const MaxPeers = 1<<16 - 1

// PeerNet holds side A's extra IKE addresses (secondary addresses of gwA's WAN interface,
// routed to gwA in gwB) when a run has more than one peer address.
var PeerNet = netip.MustParsePrefix("100.64.0.0/16")

// Tunnel is one tunnel of the plan, seen from both ends.
type Tunnel struct {
	Index int
	// Name is the tunnel (vigild) and connection (strongSwan) name, "s<Index>".
	Name string
	// AAddr is side A's IKE address; side B's is always netns.GwBWAN.
	AAddr netip.Addr
	// ANet and BNet are the protected subnets behind A and B.
	ANet, BNet netip.Prefix
	// AID and BID are the IKE identities, "fqdn:a<Index>.scale.example" and b likewise.
	AID, BID string
	// PSK is the tunnel's own pre-shared key (32 random hex digits).
	PSK string
}

// Subnets returns tunnel i's subnets: 10.{64+i>>12}.{i>>4 & 255}.{(i&15)*16}/28 on side A,
// the same in 10.128.0.0/10 on side B.
func Subnets(i int) (a, b netip.Prefix) {
	x, y, z := byte(i>>12), byte(i>>4), byte(i&15)<<4
	a = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64 + x, y, z}), 28)
	b = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 + x, y, z}), 28)
	return a, b
}

// PeerAddr is side A's k-th IKE address: netns.GwAWAN for 0, PeerNet's address number k
// otherwise (k < MaxPeers).
func PeerAddr(k int) netip.Addr {
	if k == 0 {
		return netns.GwAWAN
	}
	b := PeerNet.Addr().As4()
	b[2], b[3] = byte(k>>8), byte(k)
	return netip.AddrFrom4(b)
}

// New returns the plan of n tunnels spread round-robin over peers IKE addresses of side A,
// each with a fresh random PSK.
func New(n, peers int) ([]Tunnel, error) {
	if n < 1 || n > MaxTunnels {
		return nil, fmt.Errorf("scaleplan: %d tunnels, want 1 to %d", n, MaxTunnels)
	}
	if peers < 1 || peers > MaxPeers {
		return nil, fmt.Errorf("scaleplan: %d peer addresses, want 1 to %d", peers, MaxPeers)
	}
	keys := make([]byte, 16*n)
	if _, err := rand.Read(keys); err != nil {
		return nil, err
	}
	ts := make([]Tunnel, n)
	for i := range ts {
		s := strconv.Itoa(i)
		a, b := Subnets(i)
		ts[i] = Tunnel{
			Index: i, Name: "s" + s, AAddr: PeerAddr(i % peers), ANet: a, BNet: b,
			AID: "fqdn:a" + s + ".scale.example", BID: "fqdn:b" + s + ".scale.example",
			PSK: hex.EncodeToString(keys[16*i : 16*i+16]),
		}
	}
	return ts, nil
}

// Hosts returns the first address of each subnet, for traffic through the tunnel.
func (t Tunnel) Hosts() (a, b netip.Addr) { return t.ANet.Addr().Next(), t.BNet.Addr().Next() }

// vigil is the settings both vigild ends share: UDP encapsulation (as strongSwan's
// kernel-libipsec always uses) and no DPD (strongSwan's default), so that both systems run
// the same liveness checks: none that send packets.
func (t Tunnel) vigil() vigiltest.Tunnel {
	return vigiltest.Tunnel{
		Name: t.Name, PSK: t.PSK, IKEProposals: IKEProposals, ESPProposals: ESPProposals,
		Encap: "udp", DPDDelay: "0s",
	}
}

// VigilA is the tunnel in side A's vigild configuration, with the given start_action.
func (t Tunnel) VigilA(startAction string) vigiltest.Tunnel {
	v := t.vigil()
	v.LocalAddr, v.RemoteAddr = t.AAddr.String(), netns.GwBWAN.String()
	v.LocalID, v.RemoteID = t.AID, t.BID
	v.LocalTS, v.RemoteTS = []string{t.ANet.String()}, []string{t.BNet.String()}
	v.StartAction = startAction
	return v
}

// VigilB is the tunnel in side B's vigild configuration (start_action none: it responds).
func (t Tunnel) VigilB() vigiltest.Tunnel {
	v := t.vigil()
	v.LocalAddr, v.RemoteAddr = netns.GwBWAN.String(), t.AAddr.String()
	v.LocalID, v.RemoteID = t.BID, t.AID
	v.LocalTS, v.RemoteTS = []string{t.BNet.String()}, []string{t.ANet.String()}
	v.StartAction = "none"
	return v
}

// swan is the settings both strongSwan ends share (see vigil; DPD is off by default).
func (t Tunnel) swan() swan.Conf {
	return swan.Conf{
		Name: t.Name, PSK: t.PSK, IKEProposals: IKEProposals, ESPProposals: ESPProposals, Encap: true,
	}
}

// SwanA is the connection in side A's swanctl.conf, with the given start_action ("start":
// initiated as soon as it is loaded). It retries until it is up (keyingtries = 0), as
// vigild's start_action "start" does.
func (t Tunnel) SwanA(startAction string) swan.Conf {
	c := t.swan()
	c.LocalAddr, c.RemoteAddr = t.AAddr.String(), netns.GwBWAN.String()
	c.LocalID, c.RemoteID = t.AID, t.BID
	c.LocalTS, c.RemoteTS = []string{t.ANet.String()}, []string{t.BNet.String()}
	c.ExtraConnOptions = map[string]string{"keyingtries": "0"}
	c.StartAction = startAction
	return c
}

// SwanB is the connection in side B's swanctl.conf (it responds).
func (t Tunnel) SwanB() swan.Conf {
	c := t.swan()
	c.LocalAddr, c.RemoteAddr = netns.GwBWAN.String(), t.AAddr.String()
	c.LocalID, c.RemoteID = t.BID, t.AID
	c.LocalTS, c.RemoteTS = []string{t.BNet.String()}, []string{t.ANet.String()}
	return c
}

// VigilConfs returns the vigild configurations of side A (every tunnel with startAction) and
// side B.
func VigilConfs(ts []Tunnel, startAction string) (a, b vigiltest.Conf) {
	a.Tunnels = make([]vigiltest.Tunnel, len(ts))
	b.Tunnels = make([]vigiltest.Tunnel, len(ts))
	for i, t := range ts {
		a.Tunnels[i], b.Tunnels[i] = t.VigilA(startAction), t.VigilB()
	}
	return a, b
}

// SwanConfs returns the strongSwan connections of side A (with startAction) and side B.
func SwanConfs(ts []Tunnel, startAction string) (a, b []swan.Conf) {
	a, b = make([]swan.Conf, len(ts)), make([]swan.Conf, len(ts))
	for i, t := range ts {
		a[i], b[i] = t.SwanA(startAction), t.SwanB()
	}
	return a, b
}
