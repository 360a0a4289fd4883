package e2e

import (
	"slices"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// The e2e tests run each scenario once per IKE version, as subtests "v1" and "v2", with the
// same assertions: what differs between the versions is collected here, and the few places
// where the protocols genuinely behave differently say so where they branch on num.

// ikeVersion is one IKE version as the tests configure and observe it.
type ikeVersion struct {
	name string // the subtest's name
	num  int    // 1 or 2: the tunnels' and strongSwan's version setting

	// ike and esp are the proposals of a Vigil tunnel that does not choose its own ("": vigild's
	// defaults); swanIKE and swanESP are strongSwan's (which must name them explicitly).
	ike, esp         string
	swanIKE, swanESP string

	// authFailed is the notify a PSK mismatch is refused with, as the version spells it in the
	// log (IKEv2 names use underscores, IKEv1's RFC 2408 names hyphens).
	authFailed string
}

// IKEv1 phase 1 has no AEAD: its IKE proposal is AES-CBC with SHA2.
const (
	v1IKE = "aes128-sha256-ecp256"
	v1ESP = "aes128gcm16"
)

var (
	ikev1 = ikeVersion{
		name: "v1", num: 1,
		ike: v1IKE, esp: v1ESP, swanIKE: v1IKE, swanESP: v1ESP,
		authFailed: "AUTHENTICATION-FAILED",
	}
	ikev2 = ikeVersion{
		name: "v2", num: 2,
		swanIKE: "aes128gcm16-prfsha256-x25519", swanESP: "aes128gcm16",
		authFailed: "AUTHENTICATION_FAILED",
	}
	ikeVersions = []ikeVersion{ikev1, ikev2}
)

// forVersions runs f as one subtest per IKE version.
func forVersions(t *testing.T, f func(t *testing.T, iv ikeVersion)) {
	t.Helper()
	for _, iv := range ikeVersions {
		t.Run(iv.name, func(t *testing.T) { f(t, iv) })
	}
}

// forVersionsParallel is forVersions with the versions' subtests running at the same time. It
// is for scenarios whose time goes to waiting on timers (lifetimes, liveness checks, a peer's
// SA expiring, a paced transfer) and whose bounds leave room for a busy machine, so that the
// two versions' waits overlap. Scenarios that bound an outage to milliseconds, flood a gateway
// or measure throughput run the versions one after the other (forVersions).
func forVersionsParallel(t *testing.T, f func(t *testing.T, iv ikeVersion)) {
	t.Helper()
	for _, iv := range ikeVersions {
		t.Run(iv.name, func(t *testing.T) {
			t.Parallel()
			f(t, iv)
		})
	}
}

// tunnel returns tn speaking this version: IKEv1 tunnels get "version = 1" and, where tn names
// none, exactly the proposals strongSwan's IKEv1 side is given (vigild's IKEv1 defaults offer
// more than one), so that every IKEv1 test knows which algorithms it negotiates.
func (iv ikeVersion) tunnel(tn vigiltest.Tunnel) vigiltest.Tunnel {
	if iv.num == 2 || slices.Contains(tn.Extra, "version = 1") {
		return tn
	}
	if tn.IKEProposals == "" {
		tn.IKEProposals = iv.ike
	}
	if tn.ESPProposals == "" {
		tn.ESPProposals = iv.esp
	}
	tn.Extra = append(append([]string(nil), tn.Extra...), "version = 1")
	return tn
}

// swanConf is strongSwan's side (gwB) of the standard topology with this version's proposals.
func (iv ikeVersion) swanConf() swan.Conf { return iv.swanConfWith(iv.swanIKE, iv.swanESP) }

// swanConfWith is swanConf with the given proposals.
func (iv ikeVersion) swanConfWith(ike, esp string) swan.Conf {
	return swan.Conf{
		Name: "site", Version: iv.num,
		LocalAddr: netns.GwBWAN.String(), RemoteAddr: netns.GwAWAN.String(),
		LocalID: "b.example", RemoteID: "a.example", PSK: testPSK,
		LocalTS: []string{netns.NetB.String()}, RemoteTS: []string{netns.NetA.String()},
		IKEProposals: ike, ESPProposals: esp, Encap: true,
	}
}
