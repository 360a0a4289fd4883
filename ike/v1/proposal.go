package v1

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev1/v1crypto"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// IKEv1 proposals are built from the tunnel's strongSwan-syntax proposals. Phase 1 speaks
// AES-CBC (128/192/256) with SHA2-256/384/512 as hash and PRF (taken from the proposal's PRF),
// Diffie-Hellman groups 14, 19, 20 and 31, and pre-shared keys; phase 2 (ESP) speaks AES-CBC
// with HMAC-SHA2-256/384/512 and AES-GCM-16, with optional PFS. Each combination becomes one
// transform of a single proposal, in the configured order of preference.

// maxTransforms bounds the transforms of one proposal (the wire field holds 255).
const maxTransforms = 64

var errNoV1Proposal = errors.New("no proposal usable with IKEv1")

func v1HashForPRF(prf uint16) (v1crypto.HashAlg, bool) {
	switch prf {
	case crypto.PRFHMACSHA256:
		return v1crypto.SHA256, true
	case crypto.PRFHMACSHA384:
		return v1crypto.SHA384, true
	case crypto.PRFHMACSHA512:
		return v1crypto.SHA512, true
	}
	return 0, false
}

// v1PRFInteg returns the IKEv2 PRF and integrity IDs naming hash h (for Suite.String).
func v1PRFInteg(h v1crypto.HashAlg) (uint16, uint16) {
	switch h {
	case v1crypto.SHA256:
		return crypto.PRFHMACSHA256, crypto.IntegHMACSHA256128
	case v1crypto.SHA384:
		return crypto.PRFHMACSHA384, crypto.IntegHMACSHA384192
	case v1crypto.SHA512:
		return crypto.PRFHMACSHA512, crypto.IntegHMACSHA512256
	}
	return 0, 0
}

func v1AuthForInteg(integ uint16) (uint16, bool) {
	switch integ {
	case crypto.IntegHMACSHA256128:
		return v1wire.AuthHMACSHA256, true
	case crypto.IntegHMACSHA384192:
		return v1wire.AuthHMACSHA384, true
	case crypto.IntegHMACSHA512256:
		return v1wire.AuthHMACSHA512, true
	}
	return 0, false
}

func v1IntegForAuth(auth uint16) (uint16, bool) {
	switch auth {
	case v1wire.AuthHMACSHA256:
		return crypto.IntegHMACSHA256128, true
	case v1wire.AuthHMACSHA384:
		return crypto.IntegHMACSHA384192, true
	case v1wire.AuthHMACSHA512:
		return crypto.IntegHMACSHA512256, true
	}
	return 0, false
}

func aesKeyBits(bits int) bool { return bits == 128 || bits == 192 || bits == 256 }

// v1Life is the life duration we announce for a rekey interval: the hard lifetime, 10%
// beyond the rekey time (strongSwan's default margin), so that our rekey comes first.
func v1Life(rekey time.Duration) uint64 {
	if rekey <= 0 {
		return 0
	}
	return uint64((rekey + rekey/10 + time.Second - 1) / time.Second)
}

// ---- phase 1 ----------------------------------------------------------------------------

// v1P1 is a negotiated ISAKMP SA suite.
type v1P1 struct {
	encrBits int
	hash     v1crypto.HashAlg
	group    uint16
}

func (s v1P1) suite() crypto.Suite {
	prf, integ := v1PRFInteg(s.hash)
	return crypto.Suite{Encr: crypto.EncrAESCBC, EncrKeyBits: s.encrBits, PRF: prf, Integ: integ, DH: s.group}
}

