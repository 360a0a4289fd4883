package config

import (
	"reflect"
	"slices"
)

// Equal reports whether t and o configure the same tunnel: every field,
// including the pre-shared key, is compared except where the tunnel is written (File, Line)
// and its generation. Subnet lists are compared in order.
func (t *Tunnel) Equal(o *Tunnel) bool {
	if t == nil || o == nil {
		return t == o
	}
	return t.Name == o.Name &&
		t.Version == o.Version &&
		t.LocalAddr == o.LocalAddr &&
		t.RemoteAddr == o.RemoteAddr &&
		t.LocalPort == o.LocalPort &&
		t.RemotePort == o.RemotePort &&
		t.LocalID.Equal(o.LocalID) &&
		t.RemoteID.Equal(o.RemoteID) &&
		t.PSK.Equal(o.PSK) &&
		slices.Equal(t.LocalTS, o.LocalTS) &&
		slices.Equal(t.RemoteTS, o.RemoteTS) &&
		t.IKEProposals == o.IKEProposals &&
		t.ESPProposals == o.ESPProposals &&
		reflect.DeepEqual(t.IKEParsed, o.IKEParsed) &&
		reflect.DeepEqual(t.ESPParsed, o.ESPParsed) &&
		t.IKELifetime == o.IKELifetime &&
		t.ChildLifetime == o.ChildLifetime &&
		t.ChildLifeBytes == o.ChildLifeBytes &&
		t.ChildLifePackets == o.ChildLifePackets &&
		t.StartAction == o.StartAction &&
		t.Encap == o.Encap &&
		t.DPDDelay == o.DPDDelay &&
		t.DPDTimeout == o.DPDTimeout &&
		t.ChildProbe == o.ChildProbe &&
		t.Heal == o.Heal &&
		t.HealDelay == o.HealDelay &&
		t.ReplayWindow == o.ReplayWindow &&
		t.Mobike == o.Mobike
}

// Diff compares the tunnels of two configurations by name: added are only
// in new, removed only in old, changed in both but not Equal, unchanged in
// both and Equal. added, changed and unchanged follow new's file order,
// removed old's. Either configuration may be nil (no tunnels).
func Diff(old, new *Config) (added, removed, changed, unchanged []string) {
	if new != nil {
		for i := range new.Tunnels {
			t := &new.Tunnels[i]
			switch o := old.Tunnel(t.Name); {
			case o == nil:
				added = append(added, t.Name)
			case o.Equal(t):
				unchanged = append(unchanged, t.Name)
			default:
				changed = append(changed, t.Name)
			}
		}
	}
	if old != nil {
		for i := range old.Tunnels {
			if new.Tunnel(old.Tunnels[i].Name) == nil {
				removed = append(removed, old.Tunnels[i].Name)
			}
		}
	}
	return added, removed, changed, unchanged
}
