package crypto

import "slices"

// Allowed reports whether suite s is covered by one of the configured
// proposals (the initiator's check that the responder picked something
// it offered). A suite without DH matches proposals with no DH groups.
func Allowed(ours []Proposal, s Suite) bool {
	in := func(list []uint16, v, def uint16) bool {
		if len(list) == 0 {
			return v == def
		}
		return slices.Contains(list, v)
	}
	esn := ESNNo
	if s.ESN {
		esn = ESNYes
	}
	for _, cp := range ours {
		if !slices.Contains(cp.Encr, EncrAlg{ID: s.Encr, KeyBits: s.EncrKeyBits}) {
			continue
		}
		if in(cp.PRF, s.PRF, 0) && in(cp.Integ, s.Integ, IntegNone) &&
			in(cp.DH, s.DH, DHNone) && in(cp.ESN, esn, ESNNo) {
			return true
		}
	}
	return false
}

// WithoutDH returns copies of the proposals with their DH groups removed,
// for the Child SA created inside IKE_AUTH, which never has its own key
// exchange (RFC 7296 section 1.2).
func WithoutDH(props []Proposal) []Proposal {
	out := make([]Proposal, len(props))
	for i, p := range props {
		p.DH = nil
		out[i] = p
	}
	return out
}
