package wire

import (
	"reflect"
	"testing"
)

func fuzzSeeds() [][]byte {
	gcm, cbc := testKeys()
	h := baseHeader(ExchangeIKEAuth, FlagInitiator, 1)
	return [][]byte{
		sampleSAInit().Append(nil),
		sampleCleartextInfo().Append(nil),
		(&Message{Header: h, Payloads: samplePayloads()}).Append(nil),
		(&Message{Header: h}).Append(nil),
		AppendEncrypted(nil, h, sampleAuthPayloads(), gcm),
		AppendEncrypted(nil, h, sampleAuthPayloads(), cbc),
		AppendEncrypted(nil, h, samplePayloads(), nullCipher{}),
		AppendEncrypted(nil, h, nil, nullCipher{}),
		sampleFragment(h),
	}
}

// sameHeader compares headers ignoring fields that re-encoding recomputes.
func sameHeader(a, b Header) bool {
	a.NextPayload, b.NextPayload = 0, 0
	a.Length, b.Length = 0, 0
	return a == b
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			return
		}
		b := m.Append(nil)
		m2, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if m.Header != m2.Header || !reflect.DeepEqual(m.Payloads, m2.Payloads) {
			t.Fatalf("round trip mismatch\n%#v\n%#v", m, m2)
		}
	})
}

func FuzzParsePayloads(f *testing.F) {
	for _, s := range fuzzSeeds() {
		if len(s) > HeaderLen {
			f.Add(s[16], s[HeaderLen:])
		}
	}
	f.Fuzz(func(t *testing.T, first uint8, data []byte) {
		ps, err := ParsePayloads(PayloadType(first), data)
		if err != nil {
			return
		}
		b := AppendPayloads(nil, ps)
		ps2, err := ParsePayloads(firstType(ps), b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(ps, ps2) {
			t.Fatalf("round trip mismatch\n%#v\n%#v", ps, ps2)
		}
	})
}

func FuzzOpenEncrypted(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	gcm, _ := testKeys()
	f.Fuzz(func(t *testing.T, data []byte) {
		// With a real AEAD only the outer structure is reachable; it must
		// not panic.
		_, _ = OpenEncrypted(data, gcm)
		// The null cipher lets the fuzzer reach the inner chain.
		var c nullCipher
		m, err := OpenEncrypted(data, c)
		if err != nil {
			return
		}
		checkReseal(t, m, c)
	})
}

func checkReseal(t *testing.T, m *Message, c SKCipher) {
	b := AppendEncrypted(nil, m.Header, m.Payloads, c)
	m2, err := OpenEncrypted(b, c)
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	if !sameHeader(m.Header, m2.Header) || !reflect.DeepEqual(m.Payloads, m2.Payloads) {
		t.Fatalf("round trip mismatch\n%#v\n%#v", m, m2)
	}
}
