package crypto

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// EncrAlg is an encryption algorithm with its key size.
type EncrAlg struct {
	ID      uint16
	KeyBits int
}

// Proposal is one configured proposal: the acceptable algorithms of each
// transform type, in order of preference.
type Proposal struct {
	Encr  []EncrAlg
	PRF   []uint16 // empty for ESP
	Integ []uint16 // empty for AEAD proposals
	DH    []uint16 // empty: no DH (ESP without PFS)
	ESN   []uint16 // ESNNo/ESNYes; ESP only, defaults to [ESNNo]
}

// DHGroups returns a copy of the proposal's Diffie-Hellman groups in order
// of preference (used to answer INVALID_KE_PAYLOAD).
func (p Proposal) DHGroups() []uint16 { return slices.Clone(p.DH) }

// AEAD reports whether the proposal's encryption algorithms are AEAD
// ciphers (ParseProposals never mixes AEAD and non-AEAD ciphers).
func (p Proposal) AEAD() bool { return len(p.Encr) > 0 && aeadEncr(p.Encr[0].ID) }

// String renders the proposal in strongSwan syntax.
func (p Proposal) String() string {
	var parts []string
	for _, e := range p.Encr {
		parts = append(parts, encrName(e.ID, e.KeyBits))
	}
	for _, id := range p.Integ {
		parts = append(parts, integName(id))
	}
	for _, id := range p.PRF {
		parts = append(parts, prfName(id))
	}
	for _, id := range p.DH {
		parts = append(parts, dhName(id))
	}
	for _, id := range p.ESN {
		if id == ESNYes {
			parts = append(parts, "esn")
		} else {
			parts = append(parts, "noesn")
		}
	}
	return strings.Join(parts, "-")
}

type tokenKind uint8

const (
	kindEncr tokenKind = iota
	kindInteg
	kindPRF
	kindDH
	kindESN
)

type tokenDef struct {
	name    string
	kind    tokenKind
	id      uint16
	keyBits int
}

// tokens lists every keyword ParseProposals accepts, in the order they are
// shown in error messages.
var tokens = []tokenDef{
	{"aes128", kindEncr, EncrAESCBC, 128},
	{"aes192", kindEncr, EncrAESCBC, 192},
	{"aes256", kindEncr, EncrAESCBC, 256},
	{"aes128gcm16", kindEncr, EncrAESGCM16, 128},
	{"aes192gcm16", kindEncr, EncrAESGCM16, 192},
	{"aes256gcm16", kindEncr, EncrAESGCM16, 256},
	{"aes128gcm", kindEncr, EncrAESGCM16, 128},
	{"aes192gcm", kindEncr, EncrAESGCM16, 192},
	{"aes256gcm", kindEncr, EncrAESGCM16, 256},
	{"chacha20poly1305", kindEncr, EncrChaCha20Poly1305, 256},
	{"sha256", kindInteg, IntegHMACSHA256128, 0},
	{"sha384", kindInteg, IntegHMACSHA384192, 0},
	{"sha512", kindInteg, IntegHMACSHA512256, 0},
	{"prfsha256", kindPRF, PRFHMACSHA256, 0},
	{"prfsha384", kindPRF, PRFHMACSHA384, 0},
	{"prfsha512", kindPRF, PRFHMACSHA512, 0},
	{"modp2048", kindDH, DHMODP2048, 0},
	{"ecp256", kindDH, DHECP256, 0},
	{"ecp384", kindDH, DHECP384, 0},
	{"x25519", kindDH, DHCurve25519, 0},
	{"curve25519", kindDH, DHCurve25519, 0},
	{"esn", kindESN, ESNYes, 0},
	{"noesn", kindESN, ESNNo, 0},
}

var tokenIndex = func() map[string]tokenDef {
	m := make(map[string]tokenDef, len(tokens))
	for _, t := range tokens {
		m[t.name] = t
	}
	return m
}()

func validTokenList() string {
	names := make([]string, len(tokens))
	for i, t := range tokens {
		names[i] = t.name
	}
	return strings.Join(names, " ")
}

