package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func ciphersUnderTest() map[string]SKCipher {
	gcm, cbc := testKeys()
	return map[string]SKCipher{"AES-GCM-16": gcm, "AES-CBC+HMAC-SHA256-128": cbc}
}

func TestEncryptedRoundTrip(t *testing.T) {
	messages := map[string][]Payload{
		"IKE_AUTH":       sampleAuthPayloads(),
		"liveness":       nil,
		"delete":         {&Delete{Protocol: ProtocolESP, SPIs: [][]byte{{1, 2, 3, 4}}}},
		"every payload":  samplePayloads(),
		"one-byte nonce": {&Nonce{Data: []byte{1}}},
	}
	for cname, c := range ciphersUnderTest() {
		for mname, ps := range messages {
			t.Run(cname+"/"+mname, func(t *testing.T) {
				h := baseHeader(ExchangeIKEAuth, FlagInitiator, 1)
				b := AppendEncrypted([]byte{0xff}, h, ps, c)[1:]
				// Header and SK payload header.
				if PayloadType(b[16]) != PayloadSK || int(be32(b[24:])) != len(b) {
					t.Fatalf("bad header %x", b[:28])
				}
				if PayloadType(b[28]) != firstType(ps) || int(be16(b[30:])) != len(b)-HeaderLen {
					t.Fatalf("bad SK header %x", b[28:32])
				}
				if want := HeaderLen + 4 + c.SealedLen(len(AppendPayloads(nil, ps))); len(b) != want {
					t.Fatalf("length %d want %d", len(b), want)
				}
				// The AAD handed to Seal is the final header + SK header.
				var aad []byte
				switch c := c.(type) {
				case *gcmCipher:
					aad = c.lastAAD
				case *cbcCipher:
					aad = c.lastAAD
				}
				if !bytes.Equal(aad, b[:32]) {
					t.Fatalf("AAD %x, want %x", aad, b[:32])
				}
				m, err := OpenEncrypted(b, c)
				if err != nil {
					t.Fatal(err)
				}
				wantH := h
				wantH.NextPayload = PayloadSK
				wantH.Length = uint32(len(b))
				if m.Header != wantH {
					t.Fatalf("header %+v want %+v", m.Header, wantH)
				}
				if !reflect.DeepEqual(m.Payloads, ps) {
					t.Fatalf("payloads differ:\n%v\n%v", m.Payloads, ps)
				}
				// ParseMessage sees the SK payload as *Encrypted.
				pm, err := ParseMessage(b)
				if err != nil {
					t.Fatal(err)
				}
				if e, ok := pm.Payloads[0].(*Encrypted); !ok || len(pm.Payloads) != 1 || e.NextPayload != firstType(ps) || !bytes.Equal(e.Body, b[32:]) {
					t.Fatalf("ParseMessage: %#v", pm.Payloads)
				}
				if !bytes.Equal(pm.Append(nil), b) {
					t.Fatal("re-encoding an *Encrypted message changed it")
				}
			})
		}
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func TestEncryptedTamper(t *testing.T) {
	for cname, c := range ciphersUnderTest() {
		t.Run(cname, func(t *testing.T) {
			b := AppendEncrypted(nil, baseHeader(ExchangeInformational, FlagResponse, 3),
				[]Payload{&Delete{Protocol: ProtocolIKE}}, c)
			for i := range b {
				for _, flip := range []byte{0x01, 0x80} {
					m := bytes.Clone(b)
					m[i] ^= flip
					_, err := OpenEncrypted(m, c)
					if err == nil {
						t.Fatalf("flip %#x at %d accepted", flip, i)
					}
					// Bytes that are not interpreted before decryption must
					// fail the integrity check.
					if (i < 16 || (i >= 18 && i < 24) || i >= 32) && !errors.Is(err, ErrIntegrity) {
						t.Fatalf("flip %#x at %d: err = %v, want ErrIntegrity", flip, i, err)
					}
				}
			}
			// The original still opens (the test did not mutate it).
			if _, err := OpenEncrypted(b, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEncryptedWrongKey(t *testing.T) {
	gcm, _ := testKeys()
	b := AppendEncrypted(nil, baseHeader(ExchangeIKEAuth, 0, 1), sampleAuthPayloads(), gcm)
	other := newGCMCipher(bytes.Repeat([]byte{0x43}, 32), [4]byte{1, 2, 3, 4})
	if _, err := OpenEncrypted(b, other); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenEncryptedErrors(t *testing.T) {
	gcm, _ := testKeys()
	plain := sampleSAInit().Append(nil)
	if _, err := OpenEncrypted(plain, gcm); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no SK: err = %v", err)
	}
	// A short body is reported as an integrity failure even though the
	// cipher's own error is something else.
	h := baseHeader(ExchangeInformational, 0, 0)
	m := (&Message{Header: h, Payloads: []Payload{&Encrypted{Body: []byte{1, 2, 3}}}}).Append(nil)
	if _, err := OpenEncrypted(m, gcm); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("short body: err = %v", err)
	}
	// An SK payload nested inside the encrypted data is malformed.
	inner := &Encrypted{NextPayload: PayloadNone, Body: []byte{0}}
	nested := AppendEncrypted(nil, h, []Payload{inner}, gcm)
	if _, err := OpenEncrypted(nested, gcm); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nested SK: err = %v", err)
	}
	// Unknown critical payload inside SK.
	crit := AppendEncrypted(nil, h, []Payload{&Unknown{PType: 60, Critical: true}}, gcm)
	var uce *UnsupportedCriticalError
	if _, err := OpenEncrypted(crit, gcm); !errors.As(err, &uce) || uce.Type != 60 {
		t.Fatalf("critical inside SK: err = %v", err)
	}
	// IKE fragments (RFC 7383) are not supported: ParseMessage keeps the SKF
	// payload opaque, OpenEncrypted refuses it, and a critical one is refused
	// as an unsupported critical payload.
	frag := sampleFragment(h)
	if m, err := ParseMessage(frag); err != nil || len(m.Payloads) != 1 || m.Payloads[0].PayloadType() != PayloadSKF {
		t.Fatalf("ParseMessage(fragment) = %v, %v", m, err)
	}
	if _, err := OpenEncrypted(frag, gcm); !errors.Is(err, ErrMalformed) {
		t.Fatalf("fragment: err = %v", err)
	}
	critFrag := bytes.Clone(frag)
	critFrag[HeaderLen+1] = flagCritical
	if _, err := OpenEncrypted(critFrag, gcm); !errors.As(err, &uce) || uce.Type != PayloadSKF {
		t.Fatalf("critical fragment: err = %v", err)
	}
	// Unencrypted payloads before SK are returned first.
	pre := (&Message{Header: h, Payloads: []Payload{&Notify{Type: NotifyCookie}, &Encrypted{Body: []byte{0}}}}).Append(nil)
	got, err := OpenEncrypted(pre, nullCipher{})
	if err != nil || len(got.Payloads) != 1 || got.Notify(NotifyCookie) == nil {
		t.Fatalf("leading cleartext payload: %v %v", got, err)
	}
}
