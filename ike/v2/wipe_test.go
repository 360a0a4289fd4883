package v2

import (
	"testing"
	"testing/synctest"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

func allZero(bs ...[]byte) bool {
	for _, b := range bs {
		for _, x := range b {
			if x != 0 {
				return false
			}
		}
	}
	return true
}

// TestRemovalWipesKeys: once an IKE SA and its Child SA are removed, SK_d, SK_ai/ar, SK_ei/er,
// SK_pi/pr and the Child SA's keys are zero, and the DH key pair is dropped.
func TestRemovalWipesKeys(t *testing.T) {
	for _, suites := range [][2]string{
		{"aes128gcm16-prfsha256-x25519", "aes128gcm16"},
		{"aes256-sha256-modp2048", "aes256-sha256-modp2048"}, // CBC: SK_a present; PFS
	} {
		t.Run(suites[0], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, IKEA: suites[0], ESPA: suites[1]})
				a.E.Do(func() { a.E.Initiate(a.T) })
				a.Wait(t, "child-up")
				b.Wait(t, "child-up")
				var sa *ike.IKESA
				var c *ike.ChildSA
				a.E.Call(func() { sa, c = a.T.IKE, a.T.Child })
				k := v2of(sa).keys // shares the backing arrays
				ikeKeys := [][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr}
				// The Child SA's keys as handed to the dataplane: the same arrays as its own.
				in, _ := a.DP.SA(c.SPIIn, dataplane.In)
				out, _ := a.DP.SA(c.SPIOut, dataplane.Out)
				childKeys := [][]byte{in.EncrKey, in.IntegKey, out.EncrKey, out.IntegKey}
				if allZero(ikeKeys...) || allZero(childKeys...) || len(k.SKd) == 0 || len(in.EncrKey) == 0 {
					t.Fatal("keys are zero (or missing) while the SAs are up")
				}
				a.E.Call(func() { a.E.RemoveIKE(sa, nil) })
				if !allZero(ikeKeys...) {
					t.Errorf("IKE SA keys not zeroed on removal: %v", v2of(sa).keys)
				}
				if !allZero(childKeys...) {
					t.Error("Child SA keys not zeroed on removal")
				}
				if v2of(sa).dh != nil {
					t.Error("DH key pair still referenced")
				}
			})
		})
	}
}
