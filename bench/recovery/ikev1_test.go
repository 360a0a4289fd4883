package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestIKEv1Selection: the IKEv1 lines come after the IKEv2 ones, have their own ids and fault
// names (so "peer-restart" still selects only the IKEv2 lines) and their own baselines.
func TestIKEv1Selection(t *testing.T) {
	for _, tc := range []struct{ only, want string }{
		{"peer-restart", "peer-restart-vigil,peer-restart-swan"},
		{"peer-restart-v1", "peer-restart-v1-vigil,peer-restart-v1-swan"},
		{"silent-child-loss-v1,peer-restart-v1-swan", "silent-child-loss-v1-vigil,silent-child-loss-v1-swan,peer-restart-v1-swan"},
		{"", "silent-child-loss-vigil,silent-child-loss-swan,peer-restart-vigil,peer-restart-swan," +
			"child-lost-here-swan,restart-here-swan,restart-here-nodpd-swan," +
			"silent-child-loss-v1-vigil,silent-child-loss-v1-swan,peer-restart-v1-vigil,peer-restart-v1-swan"},
	} {
		got, err := selectScenarios(scenarios, tc.only)
		if err != nil || scenarioIDs(got) != tc.want {
			t.Errorf("selectScenarios(%q) = %s, %v; want %s", tc.only, scenarioIDs(got), err, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, sc := range scenarios {
		if seen[sc.id] {
			t.Errorf("scenario id %s twice", sc.id)
		}
		seen[sc.id] = true
		if v1 := strings.Contains(sc.fault, "-v1"); v1 != strings.HasSuffix(sc.baseline, "-v1") {
			t.Errorf("scenario %s (fault %s) has baseline %s of the other IKE version", sc.id, sc.fault, sc.baseline)
		}
	}
}

// TestSidesByVersion: IKEv1 sides say so and use the non-AEAD phase 1 proposal; IKEv2 sides
// are what they were before the IKE version became a parameter.
func TestSidesByVersion(t *testing.T) {
	for _, side := range []string{"a", "b"} {
		v2, v1 := vigilSide(side, "k", ikev2), vigilSide(side, "k", ikev1)
		if v2.IKEProposals != ikeProposal || len(v2.Extra) != 0 {
			t.Errorf("Vigil %s IKEv2: proposals %q, extra %q", side, v2.IKEProposals, v2.Extra)
		}
		if v1.IKEProposals != ikeProposalV1 || !slices.Equal(v1.Extra, []string{"version = 1"}) || v1.ESPProposals != espProposal {
			t.Errorf("Vigil %s IKEv1: proposals %q/%q, extra %q", side, v1.IKEProposals, v1.ESPProposals, v1.Extra)
		}
		v1.IKEProposals, v1.Extra = v2.IKEProposals, v2.Extra
		if !reflect.DeepEqual(v1, v2) {
			t.Errorf("Vigil %s: the IKE version changed more than proposals and version:\n%+v\n%+v", side, v1, v2)
		}
		s2, s1 := swanSide(side, "k", ikev2), swanSide(side, "k", ikev1)
		if s2.Version != 0 || s2.IKEProposals != ikeProposal {
			t.Errorf("strongSwan %s IKEv2: version %d, proposals %q", side, s2.Version, s2.IKEProposals)
		}
		if s1.Version != 1 || s1.IKEProposals != ikeProposalV1 || s1.ESPProposals != espProposal || s1.DPDDelay != swanDPDDelay || s1.StartAction != s2.StartAction {
			t.Errorf("strongSwan %s IKEv1: %+v", side, s1)
		}
	}
}
