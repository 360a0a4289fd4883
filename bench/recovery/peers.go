package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// The tunnel every scenario uses: one Child SA NetA <-> NetB named "site", PSK, AES-GCM.
const (
	tunnelName   = "site"
	ikeProposal  = "aes128gcm16-prfsha256-x25519"
	espProposal  = "aes128gcm16"
	swanDPDDelay = 5 * time.Second
)

// ikeVersion is the IKE version a scenario runs: ikev2 (the default of both daemons) or ikev1.
type ikeVersion int

const (
	ikev1 ikeVersion = 1
	ikev2 ikeVersion = 2
)

// ikeProposalV1 replaces ikeProposal in IKEv1 scenarios: phase 1 has no AEAD, so AES-CBC
// with SHA2-256 (the ESP proposal stays AES-GCM).
const ikeProposalV1 = "aes128-sha256-ecp256"

// runFunc is a scenario or baseline run written for either IKE version.
type runFunc func(*run, ikeVersion) (sample, error)

// at binds f to IKE version v, for the scenario and baseline tables.
func at(v ikeVersion, f runFunc) func(*run) (sample, error) {
	return func(r *run) (sample, error) { return f(r, v) }
}

// vigilSide returns the Vigil tunnel of gateway A or B ("a" or "b") of the topology, speaking
// IKE version v. Timers (dpd_delay, dpd_timeout, child_probe) stay at Vigil's defaults.
func vigilSide(side, psk string, v ikeVersion) vigiltest.Tunnel {
	t := vigiltest.Tunnel{
		Name: tunnelName, PSK: psk, IKEProposals: ikeProposal, ESPProposals: espProposal,
		LocalAddr: netns.GwAWAN.String(), RemoteAddr: netns.GwBWAN.String(),
		LocalID: "fqdn:a.example", RemoteID: "fqdn:b.example",
		LocalTS: []string{netns.NetA.String()}, RemoteTS: []string{netns.NetB.String()},
	}
	if side == "b" {
		t.LocalAddr, t.RemoteAddr = t.RemoteAddr, t.LocalAddr
		t.LocalID, t.RemoteID = t.RemoteID, t.LocalID
		t.LocalTS, t.RemoteTS = t.RemoteTS, t.LocalTS
	}
	if v == ikev1 {
		t.IKEProposals = ikeProposalV1
		t.Extra = []string{"version = 1"}
	}
	return t
}

// swanSide returns strongSwan's connection for gateway A or B, speaking IKE version v, with
// dpd_delay 5 s. Side A initiates (start_action start) and restarts the tunnel when DPD
// declares B dead; side B waits (start_action none) unless the caller changes it.
func swanSide(side, psk string, v ikeVersion) swan.Conf {
	c := swan.Conf{
		Name: tunnelName, PSK: psk, IKEProposals: ikeProposal, ESPProposals: espProposal, Encap: true,
		LocalAddr: netns.GwAWAN.String(), RemoteAddr: netns.GwBWAN.String(),
		LocalID: "a.example", RemoteID: "b.example",
		LocalTS: []string{netns.NetA.String()}, RemoteTS: []string{netns.NetB.String()},
		DPDDelay: swanDPDDelay, StartAction: "start",
		ExtraChildOptions: map[string]string{"dpd_action": "restart"},
	}
	if side == "b" {
		c.LocalAddr, c.RemoteAddr = c.RemoteAddr, c.LocalAddr
		c.LocalID, c.RemoteID = c.RemoteID, c.LocalID
		c.LocalTS, c.RemoteTS = c.RemoteTS, c.LocalTS
		c.StartAction = "none"
		c.ExtraChildOptions = nil
	}
	if v == ikev1 {
		c.Version = 1
		c.IKEProposals = ikeProposalV1
	}
	return c
}

