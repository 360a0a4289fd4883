package sad

import "github.com/vigil-ipsec/vigil/dataplane"

// SetPolicies sets each policy in turn (placeholder until the batched version lands).
func (db *DB) SetPolicies(ps []dataplane.Policy) error {
	for _, p := range ps {
		if err := db.SetPolicy(p); err != nil {
			return err
		}
	}
	return nil
}

// DeletePolicies deletes each tunnel's policy in turn (placeholder).
func (db *DB) DeletePolicies(tunnels []string) error {
	for _, t := range tunnels {
		if err := db.DeletePolicy(t); err != nil {
			return err
		}
	}
	return nil
}
