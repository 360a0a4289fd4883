package wire

import (
	"bytes"
	"reflect"
	"testing"
)

func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, m := range sampleMessages() {
		seeds = append(seeds, m.Append(nil))
	}
	h := header(ExchangeQuickMode, 5)
	seeds = append(seeds,
		AppendEncrypted(nil, h, sampleQM1Payloads(), xorCipher{}),
		AppendEncrypted(nil, h, sampleMisc(), xorCipher{pad: strongSwanPadding}),
		AppendEncrypted(nil, h, nil, xorCipher{}),
	)
	return seeds
}

// exercise calls the accessors of every parsed payload; none may panic.
func exercise(m *Message) {
	_ = m.String()
	for i, p := range m.Payloads {
		_, _, _ = m.Body(i), m.After(i), m.PayloadBytes(i)
		switch q := p.(type) {
		case *ID:
			_ = q.String()
			_, _, _ = q.Range()
			_, _ = q.Prefix()
		case *Notification:
			_, _ = q.DPDSequence()
			_, _, _ = q.Cookies()
			_ = q.Type.String()
		case *VendorID:
			_ = q.Name()
		case *Delete:
			_ = q.ESPSPIs()
		case *SA:
			for _, pr := range q.Proposals {
				for _, tr := range pr.Transforms {
					for _, a := range tr.Attributes {
						_, _ = a.Uint()
						_ = a.String()
					}
				}
			}
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		if got := h.Append(nil); !bytes.Equal(got, data[:HeaderLen]) {
			t.Fatalf("header re-encodes as %x, was %x", got, data[:HeaderLen])
		}
		_ = h.String()
	})
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
		exercise(m)
		b := m.Append(nil)
		if len(b) != int(m.Length) {
			// Only reserved bytes may change in a re-encoding.
			t.Fatalf("re-encoded length %d, was %d", len(b), m.Length)
		}
		m2, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !sameHeader(m.Header, m2.Header) || !reflect.DeepEqual(m.Payloads, m2.Payloads) {
			t.Fatalf("round trip mismatch\n%#v\n%#v", m.Payloads, m2.Payloads)
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
		if len(b) != len(data) {
			t.Fatalf("re-encoded %d bytes, parsed %d", len(b), len(data))
		}
		ps2, err := ParsePayloads(firstType(ps), b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(ps, ps2) {
			t.Fatalf("round trip mismatch\n%#v\n%#v", ps, ps2)
		}
	})
}

func FuzzParseAttributes(f *testing.F) {
	f.Add([]byte{0x80, 0x01, 0x00, 0x07, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x01, 0x51, 0x80})
	f.Add(AppendAttributes(nil, samplePhase2SA().Proposals[0].Transforms[1].Attributes))
	f.Add([]byte{0x00, 0x01, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := ParseAttributes(data)
		if err != nil {
			return
		}
		if b := AppendAttributes(nil, attrs); !bytes.Equal(b, data) {
			t.Fatalf("attributes re-encode as %x, were %x", b, data)
		}
	})
}

func FuzzOpenEncrypted(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := xorCipher{key: 0}
		m, err := OpenEncrypted(data, c)
		if err != nil {
			return
		}
		exercise(m)
		b := AppendEncrypted(nil, m.Header, m.Payloads, c)
		m2, err := OpenEncrypted(b, c)
		if err != nil {
			t.Fatalf("re-open: %v", err)
		}
		if !sameHeader(m.Header, m2.Header) || !reflect.DeepEqual(m.Payloads, m2.Payloads) {
			t.Fatalf("round trip mismatch\n%#v\n%#v", m.Payloads, m2.Payloads)
		}
	})
}