// v1IKETransforms builds our phase 1 transforms.
func v1IKETransforms(props []crypto.Proposal, rekey time.Duration) []v1wire.Transform {
	var out []v1wire.Transform
	seen := map[v1P1]bool{}
	life := v1Life(rekey)
	for _, p := range props {
		for _, enc := range p.Encr {
			if enc.ID != crypto.EncrAESCBC || !aesKeyBits(enc.KeyBits) {
				continue
			}
			for _, prf := range p.PRF {
				h, ok := v1HashForPRF(prf)
				if !ok {
					continue
				}
				for _, g := range p.DH {
					k := v1P1{encrBits: enc.KeyBits, hash: h, group: g}
					if crypto.KELen(g) == 0 || seen[k] || len(out) >= maxTransforms {
						continue
					}
					seen[k] = true
					attrs := []v1wire.Attribute{
						v1wire.BasicAttr(v1wire.IKEAttrEncryption, v1wire.IKEEncrAESCBC),
						v1wire.BasicAttr(v1wire.IKEAttrKeyLength, uint16(enc.KeyBits)),
						v1wire.BasicAttr(v1wire.IKEAttrHash, uint16(h)),
						v1wire.BasicAttr(v1wire.IKEAttrGroupDescription, g),
						v1wire.BasicAttr(v1wire.IKEAttrAuthMethod, v1wire.IKEAuthPSK),
					}
					if life > 0 {
						attrs = append(attrs, v1wire.BasicAttr(v1wire.IKEAttrLifeType, v1wire.LifeSeconds),
							v1wire.UintAttr(v1wire.IKEAttrLifeDuration, life))
					}
					out = append(out, v1wire.Transform{Number: uint8(len(out) + 1), ID: v1wire.TransformKeyIKE, Attributes: attrs})
				}
			}
		}
	}
	return out
}

// v1ParseIKETransform reads a phase 1 transform; unsupported values are errors.
func v1ParseIKETransform(t v1wire.Transform) (v1P1, error) {
	var s v1P1
	if t.ID != v1wire.TransformKeyIKE {
		return s, fmt.Errorf("transform ID %d is not KEY_IKE", t.ID)
	}
	encr, auth := uint16(0), uint16(0)
	for _, a := range t.Attributes {
		v, ok := a.Uint()
		if !ok {
			return s, fmt.Errorf("attribute %d has no usable value", a.Type)
		}
		switch a.Type {
		case v1wire.IKEAttrEncryption:
			encr = uint16(v)
		case v1wire.IKEAttrKeyLength:
			s.encrBits = int(v)
		case v1wire.IKEAttrHash:
			s.hash = v1crypto.HashAlg(v)
		case v1wire.IKEAttrAuthMethod:
			auth = uint16(v)
		case v1wire.IKEAttrGroupDescription:
			s.group = uint16(v)
		case v1wire.IKEAttrGroupType:
			// implied by the group description
		case v1wire.IKEAttrLifeType, v1wire.IKEAttrLifeDuration:
			// the peer's lifetime; we rekey on our own schedule
		case v1wire.IKEAttrPRF:
			return s, errors.New("PRF attribute is not supported")
		default:
			return s, fmt.Errorf("unsupported attribute %d", a.Type)
		}
	}
	switch {
	case encr != v1wire.IKEEncrAESCBC:
		return s, fmt.Errorf("encryption algorithm %d is not AES-CBC", encr)
	case !aesKeyBits(s.encrBits):
		return s, fmt.Errorf("AES key length %d", s.encrBits)
	case !s.hash.Valid():
		return s, fmt.Errorf("hash algorithm %d is not SHA2-256/384/512", s.hash)
	case auth != v1wire.IKEAuthPSK:
		return s, fmt.Errorf("authentication method %d is not pre-shared key", auth)
	case crypto.KELen(s.group) == 0:
		return s, fmt.Errorf("DH group %d is not supported", s.group)
	}
	return s, nil
}

// v1IKEAllowed reports whether s is covered by one of our proposals.
func v1IKEAllowed(s v1P1, props []crypto.Proposal) bool {
	prf, _ := v1PRFInteg(s.hash)
	for _, p := range props {
		if slices.Contains(p.Encr, crypto.EncrAlg{ID: crypto.EncrAESCBC, KeyBits: s.encrBits}) &&
			slices.Contains(p.PRF, prf) && slices.Contains(p.DH, s.group) {
			return true
		}
	}
	return false
}

// v1SelectIKE is the responder's phase 1 choice: the first transform of the peer's that we
// accept, returned with its proposal for the answer (echoed as received).
func v1SelectIKE(sa *v1wire.SA, props []crypto.Proposal) (v1P1, v1wire.Proposal, error) {
	for _, p := range sa.Proposals {
		if p.Protocol != v1wire.ProtoISAKMP {
			continue
		}
		for _, t := range p.Transforms {
			s, err := v1ParseIKETransform(t)
			if err != nil || !v1IKEAllowed(s, props) {
				continue
			}
			return s, v1wire.Proposal{Number: p.Number, Protocol: p.Protocol, SPI: p.SPI, Transforms: []v1wire.Transform{t}}, nil
		}
	}
	return v1P1{}, v1wire.Proposal{}, crypto.ErrNoProposalChosen
}

