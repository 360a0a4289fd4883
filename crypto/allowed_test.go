package crypto

import "testing"

func TestAllowed(t *testing.T) {
	ours := mustParseProposals(t, "aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048", true)
	tests := []struct {
		s  Suite
		ok bool
	}{
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}, true},
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 256, PRF: PRFHMACSHA256, Integ: IntegHMACSHA256128, DH: DHMODP2048}, true},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 256, PRF: PRFHMACSHA256, DH: DHCurve25519}, false},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA384, DH: DHCurve25519}, false},
		{Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHMODP2048}, false}, // mixes the two proposals
		{Suite{Encr: EncrAESCBC, EncrKeyBits: 256, PRF: PRFHMACSHA256, Integ: IntegHMACSHA512256, DH: DHMODP2048}, false},
	}
	for _, tt := range tests {
		if Allowed(ours, tt.s) != tt.ok {
			t.Errorf("Allowed(%v) = %v", tt.s, !tt.ok)
		}
	}
	esp := mustParseProposals(t, "aes128gcm16", false)
	if !Allowed(esp, Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}) || Allowed(esp, Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, ESN: true}) ||
		Allowed(esp, Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, DH: DHECP256}) {
		t.Error("ESP Allowed wrong")
	}
}

func mustParseProposals(t *testing.T, s string, ike bool) []Proposal {
	t.Helper()
	p, err := ParseProposals(s, ike)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
