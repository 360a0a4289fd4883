package sad

import (
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// fillPolicies installs pols one by one, as the control plane does.
func fillPolicies(b *testing.B, db *DB, pols []dataplane.Policy) {
	b.Helper()
	for _, p := range pols {
		if err := db.SetPolicy(p); err != nil {
			b.Fatal(err)
		}
	}
}
