package crypto

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// ErrNoProposalChosen is returned by Select when no offered proposal is
// acceptable; the responder answers with NO_PROPOSAL_CHOSEN.
var ErrNoProposalChosen = errors.New("crypto: no acceptable proposal")

// Select is the responder's proposal choice. It walks the offered
// proposals in the peer's order of preference and returns the first one
// acceptable under any of ours, as a Suite and as the proposal to send
// back: the peer's proposal number, protocol and SPI with exactly one
// transform of each type the peer offered. Within a transform type the
// peer's preference wins too.
//
// Proposals of another protocol, with a malformed SPI size (IKE: 0 or 8,
// ESP: 4) or with transform types this package does not know are skipped.
// A DH group is agreed when both sides list it; a side without DH
// transforms (or with DH NONE) agrees only with "none". ESN works the same
// way with "no ESN" as the default. It returns ErrNoProposalChosen if
// nothing matches.
func Select(offered []wire.Proposal, ours []Proposal, proto wire.ProtocolID) (Suite, wire.Proposal, error) {
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
	return Suite{}, wire.Proposal{}, ErrNoProposalChosen
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
	for _, tr := range p.Transforms {
		if tr.Type < wire.TransformENCR || tr.Type > wire.TransformESN {
			return t, false
		}
		t[tr.Type] = append(t[tr.Type], tr)
	}
	return t, true
}

// encrMatches reports whether an offered ENCR transform is the configured
// algorithm, including the Key Length attribute.
func encrMatches(tr wire.Transform, e EncrAlg) bool {
	if tr.ID != e.ID {
		return false
	}
	if e.ID == EncrChaCha20Poly1305 {
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

func match(op wire.Proposal, cp Proposal, proto wire.ProtocolID) (Suite, wire.Proposal, bool) {
	tt, ok := byType(op)
	if !ok {
		return Suite{}, wire.Proposal{}, false
	}
	ike := proto == wire.ProtocolIKE
	var s Suite
	chosen := wire.Proposal{Number: op.Number, Protocol: op.Protocol, SPI: slices.Clone(op.SPI)}

	// PRF, DH and ESN do not depend on the cipher.
	if ike {
		if len(tt[wire.TransformESN]) != 0 {
			return Suite{}, wire.Proposal{}, false
		}
		prf, ok := pick(tt[wire.TransformPRF], cp.PRF, 0)
		if !ok || !validPRF(prf) {
			return Suite{}, wire.Proposal{}, false
		}
		s.PRF = prf
	} else if len(tt[wire.TransformPRF]) != 0 {
		return Suite{}, wire.Proposal{}, false
	}
	dh, ok := pick(tt[wire.TransformDH], cp.DH, DHNone)
	if !ok || (ike && dh == DHNone) {
		return Suite{}, wire.Proposal{}, false
	}
	s.DH = dh
	if !ike {
		esn, ok := pick(tt[wire.TransformESN], cp.ESN, ESNNo)
		if !ok {
			return Suite{}, wire.Proposal{}, false
		}
		s.ESN = esn == ESNYes
	}

	for _, etr := range tt[wire.TransformENCR] {
		i := slices.IndexFunc(cp.Encr, func(e EncrAlg) bool { return encrMatches(etr, e) })
		if i < 0 {
			continue
		}
		e := cp.Encr[i]
		integ := IntegNone
		if aeadEncr(e.ID) {
			// AEAD: the peer must offer no integrity or NONE.
			offered := tt[wire.TransformINTEG]
			if len(offered) != 0 && !slices.ContainsFunc(offered, func(t wire.Transform) bool { return t.ID == IntegNone }) {
				continue
			}
		} else {
			found := false
			for _, itr := range tt[wire.TransformINTEG] {
				if itr.ID != IntegNone && slices.Contains(cp.Integ, itr.ID) {
					integ, found = itr.ID, true
					break
				}
			}
			if !found {
				continue
			}
		}
		s.Encr, s.EncrKeyBits, s.Integ = e.ID, e.KeyBits, integ
		if s.check(ike) != nil {
			continue
		}
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
			esn := ESNNo
			if s.ESN {
				esn = ESNYes
			}
			chosen.Transforms = append(chosen.Transforms, wire.Transform{Type: wire.TransformESN, ID: esn})
		}
		return s, chosen, true
	}
	return Suite{}, wire.Proposal{}, false
}

// SuiteFromAccepted is the initiator's view of the responder's answer: it
// turns a proposal with at most one transform of each type into a Suite.
// It fails if a type occurs more than once, a required type is missing,
// or an algorithm is not supported. Callers should also check that the
// result is one they offered (see Allowed).
func SuiteFromAccepted(p wire.Proposal) (Suite, error) {
	var ike bool
	switch p.Protocol {
	case wire.ProtocolIKE:
		ike = true
	case wire.ProtocolESP:
	default:
		return Suite{}, fmt.Errorf("crypto: accepted proposal has unsupported protocol %d", p.Protocol)
	}
	var one [wire.TransformESN + 1]*wire.Transform
	for i := range p.Transforms {
		tr := &p.Transforms[i]
		if tr.Type < wire.TransformENCR || tr.Type > wire.TransformESN {
			return Suite{}, fmt.Errorf("crypto: accepted proposal has unknown transform type %d", tr.Type)
		}
		if one[tr.Type] != nil {
			return Suite{}, fmt.Errorf("crypto: accepted proposal has more than one transform of type %d", tr.Type)
		}
		one[tr.Type] = tr
	}
	var s Suite
	e := one[wire.TransformENCR]
	if e == nil {
		return Suite{}, errors.New("crypto: accepted proposal has no encryption algorithm")
	}
	s.Encr, s.EncrKeyBits = e.ID, int(e.KeyLength)
	if e.ID == EncrChaCha20Poly1305 && (e.KeyLength == 0 || e.KeyLength == 256) {
		s.EncrKeyBits = 256
	}
	if !validEncr(s.Encr, s.EncrKeyBits) {
		return Suite{}, fmt.Errorf("crypto: accepted proposal has unsupported encryption algorithm %d (key length %d)", e.ID, e.KeyLength)
	}
	if t := one[wire.TransformINTEG]; t != nil {
		s.Integ = t.ID
	} else if !s.AEAD() {
		return Suite{}, errors.New("crypto: accepted proposal has no integrity algorithm")
	}
	if t := one[wire.TransformPRF]; t != nil {
		s.PRF = t.ID
	}
	if t := one[wire.TransformDH]; t != nil {
		s.DH = t.ID
	}
	if t := one[wire.TransformESN]; t != nil {
		if ike || t.ID > ESNYes {
			return Suite{}, fmt.Errorf("crypto: accepted proposal has invalid ESN transform %d", t.ID)
		}
		s.ESN = t.ID == ESNYes
	}
	if err := s.check(ike); err != nil {
		return Suite{}, err
	}
	return s, nil
}

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
