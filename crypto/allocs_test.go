package crypto

import (
	"testing"
)

// TestAllocs pins the allocations of the handshake's crypto (issue #12): a
// result slice per PRF call and per key derivation, one struct per SK
// cipher. More fails the test; fewer (a new Go release, another platform's
// AES or GCM) is logged as a chance to lower the pin.
func TestAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := newHandshakeCase(t, gcmIKE, gcmChild)
	prf, _ := NewPRF(PRFHMACSHA256)
	keys, err := DeriveIKEKeys(gcmIKE, h.ni, h.nr, h.gir, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	cbcKeys, err := DeriveIKEKeys(cbcIKE, h.ni, h.nr, h.gir, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	gcmSK, cbcSK := newTestSK(t, gcmIKE, 1), newTestSK(t, cbcIKE, 1)
	gcmSealed := gcmSK.Seal(nil, h.reqAAD, h.authReq)
	cbcSealed := cbcSK.Seal(nil, h.reqAAD, h.authReq)
	dst := make([]byte, 0, 1024)
	cases := []struct {
		name string
		want float64
		f    func()
	}{
		{"Compute", 1, func() { prf.Compute(keys.SKpi, h.idBody) }},
		{"Plus", 1, func() { prf.Plus(keys.SKd, h.ni, 100) }},
		{"PSKAuth", 1, func() { PSKAuth(prf, h.psk, h.initMsg) }},
		{"PSKAuthFor", 1, func() { PSKAuthFor(prf, h.psk, h.initMsg, h.nr, keys.SKpi, h.idBody) }},
		{"DeriveIKEKeys", 1, func() { DeriveIKEKeys(gcmIKE, h.ni, h.nr, h.gir, 1, 2) }},
		{"DeriveIKEKeys/cbc", 1, func() { DeriveIKEKeys(cbcIKE, h.ni, h.nr, h.gir, 1, 2) }},
		{"DeriveRekeyedIKEKeys", 1, func() { DeriveRekeyedIKEKeys(gcmIKE, prf, keys.SKd, h.gir, h.ni, h.nr, 3, 4) }},
		{"DeriveChildKeys", 1, func() { DeriveChildKeys(prf, keys.SKd, h.gir, h.ni, h.nr, gcmChild) }},
		{"NewSKCipher/gcm", 1, func() { NewSKCipher(gcmIKE, keys.SKei, nil) }},
		// The SK cipher itself and its AES block (a cipher.Block interface).
		{"NewSKCipher/cbc", 3, func() { NewSKCipher(cbcIKE, cbcKeys.SKei, cbcKeys.SKai) }},
		{"Seal/gcm", 0, func() { gcmSK.Seal(dst[:0], h.reqAAD, h.authReq) }},
		{"Open/gcm", 1, func() { gcmSK.Open(h.reqAAD, gcmSealed) }}, // the plaintext
		// The CBC mode (crypto/cipher has no reusable one for AES) and, for
		// Open, the plaintext.
		{"Seal/cbc", 1, func() { cbcSK.Seal(dst[:0], h.reqAAD, h.authReq) }},
		{"Open/cbc", 2, func() { cbcSK.Open(h.reqAAD, cbcSealed) }},
		// AES block and GCM, and the pointer to the cipher.AEAD interface
		// value that atomic.Pointer holds.
		{"SK state build/gcm", 3, func() { ReleaseSK(gcmSK); gcmSK.Seal(dst[:0], h.reqAAD, h.authReq) }},
	}
	for _, tc := range cases {
		checkAllocs(t, tc.name, testing.AllocsPerRun(100, tc.f), tc.want)
	}
	// A whole set-up (handshakeCase.run) as ike/v2 calls it today, and with
	// PSKAuthFor. See BenchmarkHandshakeCrypto for the bytes.
	for _, tc := range []struct {
		name     string
		streamed bool
		want     float64
	}{{"set-up", false, 18}, {"set-up with PSKAuthFor", true, 14}} {
		h.streamed = tc.streamed
		checkAllocs(t, tc.name, testing.AllocsPerRun(20, func() { h.run(t) }), tc.want)
	}
}

func checkAllocs(t *testing.T, name string, got, pin float64) {
	t.Helper()
	switch {
	case got > pin:
		t.Errorf("%s: %v allocations, pinned at %v", name, got, pin)
	case got < pin:
		t.Logf("%s: %v allocations, fewer than the pin %v: lower it", name, got, pin)
	}
}

// TestNewSKCipherBuildsNothing: NewSKCipher checks an AEAD key without
// building the cipher state; the first Seal or Open builds it.
func TestNewSKCipherBuildsNothing(t *testing.T) {
	for _, s := range []Suite{gcmIKE, {Encr: EncrChaCha20Poly1305, EncrKeyBits: 256, PRF: PRFHMACSHA256, DH: DHCurve25519}} {
		c := newTestSK(t, s, 3)
		if SKHoldsState(c) {
			t.Errorf("%s: NewSKCipher built the cipher state", s)
		}
		c.Seal(nil, nil, []byte("x"))
		if !SKHoldsState(c) {
			t.Errorf("%s: no cipher state after Seal", s)
		}
	}
}
