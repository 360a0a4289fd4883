package proposal

import (
	"errors"
	"reflect"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

func mustParse(t *testing.T, s string, ike bool) []crypto.Proposal {
	t.Helper()
	p, err := crypto.ParseProposals(s, ike)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tr(typ wire.TransformType, id uint16, keyLen ...uint16) wire.Transform {
	t := wire.Transform{Type: typ, ID: id}
	if len(keyLen) > 0 {
		t.KeyLength = keyLen[0]
	}
	return t
}

var espSPI = []byte{0xc0, 0x01, 0xca, 0xfe}

func espProp(num uint8, trs ...wire.Transform) wire.Proposal {
	return wire.Proposal{Number: num, Protocol: wire.ProtocolESP, SPI: espSPI, Transforms: trs}
}

func ikeProp(num uint8, trs ...wire.Transform) wire.Proposal {
	return wire.Proposal{Number: num, Protocol: wire.ProtocolIKE, Transforms: trs}
}

func TestSelectPeerPreferenceWins(t *testing.T) {
	ours := mustParse(t, "aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048", true)
	offered := []wire.Proposal{
		// 1: nothing we support
		ikeProp(1, tr(wire.TransformENCR, 3), tr(wire.TransformPRF, 2), tr(wire.TransformINTEG, 2), tr(wire.TransformDH, 2)),
		// 2: matches our second proposal; peer lists modp2048 after ecp256
		ikeProp(2, tr(wire.TransformENCR, crypto.EncrAESCBC, 256), tr(wire.TransformPRF, crypto.PRFHMACSHA256),
			tr(wire.TransformINTEG, crypto.IntegHMACSHA256128), tr(wire.TransformDH, crypto.DHECP256), tr(wire.TransformDH, crypto.DHMODP2048)),
		// 3: matches our first proposal, but the peer prefers 2
		ikeProp(3, tr(wire.TransformENCR, crypto.EncrAESGCM16, 128), tr(wire.TransformPRF, crypto.PRFHMACSHA256), tr(wire.TransformDH, crypto.DHCurve25519)),
	}
	s, chosen, err := Select(offered, ours, wire.ProtocolIKE)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.Suite{Encr: crypto.EncrAESCBC, EncrKeyBits: 256, PRF: crypto.PRFHMACSHA256, Integ: crypto.IntegHMACSHA256128, DH: crypto.DHMODP2048}
	if s != want {
		t.Fatalf("suite %v, want %v", s, want)
	}
	wantProp := ikeProp(2, tr(wire.TransformENCR, crypto.EncrAESCBC, 256), tr(wire.TransformPRF, crypto.PRFHMACSHA256),
		tr(wire.TransformINTEG, crypto.IntegHMACSHA256128), tr(wire.TransformDH, crypto.DHMODP2048))
	wantProp.SPI = []byte{}
	if chosen.Number != 2 || !reflect.DeepEqual(chosen.Transforms, wantProp.Transforms) || len(chosen.SPI) != 0 {
		t.Fatalf("chosen %+v", chosen)
	}
	back, err := SuiteFromAccepted(chosen)
	if err != nil || back != s {
		t.Fatalf("SuiteFromAccepted(chosen) = %v, %v", back, err)
	}
}

func TestSelectTransformOrder(t *testing.T) {
	// Within a proposal the peer's transform order decides.
	ours := mustParse(t, "aes128-aes256-sha256-sha512-ecp256-x25519", true)
	offered := []wire.Proposal{ikeProp(1,
		tr(wire.TransformENCR, crypto.EncrAESCBC, 256), tr(wire.TransformENCR, crypto.EncrAESCBC, 128),
		tr(wire.TransformINTEG, crypto.IntegHMACSHA512256), tr(wire.TransformINTEG, crypto.IntegHMACSHA256128),
		tr(wire.TransformPRF, crypto.PRFHMACSHA512), tr(wire.TransformPRF, crypto.PRFHMACSHA256),
		tr(wire.TransformDH, crypto.DHCurve25519), tr(wire.TransformDH, crypto.DHECP256))}
	s, _, err := Select(offered, ours, wire.ProtocolIKE)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.Suite{Encr: crypto.EncrAESCBC, EncrKeyBits: 256, PRF: crypto.PRFHMACSHA512, Integ: crypto.IntegHMACSHA512256, DH: crypto.DHCurve25519}
	if s != want {
		t.Fatalf("suite %v, want %v", s, want)
	}
}

func TestSelectKeyLength(t *testing.T) {
	ours := mustParse(t, "aes128-sha256,chacha20poly1305", false)
	tests := []struct {
		name string
		encr wire.Transform
		ok   bool
	}{
		{"aes128", tr(wire.TransformENCR, crypto.EncrAESCBC, 128), true},
		{"aes256 vs aes128", tr(wire.TransformENCR, crypto.EncrAESCBC, 256), false},
		{"aes192 vs aes128", tr(wire.TransformENCR, crypto.EncrAESCBC, 192), false},
		{"aes without key length", tr(wire.TransformENCR, crypto.EncrAESCBC), false},
		{"chacha", tr(wire.TransformENCR, crypto.EncrChaCha20Poly1305), true},
		{"chacha with key length", tr(wire.TransformENCR, crypto.EncrChaCha20Poly1305, 256), false},
		{"gcm128 not configured", tr(wire.TransformENCR, crypto.EncrAESGCM16, 128), false},
	}
	for _, tt := range tests {
		offered := []wire.Proposal{espProp(1, tt.encr, tr(wire.TransformINTEG, crypto.IntegHMACSHA256128), tr(wire.TransformESN, crypto.ESNNo))}
		if crypto.AEADEncr(tt.encr.ID) {
			offered = []wire.Proposal{espProp(1, tt.encr, tr(wire.TransformESN, crypto.ESNNo))}
		}
		_, _, err := Select(offered, ours, wire.ProtocolESP)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, crypto.ErrNoProposalChosen) {
			t.Errorf("%s: error %v is not crypto.ErrNoProposalChosen", tt.name, err)
		}
	}
}

func TestSelectESN(t *testing.T) {
	gcm := tr(wire.TransformENCR, crypto.EncrAESGCM16, 128)
	tests := []struct {
		name    string
		ours    string
		offered []wire.Transform
		ok      bool
		esn     bool
		echo    []wire.Transform
	}{
		{"peer both, ours default", "aes128gcm16", []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNYes), tr(wire.TransformESN, crypto.ESNNo)},
			true, false, []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNNo)}},
		{"peer both, ours esn", "aes128gcm16-esn", []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNNo), tr(wire.TransformESN, crypto.ESNYes)},
			true, true, []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNYes)}},
		{"peer prefers esn, ours either", "aes128gcm16-noesn-esn", []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNYes), tr(wire.TransformESN, crypto.ESNNo)},
			true, true, []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNYes)}},
		{"peer esn only, ours default", "aes128gcm16", []wire.Transform{gcm, tr(wire.TransformESN, crypto.ESNYes)}, false, false, nil},
		{"peer none, ours default", "aes128gcm16", []wire.Transform{gcm}, true, false, []wire.Transform{gcm}},
		{"peer none, ours esn", "aes128gcm16-esn", []wire.Transform{gcm}, false, false, nil},
	}
	for _, tt := range tests {
		s, chosen, err := Select([]wire.Proposal{espProp(4, tt.offered...)}, mustParse(t, tt.ours, false), wire.ProtocolESP)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if s.ESN != tt.esn || !reflect.DeepEqual(chosen.Transforms, tt.echo) {
			t.Errorf("%s: ESN %v, chosen %+v", tt.name, s.ESN, chosen.Transforms)
		}
		if chosen.Number != 4 || !reflect.DeepEqual(chosen.SPI, espSPI) {
			t.Errorf("%s: number %d SPI %x", tt.name, chosen.Number, chosen.SPI)
		}
	}
}

