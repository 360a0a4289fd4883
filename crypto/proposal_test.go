package crypto

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProposalsValid(t *testing.T) {
	tests := []struct {
		in   string
		ike  bool
		want []Proposal
	}{
		{"aes128gcm16-prfsha256-x25519", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESGCM16, 128}}, PRF: []uint16{PRFHMACSHA256}, DH: []uint16{DHCurve25519}}}},
		{"aes256-sha256-modp2048", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESCBC, 256}}, PRF: []uint16{PRFHMACSHA256}, Integ: []uint16{IntegHMACSHA256128}, DH: []uint16{DHMODP2048}}}},
		{"aes128-aes256-sha256-sha384-ecp256-modp2048", true, []Proposal{{
			Encr:  []EncrAlg{{EncrAESCBC, 128}, {EncrAESCBC, 256}},
			PRF:   []uint16{PRFHMACSHA256, PRFHMACSHA384},
			Integ: []uint16{IntegHMACSHA256128, IntegHMACSHA384192},
			DH:    []uint16{DHECP256, DHMODP2048}}}},
		{"aes192-sha512-prfsha384-ecp384", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESCBC, 192}}, PRF: []uint16{PRFHMACSHA384}, Integ: []uint16{IntegHMACSHA512256}, DH: []uint16{DHECP384}}}},
		// strongSwan: in an all-AEAD IKE proposal without prf keyword, sha* names the PRF.
		{"aes256gcm16-sha384-ecp384", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESGCM16, 256}}, PRF: []uint16{PRFHMACSHA384}, DH: []uint16{DHECP384}}}},
		{"AES128GCM-PrfSha512-Curve25519", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESGCM16, 128}}, PRF: []uint16{PRFHMACSHA512}, DH: []uint16{DHCurve25519}}}},
		{"aes128-aes128-sha256-sha256-x25519-x25519", true, []Proposal{{
			Encr: []EncrAlg{{EncrAESCBC, 128}}, PRF: []uint16{PRFHMACSHA256}, Integ: []uint16{IntegHMACSHA256128}, DH: []uint16{DHCurve25519}}}},
		{" aes128gcm16-prfsha256-x25519 , chacha20poly1305-prfsha256-ecp256 !", true, []Proposal{
			{Encr: []EncrAlg{{EncrAESGCM16, 128}}, PRF: []uint16{PRFHMACSHA256}, DH: []uint16{DHCurve25519}},
			{Encr: []EncrAlg{{EncrChaCha20Poly1305, 256}}, PRF: []uint16{PRFHMACSHA256}, DH: []uint16{DHECP256}}}},
		{"aes128gcm16", false, []Proposal{{Encr: []EncrAlg{{EncrAESGCM16, 128}}, ESN: []uint16{ESNNo}}}},
		{"aes128gcm16-esn", false, []Proposal{{Encr: []EncrAlg{{EncrAESGCM16, 128}}, ESN: []uint16{ESNYes}}}},
		{"aes256gcm16-esn-noesn", false, []Proposal{{Encr: []EncrAlg{{EncrAESGCM16, 256}}, ESN: []uint16{ESNYes, ESNNo}}}},
		{"aes256-sha256-modp2048", false, []Proposal{{
			Encr: []EncrAlg{{EncrAESCBC, 256}}, Integ: []uint16{IntegHMACSHA256128}, DH: []uint16{DHMODP2048}, ESN: []uint16{ESNNo}}}},
		{"chacha20poly1305,aes128-sha512-noesn", false, []Proposal{
			{Encr: []EncrAlg{{EncrChaCha20Poly1305, 256}}, ESN: []uint16{ESNNo}},
			{Encr: []EncrAlg{{EncrAESCBC, 128}}, Integ: []uint16{IntegHMACSHA512256}, ESN: []uint16{ESNNo}}}},
	}
	for _, tt := range tests {
		got, err := ParseProposals(tt.in, tt.ike)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseProposalsErrors(t *testing.T) {
	tests := []struct {
		in   string
		ike  bool
		want string // substring of the error
	}{
		{"", true, "empty proposal list"},
		{"   ", false, "empty proposal list"},
		{"!", true, "empty proposal list"},
		{"aes128gcm16-prfsha256-x25519,", true, "empty proposal in list"},
		{",aes128gcm16", false, "empty proposal in list"},
		{"aes128--sha256-modp2048", true, "empty algorithm"},
		{"aes128-sha256-modp2048-", true, "empty algorithm"},
		{"aes128-sha1-modp2048", true, `unknown algorithm "sha1"`},
		{"3des-sha256", false, `unknown algorithm "3des"`},
		{"aes128gcm8", false, `unknown algorithm "aes128gcm8"`},
		{"sha256-prfsha256-modp2048", true, "no encryption algorithm"},
		{"modp2048", false, "no encryption algorithm"},
		{"aes128gcm16-aes128-sha256-modp2048", true, "mixes AEAD and non-AEAD"},
		{"chacha20poly1305-aes256", false, "mixes AEAD and non-AEAD"},
		{"aes128gcm16-x25519", true, "no PRF"},
		{"aes128-prfsha256-modp2048", true, "no integrity algorithm"},
		{"aes128-sha256", true, "no Diffie-Hellman group"},
		{"aes128gcm16-prfsha256", true, "no Diffie-Hellman group"},
		{"aes128gcm16-prfsha256-sha256-x25519", true, "AEAD cipher with an integrity algorithm"},
		{"aes128gcm16-prfsha256-x25519-esn", true, `"esn" is not valid in an IKE proposal`},
		{"aes128-sha256-modp2048-noesn", true, `"noesn" is not valid in an IKE proposal`},
		{"aes128gcm16-prfsha256", false, "must not contain a PRF"},
		{"aes128gcm16-sha256", false, "AEAD cipher with an integrity algorithm"},
		{"aes128", false, "no integrity algorithm"},
		{"aes128-modp2048-esn", false, "no integrity algorithm"},
	}
	for _, tt := range tests {
		_, err := ParseProposals(tt.in, tt.ike)
		if err == nil {
			t.Errorf("%q (ike=%v): no error", tt.in, tt.ike)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q does not mention %q", tt.in, err, tt.want)
		}
	}
	// Unknown keywords list the valid ones.
	_, err := ParseProposals("aes128-md5-modp1024", true)
	for _, name := range []string{"aes128gcm16", "chacha20poly1305", "prfsha384", "x25519", "noesn"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not list %q", err, name)
		}
	}
}