// ---- phase 2 ----------------------------------------------------------------------------

// v1ESPTransforms builds our Quick Mode transforms: every configured combination, with the
// PFS group pfs (0: none), the encapsulation mode and the life duration.
func v1ESPTransforms(props []crypto.Proposal, pfs, encap uint16, rekey time.Duration) []v1wire.Transform {
	var out []v1wire.Transform
	life := v1Life(rekey)
	for _, p := range props {
		if pfs != 0 && !slices.Contains(p.DH, pfs) || pfs == 0 && len(p.DH) > 0 && !slices.Contains(p.DH, 0) {
			continue
		}
		esns := p.ESN
		if len(esns) == 0 {
			esns = []uint16{crypto.ESNNo}
		}
		for _, enc := range p.Encr {
			id := uint8(0)
			switch enc.ID {
			case crypto.EncrAESCBC:
				id = v1wire.TransformESPAES
			case crypto.EncrAESGCM16:
				id = v1wire.TransformESPAESGCM16
			}
			if id == 0 || !aesKeyBits(enc.KeyBits) {
				continue
			}
			integs := p.Integ
			if p.AEAD() {
				integs = []uint16{crypto.IntegNone}
			}
			for _, integ := range integs {
				auth, ok := v1AuthForInteg(integ)
				if !ok && integ != crypto.IntegNone {
					continue
				}
				for _, esn := range esns {
					if len(out) >= maxTransforms {
						return out
					}
					attrs := []v1wire.Attribute{v1wire.BasicAttr(v1wire.IPsecAttrEncapsulation, encap)}
					attrs = append(attrs, v1wire.BasicAttr(v1wire.IPsecAttrKeyLength, uint16(enc.KeyBits)))
					if integ != crypto.IntegNone {
						attrs = append(attrs, v1wire.BasicAttr(v1wire.IPsecAttrAuthAlgorithm, auth))
					}
					if pfs != 0 {
						attrs = append(attrs, v1wire.BasicAttr(v1wire.IPsecAttrGroupDescription, pfs))
					}
					if life > 0 {
						attrs = append(attrs, v1wire.BasicAttr(v1wire.IPsecAttrSALifeType, v1wire.LifeSeconds),
							v1wire.UintAttr(v1wire.IPsecAttrSALifeDuration, life))
					}
					if esn == crypto.ESNYes {
						attrs = append(attrs, v1wire.BasicAttr(v1wire.IPsecAttrESN, v1wire.ESNUsed))
					}
					out = append(out, v1wire.Transform{Number: uint8(len(out) + 1), ID: id, Attributes: attrs})
				}
			}
		}
	}
	return out
}

// v1PFSGroup is the PFS group of our Quick Modes: the first DH group of the first ESP proposal
// IKEv1 can use (0: no PFS). A Quick Mode carries one KE payload, so only one group is offered.
func v1PFSGroup(props []crypto.Proposal) uint16 {
	for _, p := range props {
		for _, enc := range p.Encr {
			if (enc.ID == crypto.EncrAESCBC || enc.ID == crypto.EncrAESGCM16) && aesKeyBits(enc.KeyBits) {
				if len(p.DH) > 0 {
					return p.DH[0]
				}
				return 0
			}
		}
	}
	return 0
}

