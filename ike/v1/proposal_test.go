package v1

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// TestV1ProposalRoundTrip: every transform we build parses back into a suite our proposals
// allow, and the counts follow the configured combinations.
func TestV1ProposalRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ike      string
		nIKE     int
		esp      string
		nESP     int
		wantPFS  uint16
		espSuite string
	}{
		{"aes128-sha256-ecp256", 1, "aes128gcm16", 1, 0, "aes128gcm16"},
		{"aes128-aes256-sha256-sha384-modp2048-ecp256", 8, "aes256-sha256-sha512", 2, 0, "aes256-sha256"},
		{"aes128gcm16-prfsha256-x25519,aes256-sha512-x25519", 1, "chacha20poly1305,aes128-sha256-ecp256", 1, 19, "aes128-sha256-ecp256"},
		{"chacha20poly1305-prfsha256-x25519", 0, "aes128gcm16-esn-noesn", 2, 0, "aes128gcm16-esn"},
	} {
		ike := iketest.MustProps(t, tc.ike, true)
		esp := iketest.MustProps(t, tc.esp, false)
		its := v1IKETransforms(ike, time.Hour)
		if len(its) != tc.nIKE {
			t.Errorf("%s: %d phase 1 transforms, want %d", tc.ike, len(its), tc.nIKE)
		}
		for _, tr := range its {
			s, err := v1ParseIKETransform(tr)
			if err != nil || !v1IKEAllowed(s, ike) {
				t.Errorf("%s: transform %d: %v, allowed %v", tc.ike, tr.Number, err, v1IKEAllowed(s, ike))
			}
			if life, ok := tr.Attr(v1wire.IKEAttrLifeDuration); !ok || must(life.Uint()) != 3960 {
				t.Errorf("%s: life %v", tc.ike, life)
			}
		}
		pfs := v1PFSGroup(esp)
		if pfs != tc.wantPFS {
			t.Errorf("%s: PFS group %d", tc.esp, pfs)
		}
		ets := v1ESPTransforms(esp, pfs, v1wire.EncapUDPTunnel, time.Hour)
		if len(ets) != tc.nESP {
			t.Errorf("%s: %d ESP transforms, want %d", tc.esp, len(ets), tc.nESP)
		}
		for _, tr := range ets {
			s, encap, err := v1ParseESPTransform(tr)
			if err != nil || encap != v1wire.EncapUDPTunnel || !v1ESPAllowed(s, esp) {
				t.Errorf("%s: transform %d: %v encap %d allowed %v", tc.esp, tr.Number, err, encap, v1ESPAllowed(s, esp))
			}
		}
		if len(ets) > 0 {
			sa := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoESP, SPI: []byte{1, 2, 3, 4}, Transforms: ets}}}
			s, _, _, err := v1SelectESP(sa, esp)
			if err != nil || s.String() != tc.espSuite {
				t.Errorf("%s: selected %v, %v; want %s", tc.esp, s, err, tc.espSuite)
			}
		}
	}
}

func TestV1SelectRefuses(t *testing.T) {
	ours := iketest.MustProps(t, "aes128-sha256-ecp256", true)
	theirs := v1IKETransforms(iketest.MustProps(t, "aes256-sha512-modp2048", true), 0)
	if _, _, err := v1SelectIKE(&v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP, Transforms: theirs}}}, ours); err == nil {
		t.Errorf("mismatching phase 1 proposal accepted")
	}
	esp := iketest.MustProps(t, "aes128gcm16", false)
	transport := v1ESPTransforms(esp, 0, v1wire.EncapTransport, 0)
	if _, _, _, err := v1SelectESP(&v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoESP, SPI: []byte{1, 2, 3, 4}, Transforms: transport}}}, esp); err == nil {
		t.Errorf("transport mode accepted")
	}
	pfs := v1ESPTransforms(iketest.MustProps(t, "aes128gcm16-modp2048", false), crypto.DHMODP2048, v1wire.EncapTunnel, 0)
	if _, _, _, err := v1SelectESP(&v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoESP, SPI: []byte{1, 2, 3, 4}, Transforms: pfs}}}, esp); err == nil {
		t.Errorf("PFS accepted by a tunnel without PFS")
	}
}

// FuzzV1Transform feeds arbitrary attribute lists to the phase 1 and phase 2 transform parsers.
func FuzzV1Transform(f *testing.F) {
	for _, tr := range v1IKETransforms(iketest.MustProps(f, "aes128-aes256-sha256-sha512-modp2048-ecp384", true), time.Hour) {
		f.Add(tr.ID, v1wire.AppendAttributes(nil, tr.Attributes))
	}
	for _, tr := range v1ESPTransforms(iketest.MustProps(f, "aes128gcm16,aes256-sha384-esn", false), 14, v1wire.EncapTunnel, 100*time.Hour) {
		f.Add(tr.ID, v1wire.AppendAttributes(nil, tr.Attributes))
	}
	f.Fuzz(func(t *testing.T, id uint8, b []byte) {
		attrs, err := v1wire.ParseAttributes(b)
		if err != nil {
			return
		}
		tr := v1wire.Transform{Number: 1, ID: id, Attributes: attrs}
		if s, err := v1ParseIKETransform(tr); err == nil && (!aesKeyBits(s.encrBits) || !s.hash.Valid() || crypto.KELen(s.group) == 0) {
			t.Fatalf("accepted phase 1 transform %+v", s)
		}
		if s, _, err := v1ParseESPTransform(tr); err == nil && (!aesKeyBits(s.EncrKeyBits) || s.EncrKeyLen() == 0 || !s.AEAD() && s.IntegKeyLen() == 0) {
			t.Fatalf("accepted ESP transform %+v", s)
		}
	})
}
