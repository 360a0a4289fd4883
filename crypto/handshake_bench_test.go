package crypto

import (
	"bytes"
	"testing"
)

// handshakeCase is the crypto one IKEv2 tunnel set-up does in this package, as
// ike/v2 calls it on the initiator (the responder mirrors it): SKEYSEED and
// prf+ for the IKE SA keys, the two SK ciphers, our AUTH and the check of the
// peer's (ike/v2's pskAuth builds the signed octets itself and calls Compute
// and PSKAuth), sealing IKE_AUTH and opening its response, dropping the SK
// cipher state once established, and prf+ for the first Child SA's keys. The
// Diffie-Hellman exchange is left out: it is measured with the DH groups.
type handshakeCase struct {
	suite, child     Suite
	ni, nr, gir, psk []byte
	initMsg, idBody  []byte
	authReq, reqAAD  []byte
	peerResp         []byte // the responder's IKE_AUTH response body, sealed with SK_er
	respAAD          []byte
	streamed         bool // AUTH with PSKAuthFor rather than ike/v2's own octets
}

// Suites of the handshake cases: the default AEAD one and an AES-CBC one.
var (
	gcmIKE   = Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}
	gcmChild = Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}
	cbcIKE   = Suite{Encr: EncrAESCBC, EncrKeyBits: 256, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048}
	cbcChild = Suite{Encr: EncrAESCBC, EncrKeyBits: 256, Integ: IntegHMACSHA256128}
)

func newHandshakeCase(tb testing.TB, suite, child Suite) *handshakeCase {
	h := &handshakeCase{
		suite:   suite,
		child:   child,
		ni:      seq(0, 32),
		nr:      seq(32, 64),
		gir:     seq(64, 96),
		psk:     []byte("a pre-shared key of typical length"),
		initMsg: bytes.Repeat([]byte{0xa5}, 300), // IKE_SA_INIT request with KE, nonce, NAT-D
		idBody:  []byte{2, 0, 0, 0, 'g', 'w', '1'},
		authReq: bytes.Repeat([]byte{0x5a}, 250), // IDi, AUTH, SA, TSi, TSr
		reqAAD:  bytes.Repeat([]byte{1}, 32),
		respAAD: bytes.Repeat([]byte{2}, 32),
	}
	keys, err := DeriveIKEKeys(h.suite, h.ni, h.nr, h.gir, 1, 2)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := NewSKCipher(h.suite, keys.SKer, keys.SKar)
	if err != nil {
		tb.Fatal(err)
	}
	h.peerResp = resp.Seal(nil, h.respAAD, h.authReq[:200])[:]
	return h
}

// pskAuth is ike/v2's pskAuth as it stands, or with streamed set
// PSKAuthFor.
func (h *handshakeCase) pskAuth(prf PRF, skp []byte) []byte {
	if h.streamed {
		return PSKAuthFor(prf, h.psk, h.initMsg, h.nr, skp, h.idBody)
	}
	octets := make([]byte, 0, len(h.initMsg)+len(h.nr)+prf.Size())
	octets = append(octets, h.initMsg...)
	octets = append(octets, h.nr...)
	octets = append(octets, prf.Compute(skp, h.idBody)...)
	return PSKAuth(prf, h.psk, octets)
}

// run does one initiator's set-up and returns the Child SA's keys.
func (h *handshakeCase) run(tb testing.TB) ChildKeys {
	prf, err := NewPRF(h.suite.PRF)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := DeriveIKEKeys(h.suite, h.ni, h.nr, h.gir, 1, 2)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := NewSKCipher(h.suite, keys.SKei, keys.SKai)
	if err != nil {
		tb.Fatal(err)
	}
	in, err := NewSKCipher(h.suite, keys.SKer, keys.SKar)
	if err != nil {
		tb.Fatal(err)
	}
	auth := h.pskAuth(prf, keys.SKpi)
	sealed := out.Seal(nil, h.reqAAD, h.authReq)
	if len(auth) != prf.Size() || len(sealed) == 0 {
		tb.Fatal("no AUTH or IKE_AUTH request")
	}
	if _, err := in.Open(h.respAAD, h.peerResp); err != nil {
		tb.Fatal(err)
	}
	if len(h.pskAuth(prf, keys.SKpr)) != prf.Size() {
		tb.Fatal("no peer AUTH")
	}
	ReleaseSK(out)
	ReleaseSK(in)
	return DeriveChildKeys(prf, keys.SKd, nil, h.ni, h.nr, h.child)
}

// BenchmarkHandshakeCrypto reports the allocations of one tunnel set-up's
// crypto (see handshakeCase); allocs/op and B/op are exact, ns/op is not on a
// shared machine.
func BenchmarkHandshakeCrypto(b *testing.B) {
	for _, tc := range []struct {
		name         string
		suite, child Suite
		streamed     bool
	}{
		{"gcm", gcmIKE, gcmChild, false},
		{"gcm-PSKAuthFor", gcmIKE, gcmChild, true},
		{"cbc", cbcIKE, cbcChild, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHandshakeCase(b, tc.suite, tc.child)
			h.streamed = tc.streamed
			b.ReportAllocs()
			for b.Loop() {
				h.run(b)
			}
		})
	}
}

// BenchmarkHandshakeParts breaks BenchmarkHandshakeCrypto down by call.
func BenchmarkHandshakeParts(b *testing.B) {
	h := newHandshakeCase(b, gcmIKE, gcmChild)
	prf, _ := NewPRF(h.suite.PRF)
	keys, _ := DeriveIKEKeys(h.suite, h.ni, h.nr, h.gir, 1, 2)
	b.Run("DeriveIKEKeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DeriveIKEKeys(h.suite, h.ni, h.nr, h.gir, 1, 2)
		}
	})
	b.Run("DeriveChildKeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DeriveChildKeys(prf, keys.SKd, nil, h.ni, h.nr, h.child)
		}
	})
	b.Run("Compute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			prf.Compute(keys.SKpi, h.idBody)
		}
	})
	b.Run("PSKAuth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			PSKAuth(prf, h.psk, h.initMsg)
		}
	})
	b.Run("NewSKCipher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewSKCipher(h.suite, keys.SKei, keys.SKai)
		}
	})
	b.Run("SealFresh", func(b *testing.B) {
		c, _ := NewSKCipher(h.suite, keys.SKei, keys.SKai)
		b.ReportAllocs()
		for b.Loop() {
			c.Seal(nil, h.reqAAD, h.authReq)
			ReleaseSK(c)
		}
	})
}