func TestSelectDH(t *testing.T) {
	gcm := tr(wire.TransformENCR, crypto.EncrAESGCM16, 256)
	esn := tr(wire.TransformESN, crypto.ESNNo)
	tests := []struct {
		name    string
		ours    string
		offered []wire.Transform
		ok      bool
		dh      uint16
		echo    []wire.Transform
	}{
		{"no PFS both", "aes256gcm16", []wire.Transform{gcm, esn}, true, crypto.DHNone, []wire.Transform{gcm, esn}},
		{"peer PFS, ours none", "aes256gcm16", []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHECP256), esn}, false, 0, nil},
		{"peer PFS or NONE, ours none", "aes256gcm16", []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHECP256), tr(wire.TransformDH, crypto.DHNone), esn},
			true, crypto.DHNone, []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHNone), esn}},
		{"peer none, ours PFS", "aes256gcm16-ecp256", []wire.Transform{gcm, esn}, false, 0, nil},
		{"both PFS", "aes256gcm16-x25519-ecp256", []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHMODP2048), tr(wire.TransformDH, crypto.DHECP256), esn},
			true, crypto.DHECP256, []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHECP256), esn}},
		{"PFS group mismatch", "aes256gcm16-x25519", []wire.Transform{gcm, tr(wire.TransformDH, crypto.DHECP256), esn}, false, 0, nil},
	}
	for _, tt := range tests {
		s, chosen, err := Select([]wire.Proposal{espProp(1, tt.offered...)}, mustParse(t, tt.ours, false), wire.ProtocolESP)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if s.DH != tt.dh || !reflect.DeepEqual(chosen.Transforms, tt.echo) {
			t.Errorf("%s: DH %d, chosen %+v", tt.name, s.DH, chosen.Transforms)
		}
		if back, err := SuiteFromAccepted(chosen); err != nil || back != s {
			t.Errorf("%s: SuiteFromAccepted = %v, %v", tt.name, back, err)
		}
	}

	// IKE always needs a real group.
	ours := []crypto.Proposal{{Encr: []crypto.EncrAlg{{ID: crypto.EncrAESGCM16, KeyBits: 128}}, PRF: []uint16{crypto.PRFHMACSHA256}}}
	offered := []wire.Proposal{ikeProp(1, tr(wire.TransformENCR, crypto.EncrAESGCM16, 128), tr(wire.TransformPRF, crypto.PRFHMACSHA256))}
	if _, _, err := Select(offered, ours, wire.ProtocolIKE); err == nil {
		t.Error("IKE proposal without DH accepted")
	}

	// IKE_AUTH: strip DH on both sides.
	espOurs := mustParse(t, "aes256gcm16-ecp256", false)
	pfsOffer := []wire.Proposal{espProp(1, gcm, tr(wire.TransformDH, crypto.DHECP256), esn)}
	if _, _, err := Select(pfsOffer, espOurs, wire.ProtocolESP); err != nil {
		t.Fatal(err)
	}
	s, chosen, err := Select(StripDH(pfsOffer), crypto.WithoutDH(espOurs), wire.ProtocolESP)
	if err != nil || s.DH != crypto.DHNone || len(chosen.Transforms) != 2 {
		t.Errorf("stripped selection: %v %+v %v", s, chosen, err)
	}
	if len(pfsOffer[0].Transforms) != 3 || len(espOurs[0].DH) != 1 {
		t.Error("StripDH/WithoutDH modified their input")
	}
}