// ParseProposals parses a proposal list in strongSwan syntax: proposals
// separated by ',', algorithms within a proposal separated by '-', for
// example "aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048". ike
// selects IKE SA (true) or ESP Child SA (false) rules. Keywords are
// case-insensitive; a trailing '!' (strongSwan's "strict" marker) is
// accepted and ignored, as no defaults are ever appended.
//
// Rules: an IKE proposal needs encryption, a PRF and a DH group, plus
// integrity unless the ciphers are AEAD; without a prf keyword the
// integrity keywords sha256/sha384/sha512 also select the matching PRF
// (in an all-AEAD IKE proposal they select only the PRF, as in
// strongSwan). An ESP proposal needs encryption plus integrity unless
// AEAD, takes no PRF, and defaults to noesn. AEAD and non-AEAD ciphers
// cannot share a proposal, and an AEAD cipher with an explicit integrity
// algorithm is an error.
func ParseProposals(s string, ike bool) ([]Proposal, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "!")
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("crypto: empty proposal list")
	}
	var out []Proposal
	for _, ps := range strings.Split(s, ",") {
		p, err := parseProposal(strings.TrimSpace(ps), ike)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProposal(s string, ike bool) (Proposal, error) {
	var p Proposal
	if s == "" {
		return p, errors.New("crypto: empty proposal in list")
	}
	var integ []uint16
	for _, raw := range strings.Split(s, "-") {
		name := strings.ToLower(strings.TrimSpace(raw))
		if name == "" {
			return p, fmt.Errorf("crypto: empty algorithm in proposal %q", s)
		}
		t, ok := tokenIndex[name]
		if !ok {
			return p, fmt.Errorf("crypto: unknown algorithm %q in proposal %q (valid: %s)", raw, s, validTokenList())
		}
		switch t.kind {
		case kindEncr:
			e := EncrAlg{ID: t.id, KeyBits: t.keyBits}
			if !slices.Contains(p.Encr, e) {
				p.Encr = append(p.Encr, e)
			}
		case kindInteg:
			integ = appendUnique(integ, t.id)
		case kindPRF:
			p.PRF = appendUnique(p.PRF, t.id)
		case kindDH:
			p.DH = appendUnique(p.DH, t.id)
		case kindESN:
			if ike {
				return p, fmt.Errorf("crypto: %q is not valid in an IKE proposal (%q)", name, s)
			}
			p.ESN = appendUnique(p.ESN, t.id)
		}
	}
	if len(p.Encr) == 0 {
		return p, fmt.Errorf("crypto: proposal %q has no encryption algorithm", s)
	}
	aead := 0
	for _, e := range p.Encr {
		if aeadEncr(e.ID) {
			aead++
		}
	}
	if aead != 0 && aead != len(p.Encr) {
		return p, fmt.Errorf("crypto: proposal %q mixes AEAD and non-AEAD ciphers; use separate proposals", s)
	}
	allAEAD := aead != 0
	if ike {
		if len(p.PRF) == 0 {
			for _, id := range integ {
				p.PRF = appendUnique(p.PRF, prfForInteg(id))
			}
			if allAEAD {
				// strongSwan: in an AEAD IKE proposal, sha* only names the PRF.
				integ = nil
			}
		}
		if len(p.PRF) == 0 {
			return p, fmt.Errorf("crypto: IKE proposal %q has no PRF (add e.g. prfsha256)", s)
		}
		if len(p.DH) == 0 {
			return p, fmt.Errorf("crypto: IKE proposal %q has no Diffie-Hellman group", s)
		}
	} else {
		if len(p.PRF) != 0 {
			return p, fmt.Errorf("crypto: ESP proposal %q must not contain a PRF", s)
		}
		if len(p.ESN) == 0 {
			p.ESN = []uint16{ESNNo}
		}
	}
	if allAEAD && len(integ) != 0 {
		return p, fmt.Errorf("crypto: proposal %q combines an AEAD cipher with an integrity algorithm", s)
	}
	if !allAEAD && len(integ) == 0 {
		return p, fmt.Errorf("crypto: proposal %q has no integrity algorithm (required with non-AEAD ciphers)", s)
	}
	p.Integ = integ
	return p, nil
}

func appendUnique(s []uint16, v uint16) []uint16 {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