// v1ParseESPTransform reads a Quick Mode ESP transform into a suite and its encapsulation mode.
func v1ParseESPTransform(t v1wire.Transform) (crypto.Suite, uint16, error) {
	var s crypto.Suite
	switch t.ID {
	case v1wire.TransformESPAES:
		s.Encr = crypto.EncrAESCBC
	case v1wire.TransformESPAESGCM16:
		s.Encr = crypto.EncrAESGCM16
	default:
		return s, 0, fmt.Errorf("ESP transform %d is not supported", t.ID)
	}
	encap := uint16(0)
	auth := uint16(0)
	for _, a := range t.Attributes {
		v, ok := a.Uint()
		if !ok {
			return s, 0, fmt.Errorf("attribute %d has no usable value", a.Type)
		}
		switch a.Type {
		case v1wire.IPsecAttrEncapsulation:
			encap = uint16(v)
		case v1wire.IPsecAttrKeyLength:
			s.EncrKeyBits = int(v)
		case v1wire.IPsecAttrAuthAlgorithm:
			auth = uint16(v)
		case v1wire.IPsecAttrGroupDescription:
			s.DH = uint16(v)
		case v1wire.IPsecAttrESN:
			s.ESN = v == uint64(v1wire.ESNUsed)
		case v1wire.IPsecAttrSALifeType, v1wire.IPsecAttrSALifeDuration:
			// the peer's lifetime; we rekey on our own schedule
		default:
			return s, 0, fmt.Errorf("unsupported attribute %d", a.Type)
		}
	}
	if !aesKeyBits(s.EncrKeyBits) {
		return s, 0, fmt.Errorf("AES key length %d", s.EncrKeyBits)
	}
	if s.AEAD() {
		if auth != 0 {
			return s, 0, errors.New("AES-GCM with an authentication algorithm")
		}
	} else {
		integ, ok := v1IntegForAuth(auth)
		if !ok {
			return s, 0, fmt.Errorf("authentication algorithm %d is not supported", auth)
		}
		s.Integ = integ
	}
	if s.DH != 0 && crypto.KELen(s.DH) == 0 {
		return s, 0, fmt.Errorf("PFS group %d is not supported", s.DH)
	}
	switch encap {
	case v1wire.EncapTunnel, v1wire.EncapUDPTunnel, v1wire.EncapUDPTunnelDraft:
	default:
		return s, 0, fmt.Errorf("encapsulation mode %d (only tunnel mode is supported)", encap)
	}
	return s, encap, nil
}

// v1ESPAllowed reports whether s is covered by our proposals (ESN included).
func v1ESPAllowed(s crypto.Suite, props []crypto.Proposal) bool {
	esn := crypto.ESNNo
	if s.ESN {
		esn = crypto.ESNYes
	}
	for _, p := range props {
		esns := p.ESN
		if len(esns) == 0 {
			esns = []uint16{crypto.ESNNo}
		}
		if slices.Contains(esns, esn) && ike.Acceptable(s, []crypto.Proposal{p}) {
			return true
		}
	}
	return false
}

// v1SelectESP is the responder's Quick Mode choice.
func v1SelectESP(sa *v1wire.SA, props []crypto.Proposal) (crypto.Suite, uint16, v1wire.Proposal, error) {
	numbers := map[uint8]int{}
	for _, p := range sa.Proposals {
		numbers[p.Number]++
	}
	for _, p := range sa.Proposals {
		if p.Protocol != v1wire.ProtoESP || len(p.SPI) != 4 || numbers[p.Number] != 1 {
			continue // AH, IPComp bundles and malformed SPIs are not supported
		}
		for _, t := range p.Transforms {
			s, encap, err := v1ParseESPTransform(t)
			if err != nil || !v1ESPAllowed(s, props) {
				continue
			}
			return s, encap, v1wire.Proposal{Number: p.Number, Protocol: p.Protocol, SPI: p.SPI, Transforms: []v1wire.Transform{t}}, nil
		}
	}
	return crypto.Suite{}, 0, v1wire.Proposal{}, crypto.ErrNoProposalChosen
}

// v1CheckTunnel warns about an IKEv1 tunnel whose proposals have nothing IKEv1 can use.
func (e *engine) v1CheckTunnel(c *ike.TunnelConfig) {
	if len(v1IKETransforms(c.IKEProposals, c.IKELifetime)) == 0 {
		e.Log().Error("IKEv1 tunnel has no usable ike_proposals (IKEv1 phase 1 needs aes128/192/256 with sha256/384/512 and DH group 14, 19, 20 or 31; no AEAD)", "tunnel", c.Name)
	}
	if len(v1ESPTransforms(c.ESPProposals, v1PFSGroup(c.ESPProposals), v1wire.EncapTunnel, c.ChildLifetime)) == 0 {
		e.Log().Error("IKEv1 tunnel has no usable esp_proposals (IKEv1 ESP supports aes-cbc with sha256/384/512 and aes-gcm-16)", "tunnel", c.Name)
	}
	if len(c.LocalTS) > 1 || len(c.RemoteTS) > 1 {
		e.Log().Warn("IKEv1 negotiates one subnet pair per Child SA: only the first local and remote subnet are used", "tunnel", c.Name)
	}
}