// silentExpiry makes strongSwan's Child SA die life after installation (6 s by default, see
// -child-life) without a rekey, and keeps its IKE SA alive meanwhile although the Delete it
// sends never arrives (see dropDeletes): it retransmits for minutes instead of giving up on
// the peer (IKEv2; IKEv1 does not retransmit Informationals, so there it changes nothing).
func silentExpiry(c *swan.Conf, life time.Duration) {
	c.ExtraChildOptions = map[string]string{"rekey_time": "0", "life_time": strconv.Itoa(int(life/time.Second)) + "s", "rand_time": "0"}
	c.RetransmitTries, c.RetransmitTimeout = 30, 10*time.Second
}

// startVigil runs vigild in ns with one tunnel; the namespace's removal stops it.
func (r *run) startVigil(ns *netns.NS, name string, conf vigiltest.Conf) (*vigiltest.Vigil, error) {
	dir := filepath.Join(r.dir, "vigil-"+name)
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	v, err := vigiltest.Launch(ns, dir, name, conf, vigiltest.LaunchOptions{Binary: r.env.vigild})
	if err != nil {
		return nil, err
	}
	r.cl.push("vigild "+name+" in "+ns.Name, func() error { v.Stop(); return nil })
	r.logs = append(r.logs, daemonLog{"vigild " + name, v.Log})
	return v, nil
}

// startSwan runs charon in ns with its files in r.dir/swan-name.
func (r *run) startSwan(ns *netns.NS, name string, conf swan.Conf) (*swan.Charon, error) {
	c, err := swan.Start(ns, filepath.Join(r.dir, "swan-"+name), conf)
	if err != nil {
		return nil, err
	}
	r.cl.push("charon "+name+" in "+ns.Name, c.Stop)
	r.logs = append(r.logs, daemonLog{"charon " + name, c.Log})
	return c, nil
}

// vigilPaired waits until both Vigils have one installed Child SA of the tunnel and the SPIs
// pair up; it returns B's.
func vigilPaired(ctx context.Context, a, b *vigiltest.Vigil) (api.ChildSA, error) {
	for {
		sa, err := a.WaitFor(ctx, "A's Child SA", vigiltest.HasChild(tunnelName))
		if err != nil {
			return api.ChildSA{}, err
		}
		sb, err := b.WaitFor(ctx, "B's Child SA", vigiltest.HasChild(tunnelName))
		if err != nil {
			return api.ChildSA{}, err
		}
		ca, _ := vigiltest.Child(sa, tunnelName)
		cb, _ := vigiltest.Child(sb, tunnelName)
		if ca.SPIOut == cb.SPIIn && ca.SPIIn == cb.SPIOut {
			return cb, nil
		}
		if err := pause(ctx, fmt.Sprintf("SPIs never paired: A in %v out %v, B in %v out %v", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)); err != nil {
			return api.ChildSA{}, err
		}
	}
}

// swanChild returns strongSwan's Child SA of the tunnel if exactly one established IKE SA
// with exactly one installed Child SA exists.
func swanChild(sas []swan.IKESA) (swan.ChildSA, bool) {
	var found []swan.IKESA
	for _, sa := range sas {
		if sa.Name == tunnelName && sa.State == "ESTABLISHED" {
			found = append(found, sa)
		}
	}
	if len(found) != 1 {
		return swan.ChildSA{}, false
	}
	var out []swan.ChildSA
	for _, c := range found[0].LiveChildren() {
		if c.State == "INSTALLED" {
			out = append(out, c)
		}
	}
	if len(out) != 1 {
		return swan.ChildSA{}, false
	}
	return out[0], true
}

func hasSwanChild(sas []swan.IKESA) bool { _, ok := swanChild(sas); return ok }