func TestSelectAEADIntegNone(t *testing.T) {
	ours := mustParse(t, "aes128gcm16", false)
	gcm := tr(wire.TransformENCR, crypto.EncrAESGCM16, 128)
	// Explicit INTEG NONE is accepted and echoed.
	_, chosen, err := Select([]wire.Proposal{espProp(1, gcm, tr(wire.TransformINTEG, crypto.IntegNone), tr(wire.TransformESN, crypto.ESNNo))}, ours, wire.ProtocolESP)
	if err != nil || !reflect.DeepEqual(chosen.Transforms, []wire.Transform{gcm, tr(wire.TransformINTEG, crypto.IntegNone), tr(wire.TransformESN, crypto.ESNNo)}) {
		t.Errorf("INTEG NONE: %+v %v", chosen, err)
	}
	// An AEAD cipher with only a real integrity algorithm is not acceptable.
	if _, _, err := Select([]wire.Proposal{espProp(1, gcm, tr(wire.TransformINTEG, crypto.IntegHMACSHA256128))}, ours, wire.ProtocolESP); err == nil {
		t.Error("AEAD + HMAC accepted")
	}
	// A non-AEAD cipher never pairs with INTEG NONE.
	cbcOurs := mustParse(t, "aes128-sha256", false)
	if _, _, err := Select([]wire.Proposal{espProp(1, tr(wire.TransformENCR, crypto.EncrAESCBC, 128), tr(wire.TransformINTEG, crypto.IntegNone))}, cbcOurs, wire.ProtocolESP); err == nil {
		t.Error("CBC + INTEG NONE accepted")
	}
	// A mixed peer proposal: the cipher that completes wins.
	mixed := espProp(1, gcm, tr(wire.TransformENCR, crypto.EncrAESCBC, 128), tr(wire.TransformINTEG, crypto.IntegHMACSHA256128))
	s, _, err := Select([]wire.Proposal{mixed}, mustParse(t, "aes128gcm16,aes128-sha256", false), wire.ProtocolESP)
	if err != nil || s.Encr != crypto.EncrAESCBC || s.Integ != crypto.IntegHMACSHA256128 {
		t.Errorf("mixed proposal: %v %v", s, err)
	}
}

