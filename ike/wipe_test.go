package ike

import (
	"testing"
	"testing/synctest"
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
				a, b, _ := newPair(t, pairOpts{ikeA: suites[0], espA: suites[1]})
				a.e.Do(func() { a.e.Initiate(a.t) })
				a.wait(t, "child-up")
				b.wait(t, "child-up")
				var sa *IKESA
				var c *ChildSA
				a.e.Call(func() { sa, c = a.t.IKE, a.t.Child })
				k, ck := v2of(sa).keys, c.keys // share the backing arrays
				ikeKeys := [][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr}
				childKeys := [][]byte{ck.EncrI, ck.IntegI, ck.EncrR, ck.IntegR}
				if allZero(ikeKeys...) || allZero(childKeys...) || len(k.SKd) == 0 || len(ck.EncrI) == 0 {
					t.Fatal("keys are zero (or missing) while the SAs are up")
				}
				a.e.Call(func() { a.e.RemoveIKE(sa, nil) })
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