// vigilSwanPaired waits until Vigil (A) and strongSwan (B) agree on one Child SA pair; it
// returns strongSwan's.
func vigilSwanPaired(ctx context.Context, v *vigiltest.Vigil, c *swan.Charon) (swan.ChildSA, error) {
	for {
		sas, err := v.WaitFor(ctx, "Vigil's Child SA", vigiltest.HasChild(tunnelName))
		if err != nil {
			return swan.ChildSA{}, err
		}
		vc, _ := vigiltest.Child(sas, tunnelName)
		all, err := c.WaitFor(ctx, hasSwanChild)
		if err != nil {
			return swan.ChildSA{}, err
		}
		sc, _ := swanChild(all)
		if uint32(vc.SPIIn) == sc.SPIOut && uint32(vc.SPIOut) == sc.SPIIn {
			return sc, nil
		}
		if err := pause(ctx, fmt.Sprintf("SPIs never paired: Vigil in %v out %v, strongSwan in %08x out %08x", vc.SPIIn, vc.SPIOut, sc.SPIIn, sc.SPIOut)); err != nil {
			return swan.ChildSA{}, err
		}
	}
}

// swanPaired waits until two strongSwans agree on one Child SA pair; it returns B's.
func swanPaired(ctx context.Context, a, b *swan.Charon) (swan.ChildSA, error) {
	for {
		sa, err := a.WaitFor(ctx, hasSwanChild)
		if err != nil {
			return swan.ChildSA{}, err
		}
		sb, err := b.WaitFor(ctx, hasSwanChild)
		if err != nil {
			return swan.ChildSA{}, err
		}
		ca, _ := swanChild(sa)
		cb, _ := swanChild(sb)
		if ca.SPIIn == cb.SPIOut && ca.SPIOut == cb.SPIIn {
			return cb, nil
		}
		if err := pause(ctx, fmt.Sprintf("SPIs never paired: A in %08x out %08x, B in %08x out %08x", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)); err != nil {
			return swan.ChildSA{}, err
		}
	}
}

// swanChildGone is a WaitFor condition: strongSwan still lists its established IKE SA of the
// tunnel, but the Child SA with inbound SPI spiIn is no longer installed. It insists on seeing
// the IKE SA because list-sas sometimes answers with no SA at all for a moment while the SAs
// exist (seen with strongSwan 5.9.8 right after setup), which must not count as the fault.
func swanChildGone(spiIn uint32) func([]swan.IKESA) bool {
	return func(sas []swan.IKESA) bool {
		for _, sa := range sas {
			if sa.Name != tunnelName || sa.State != "ESTABLISHED" {
				continue
			}
			for _, c := range sa.LiveChildren() {
				if c.SPIIn == spiIn && c.State == "INSTALLED" {
					return false
				}
			}
			return true
		}
		return false
	}
}

// pause waits 100 ms for one side to finish a rekey; on ctx's end it returns an error built
// from what.
func pause(ctx context.Context, what string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// dropDeletes installs an nftables rule in ns that keeps strongSwan's Delete for its expired
// Child SA from leaving, so that it loses the SA silently. It matches outgoing IKE messages on
// port 4500 by their exchange type at UDP payload byte 4+18 (after the non-ESP marker):
//
//   - IKEv2: INFORMATIONAL requests (exchange 37, response flag clear at byte 4+19), so
//     strongSwan's Deletes and DPD requests never leave and its responses do.
//   - IKEv1: Informationals (exchange 5) of the size of a one-SPI ESP Delete: HASH(1) of
//     SHA2-256 and the Delete payload are 52 bytes, encrypted and padded to 64, so 28 + 64
//     bytes of ISAKMP, 4 of marker and 8 of UDP header: UDP length 104 with ikeProposalV1.
//     R-U-THERE and R-U-THERE-ACK are longer and pass.
func dropDeletes(ctx context.Context, ns *netns.NS, v ikeVersion) error {
	rule := []string{"nft", "add", "rule", "inet", "vgr2", "out", "udp", "dport", "4500", "@th,240,8", "37", "@th,248,8", "&", "0x20", "==", "0", "drop"}
	if v == ikev1 {
		rule = []string{"nft", "add", "rule", "inet", "vgr2", "out", "udp", "dport", "4500", "udp", "length", "104", "@th,240,8", "5", "drop"}
	}
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "vgr2"},
		{"nft", "add", "chain", "inet", "vgr2", "out", "{ type filter hook output priority 0; }"},
		rule,
	} {
		if _, err := ns.Run(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