func TestSelectSkipsInvalid(t *testing.T) {
	ours := mustParse(t, "aes128gcm16", false)
	gcm := tr(wire.TransformENCR, crypto.EncrAESGCM16, 128)
	good := espProp(9, gcm)
	tests := []struct {
		name string
		p    wire.Proposal
	}{
		{"wrong protocol", wire.Proposal{Number: 1, Protocol: wire.ProtocolAH, SPI: espSPI, Transforms: []wire.Transform{gcm}}},
		{"IKE proposal", ikeProp(1, gcm)},
		{"short SPI", wire.Proposal{Number: 1, Protocol: wire.ProtocolESP, SPI: []byte{1, 2}, Transforms: []wire.Transform{gcm}}},
		{"no SPI", wire.Proposal{Number: 1, Protocol: wire.ProtocolESP, Transforms: []wire.Transform{gcm}}},
		{"unknown transform type", espProp(1, gcm, tr(6, 1))},
		{"PRF in ESP", espProp(1, gcm, tr(wire.TransformPRF, crypto.PRFHMACSHA256))},
		{"no transforms", espProp(1)},
	}
	for _, tt := range tests {
		if _, _, err := Select([]wire.Proposal{tt.p}, ours, wire.ProtocolESP); !errors.Is(err, crypto.ErrNoProposalChosen) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		// Skipped, so a later valid proposal still wins.
		if _, c, err := Select([]wire.Proposal{tt.p, good}, ours, wire.ProtocolESP); err != nil || c.Number != 9 {
			t.Errorf("%s: following proposal not chosen: %v", tt.name, err)
		}
	}
	ikeOurs := mustParse(t, "aes128gcm16-prfsha256-x25519", true)
	ikeOK := []wire.Transform{gcm, tr(wire.TransformPRF, crypto.PRFHMACSHA256), tr(wire.TransformDH, crypto.DHCurve25519)}
	if _, _, err := Select([]wire.Proposal{ikeProp(1, append(ikeOK, tr(wire.TransformESN, crypto.ESNNo))...)}, ikeOurs, wire.ProtocolIKE); err == nil {
		t.Error("IKE proposal with ESN accepted")
	}
	rekey := wire.Proposal{Number: 1, Protocol: wire.ProtocolIKE, SPI: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Transforms: ikeOK}
	if _, c, err := Select([]wire.Proposal{rekey}, ikeOurs, wire.ProtocolIKE); err != nil || len(c.SPI) != 8 {
		t.Errorf("IKE rekey proposal with 8-byte SPI: %v", err)
	}
	rekey.SPI = rekey.SPI[:4]
	if _, _, err := Select([]wire.Proposal{rekey}, ikeOurs, wire.ProtocolIKE); err == nil {
		t.Error("IKE proposal with 4-byte SPI accepted")
	}
	if _, _, err := Select(nil, ours, wire.ProtocolESP); !errors.Is(err, crypto.ErrNoProposalChosen) {
		t.Error("empty offer")
	}
	if _, _, err := Select([]wire.Proposal{good}, nil, wire.ProtocolESP); !errors.Is(err, crypto.ErrNoProposalChosen) {
		t.Error("empty config")
	}
}