func TestSuiteString(t *testing.T) {
	tests := []struct {
		s    Suite
		want string
		ike  bool
	}{
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}, "aes128gcm16-prfsha256-x25519", true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 256, PRF: PRFHMACSHA256, Integ: IntegHMACSHA256128, DH: DHMODP2048}, "aes256-sha256-modp2048", true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 256, PRF: PRFHMACSHA384, Integ: IntegHMACSHA256128, DH: DHECP256}, "aes256-sha256-prfsha384-ecp256", true},
		{Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256, PRF: PRFHMACSHA512, DH: DHECP384}, "chacha20poly1305-prfsha512-ecp384", true},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, ESN: true}, "aes128gcm16-esn", false},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 256}, "aes256gcm16", false},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 192, Integ: IntegHMACSHA512256, DH: DHMODP2048, ESN: true}, "aes192-sha512-modp2048-esn", false},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		// The output parses back to a proposal that allows exactly this suite.
		props, err := ParseProposals(tt.want, tt.ike)
		if err != nil {
			t.Errorf("%q does not parse: %v", tt.want, err)
			continue
		}
		if !Allowed(props, tt.s) {
			t.Errorf("%q does not allow %+v", tt.want, tt.s)
		}
		again, err := ParseProposals(props[0].String(), tt.ike)
		if err != nil || !reflect.DeepEqual(again, props) {
			t.Errorf("Proposal.String() %q does not round-trip: %v", props[0].String(), err)
		}
	}
	if got := (Suite{Encr: 99, EncrKeyBits: 1, Integ: 98, PRF: 97, DH: 96}).String(); got != "encr99-1-integ98-prf97-dh96" {
		t.Errorf("unknown IDs: %q", got)
	}
}

func TestSuiteKeyLengths(t *testing.T) {
	tests := []struct {
		s            Suite
		encr, integ  int
		aead         bool
		ikeOK, espOK bool
	}{
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}, 20, 0, true, false, true},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 256}, 36, 0, true, false, true},
		{Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256}, 36, 0, true, false, true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: IntegHMACSHA256128}, 16, 32, false, false, true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 192, Integ: IntegHMACSHA384192}, 24, 48, false, false, true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 256, Integ: IntegHMACSHA512256, PRF: PRFHMACSHA512, DH: DHECP256}, 32, 64, false, true, false},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 100}, 0, 0, false, false, false},
	}
	for _, tt := range tests {
		if tt.s.EncrKeyLen() != tt.encr || tt.s.IntegKeyLen() != tt.integ || tt.s.AEAD() != tt.aead {
			t.Errorf("%v: EncrKeyLen %d IntegKeyLen %d AEAD %v", tt.s, tt.s.EncrKeyLen(), tt.s.IntegKeyLen(), tt.s.AEAD())
		}
		if (tt.s.check(true) == nil) != tt.ikeOK || (tt.s.check(false) == nil) != tt.espOK {
			t.Errorf("%v: check ike=%v esp=%v", tt.s, tt.s.check(true), tt.s.check(false))
		}
	}
}

func TestDHGroups(t *testing.T) {
	props, _ := ParseProposals("aes128gcm16-prfsha256-x25519-ecp384-modp2048", true)
	g := props[0].DHGroups()
	if !reflect.DeepEqual(g, []uint16{DHCurve25519, DHECP384, DHMODP2048}) {
		t.Fatalf("DHGroups = %v", g)
	}
	g[0] = 0
	if props[0].DH[0] != DHCurve25519 {
		t.Fatal("DHGroups returned the internal slice")
	}
	if !props[0].AEAD() {
		t.Error("AEAD() false for a GCM proposal")
	}
}
