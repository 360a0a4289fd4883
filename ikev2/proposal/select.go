package proposal

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// Select is the responder's proposal choice. It walks the offered
// proposals in the peer's order of preference and returns the first one
// acceptable under any of ours, as a crypto.Suite and as the proposal to send
// back: the peer's proposal number, protocol and SPI with exactly one
// transform of each type the peer offered. Within a transform type the
// peer's preference wins too.
//
// Proposals of another protocol, with a malformed SPI size (IKE: 0 or 8,
// ESP: 4) or with transform types this package does not know are skipped.
// A DH group is agreed when both sides list it; a side without DH
// transforms (or with DH NONE) agrees only with "none". ESN works the same
// way with "no ESN" as the default. It returns crypto.ErrNoProposalChosen if
// nothing matches.
func Select(offered []wire.Proposal, ours []crypto.Proposal, proto wire.ProtocolID) (crypto.Suite, wire.Proposal, error) {
	for _, op := range offered {
		if op.Protocol != proto || !spiSizeOK(proto, len(op.SPI)) {
			continue
		}
		for _, cp := range ours {
			if s, chosen, ok := match(op, cp, proto); ok {
				return s, chosen, nil
			}
		}
	}
	return crypto.Suite{}, wire.Proposal{}, crypto.ErrNoProposalChosen
}

func spiSizeOK(proto wire.ProtocolID, n int) bool {
	switch proto {
	case wire.ProtocolIKE:
		return n == 0 || n == 8
	case wire.ProtocolESP:
		return n == 4
	}
	return false
}

// byType splits a proposal's transforms by type; ok is false if a
// transform type is unknown.
func byType(p wire.Proposal) (t [wire.TransformESN + 1][]wire.Transform, ok bool) {
	// Count per type, then fill one array in type order, each type's in the peer's order (a
	// peer's proposal is selected for every exchange: one allocation, not one per type).
	var n [wire.TransformESN + 1]int
	for _, tr := range p.Transforms {
		if tr.Type < wire.TransformENCR || tr.Type > wire.TransformESN {
			return t, false
		}
		n[tr.Type]++
	}
	all := make([]wire.Transform, 0, len(p.Transforms))
	for typ := range t {
		if n[typ] == 0 {
			continue
		}
		start := len(all)
		for _, tr := range p.Transforms {
			if tr.Type == wire.TransformType(typ) {
				all = append(all, tr)
			}
		}
		t[typ] = all[start:len(all):len(all)]
	}
	return t, true
}

// encrMatches reports whether an offered ENCR transform is the configured
// algorithm, including the Key Length attribute.
func encrMatches(tr wire.Transform, e crypto.EncrAlg) bool {
	if tr.ID != e.ID {
		return false
	}
	if e.ID == crypto.EncrChaCha20Poly1305 {
		return tr.KeyLength == 0
	}
	return int(tr.KeyLength) == e.KeyBits
}

// pick returns the first offered ID (in the peer's order) that is in ours.
// Empty lists on either side stand for the single value def.
func pick(offered []wire.Transform, ours []uint16, def uint16) (uint16, bool) {
	if len(ours) == 0 {
		ours = []uint16{def}
	}
	if len(offered) == 0 {
		return def, slices.Contains(ours, def)
	}
	for _, tr := range offered {
		if slices.Contains(ours, tr.ID) {
			return tr.ID, true
		}
	}
	return 0, false
}

