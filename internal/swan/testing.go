package swan

import (
	"testing"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// StartT starts charon for a test in ns with a fresh t.TempDir, fails the
// test if that does not work, and stops it in t.Cleanup, logging charon's
// log when the test failed.
func StartT(t testing.TB, ns *netns.NS, conf Conf) *Charon {
	t.Helper()
	c, err := Start(ns, t.TempDir(), conf)
	if err != nil {
		t.Fatalf("start charon in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop charon in %s: %v", ns.Name, err)
		}
		if t.Failed() {
			t.Logf("charon log of %s:\n%s", ns.Name, c.Log())
		}
	})
	return c
}