// TestNegotiationRoundTrip runs initiator config -> ToWire -> responder Select
// -> SuiteFromAccepted -> Allowed for a few configurations.
func TestNegotiationRoundTrip(t *testing.T) {
	tests := []struct {
		ini, res string
		ike      bool
		want     string
	}{
		{"aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048", "aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519", true, "aes128gcm16-prfsha256-x25519"},
		{"aes256-sha384-ecp384", "aes128-aes256-sha256-sha384-ecp256-ecp384", true, "aes256-sha384-ecp384"},
		{"chacha20poly1305-prfsha512-x25519", "chacha20poly1305-prfsha512-x25519", true, "chacha20poly1305-prfsha512-x25519"},
		{"aes128gcm16-esn-noesn", "aes128gcm16-esn", false, "aes128gcm16-esn"},
		{"aes256-sha512-modp2048", "aes256-sha512-modp2048", false, "aes256-sha512-modp2048"},
	}
	for _, tt := range tests {
		ini := mustParse(t, tt.ini, tt.ike)
		proto := wire.ProtocolESP
		spi := espSPI
		if tt.ike {
			proto, spi = wire.ProtocolIKE, nil
		}
		s, chosen, err := Select(ToWire(ini, proto, spi), mustParse(t, tt.res, tt.ike), proto)
		if err != nil {
			t.Errorf("%s / %s: %v", tt.ini, tt.res, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("%s / %s: got %s, want %s", tt.ini, tt.res, s, tt.want)
		}
		got, err := SuiteFromAccepted(chosen)
		if err != nil || got != s || !crypto.Allowed(ini, got) {
			t.Errorf("%s: initiator view %v, %v, allowed %v", tt.want, got, err, crypto.Allowed(ini, got))
		}
	}
}

func TestSuiteFromAcceptedErrors(t *testing.T) {
	gcm := tr(wire.TransformENCR, crypto.EncrAESGCM16, 128)
	cbc := tr(wire.TransformENCR, crypto.EncrAESCBC, 128)
	prf := tr(wire.TransformPRF, crypto.PRFHMACSHA256)
	integ := tr(wire.TransformINTEG, crypto.IntegHMACSHA256128)
	dh := tr(wire.TransformDH, crypto.DHCurve25519)
	tests := []struct {
		name string
		p    wire.Proposal
	}{
		{"two ENCR", ikeProp(1, gcm, gcm, prf, dh)},
		{"two DH", ikeProp(1, gcm, prf, dh, tr(wire.TransformDH, crypto.DHECP256))},
		{"two ESN", espProp(1, gcm, tr(wire.TransformESN, 0), tr(wire.TransformESN, 1))},
		{"unknown type", espProp(1, gcm, tr(7, 1))},
		{"no ENCR", ikeProp(1, prf, integ, dh)},
		{"CBC without INTEG", espProp(1, cbc)},
		{"CBC with INTEG NONE", espProp(1, cbc, tr(wire.TransformINTEG, crypto.IntegNone))},
		{"GCM with INTEG", espProp(1, gcm, integ)},
		{"IKE without PRF", ikeProp(1, gcm, dh)},
		{"IKE without DH", ikeProp(1, gcm, prf)},
		{"IKE with DH NONE", ikeProp(1, gcm, prf, tr(wire.TransformDH, crypto.DHNone))},
		{"IKE with ESN", ikeProp(1, gcm, prf, dh, tr(wire.TransformESN, 0))},
		{"ESP with PRF", espProp(1, gcm, prf)},
		{"ESN 2", espProp(1, gcm, tr(wire.TransformESN, 2))},
		{"unsupported ENCR", espProp(1, tr(wire.TransformENCR, 3), integ)},
		{"AES without key length", espProp(1, tr(wire.TransformENCR, crypto.EncrAESCBC), integ)},
		{"AES key length 64", espProp(1, tr(wire.TransformENCR, crypto.EncrAESCBC, 64), integ)},
		{"ChaCha 128", espProp(1, tr(wire.TransformENCR, crypto.EncrChaCha20Poly1305, 128))},
		{"unsupported PRF", ikeProp(1, gcm, tr(wire.TransformPRF, 2), dh)},
		{"unsupported INTEG", espProp(1, cbc, tr(wire.TransformINTEG, 2))},
		{"unsupported DH", ikeProp(1, gcm, prf, tr(wire.TransformDH, 2))},
		{"AH", wire.Proposal{Number: 1, Protocol: wire.ProtocolAH, SPI: espSPI, Transforms: []wire.Transform{integ}}},
	}
	for _, tt := range tests {
		if s, err := SuiteFromAccepted(tt.p); err == nil {
			t.Errorf("%s: accepted as %v", tt.name, s)
		}
	}
	s, err := SuiteFromAccepted(espProp(1, tr(wire.TransformENCR, crypto.EncrChaCha20Poly1305), tr(wire.TransformDH, crypto.DHMODP2048), tr(wire.TransformESN, 1)))
	if err != nil || s != (crypto.Suite{Encr: crypto.EncrChaCha20Poly1305, EncrKeyBits: 256, DH: crypto.DHMODP2048, ESN: true}) {
		t.Errorf("valid ESP answer: %v %v", s, err)
	}
}