func match(op wire.Proposal, cp crypto.Proposal, proto wire.ProtocolID) (crypto.Suite, wire.Proposal, bool) {
	tt, ok := byType(op)
	if !ok {
		return crypto.Suite{}, wire.Proposal{}, false
	}
	ike := proto == wire.ProtocolIKE
	var s crypto.Suite
	chosen := wire.Proposal{Number: op.Number, Protocol: op.Protocol, SPI: slices.Clone(op.SPI)}

	// PRF, DH and ESN do not depend on the cipher.
	if ike {
		if len(tt[wire.TransformESN]) != 0 {
			return crypto.Suite{}, wire.Proposal{}, false
		}
		prf, ok := pick(tt[wire.TransformPRF], cp.PRF, 0)
		if !ok || !crypto.ValidPRF(prf) {
			return crypto.Suite{}, wire.Proposal{}, false
		}
		s.PRF = prf
	} else if len(tt[wire.TransformPRF]) != 0 {
		return crypto.Suite{}, wire.Proposal{}, false
	}
	dh, ok := pick(tt[wire.TransformDH], cp.DH, crypto.DHNone)
	if !ok || (ike && dh == crypto.DHNone) {
		return crypto.Suite{}, wire.Proposal{}, false
	}
	s.DH = dh
	if !ike {
		esn, ok := pick(tt[wire.TransformESN], cp.ESN, crypto.ESNNo)
		if !ok {
			return crypto.Suite{}, wire.Proposal{}, false
		}
		s.ESN = esn == crypto.ESNYes
	}

	for _, etr := range tt[wire.TransformENCR] {
		i := slices.IndexFunc(cp.Encr, func(e crypto.EncrAlg) bool { return encrMatches(etr, e) })
		if i < 0 {
			continue
		}
		e := cp.Encr[i]
		integ := crypto.IntegNone
		if crypto.AEADEncr(e.ID) {
			// AEAD: the peer must offer no integrity or NONE.
			offered := tt[wire.TransformINTEG]
			if len(offered) != 0 && !slices.ContainsFunc(offered, func(t wire.Transform) bool { return t.ID == crypto.IntegNone }) {
				continue
			}
		} else {
			found := false
			for _, itr := range tt[wire.TransformINTEG] {
				if itr.ID != crypto.IntegNone && slices.Contains(cp.Integ, itr.ID) {
					integ, found = itr.ID, true
					break
				}
			}
			if !found {
				continue
			}
		}
		s.Encr, s.EncrKeyBits, s.Integ = e.ID, e.KeyBits, integ
		if s.Check(ike) != nil {
			continue
		}
		chosen.Transforms = make([]wire.Transform, 0, 5) // ENCR, PRF, INTEG, DH, ESN at most
		chosen.Transforms = append(chosen.Transforms, etr)
		if ike {
			chosen.Transforms = append(chosen.Transforms, wire.Transform{Type: wire.TransformPRF, ID: s.PRF})
		}
		if len(tt[wire.TransformINTEG]) != 0 {
			chosen.Transforms = append(chosen.Transforms, wire.Transform{Type: wire.TransformINTEG, ID: integ})
		}
		if len(tt[wire.TransformDH]) != 0 {
			chosen.Transforms = append(chosen.Transforms, wire.Transform{Type: wire.TransformDH, ID: s.DH})
		}
		if len(tt[wire.TransformESN]) != 0 {
			esn := crypto.ESNNo
			if s.ESN {
				esn = crypto.ESNYes
			}
			chosen.Transforms = append(chosen.Transforms, wire.Transform{Type: wire.TransformESN, ID: esn})
		}
		return s, chosen, true
	}
	return crypto.Suite{}, wire.Proposal{}, false
}

// SuiteFromAccepted is the initiator's view of the responder's answer: it
// turns a proposal with at most one transform of each type into a crypto.Suite.
// It fails if a type occurs more than once, a required type is missing,
// or an algorithm is not supported. Callers should also check that the
// result is one they offered (see Allowed).
func SuiteFromAccepted(p wire.Proposal) (crypto.Suite, error) {
	var ike bool
	switch p.Protocol {
	case wire.ProtocolIKE:
		ike = true
	case wire.ProtocolESP:
	default:
		return crypto.Suite{}, fmt.Errorf("crypto: accepted proposal has unsupported protocol %d", p.Protocol)
	}
	var one [wire.TransformESN + 1]*wire.Transform
	for i := range p.Transforms {
		tr := &p.Transforms[i]
		if tr.Type < wire.TransformENCR || tr.Type > wire.TransformESN {
			return crypto.Suite{}, fmt.Errorf("crypto: accepted proposal has unknown transform type %d", tr.Type)
		}
		if one[tr.Type] != nil {
			return crypto.Suite{}, fmt.Errorf("crypto: accepted proposal has more than one transform of type %d", tr.Type)
		}
		one[tr.Type] = tr
	}
	var s crypto.Suite
	e := one[wire.TransformENCR]
	if e == nil {
		return crypto.Suite{}, errors.New("crypto: accepted proposal has no encryption algorithm")
	}
	s.Encr, s.EncrKeyBits = e.ID, int(e.KeyLength)
	if e.ID == crypto.EncrChaCha20Poly1305 && (e.KeyLength == 0 || e.KeyLength == 256) {
		s.EncrKeyBits = 256
	}
	if !crypto.ValidEncr(s.Encr, s.EncrKeyBits) {
		return crypto.Suite{}, fmt.Errorf("crypto: accepted proposal has unsupported encryption algorithm %d (key length %d)", e.ID, e.KeyLength)
	}
	if t := one[wire.TransformINTEG]; t != nil {
		s.Integ = t.ID
	} else if !s.AEAD() {
		return crypto.Suite{}, errors.New("crypto: accepted proposal has no integrity algorithm")
	}
	if t := one[wire.TransformPRF]; t != nil {
		s.PRF = t.ID
	}
	if t := one[wire.TransformDH]; t != nil {
		s.DH = t.ID
	}
	if t := one[wire.TransformESN]; t != nil {
		if ike || t.ID > crypto.ESNYes {
			return crypto.Suite{}, fmt.Errorf("crypto: accepted proposal has invalid ESN transform %d", t.ID)
		}
		s.ESN = t.ID == crypto.ESNYes
	}
	if err := s.Check(ike); err != nil {
		return crypto.Suite{}, err
	}
	return s, nil
}

// StripDH returns copies of wire proposals without DH transforms (a
// responder ignores them in IKE_AUTH per RFC 7296 section 1.2).
func StripDH(props []wire.Proposal) []wire.Proposal {
	out := make([]wire.Proposal, len(props))
	for i, p := range props {
		p.Transforms = slices.DeleteFunc(slices.Clone(p.Transforms), func(t wire.Transform) bool {
			return t.Type == wire.TransformDH
		})
		out[i] = p
	}
	return out
}
