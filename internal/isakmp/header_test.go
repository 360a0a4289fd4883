package isakmp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample is an IKEv2 IKE_AUTH request and its 28 header octets; it has 4 octets of body.
var sample = Header{
	SPIi: 0x0102030405060708, SPIr: 0x1112131415161718, NextPayload: 46, Version: 0x20,
	Exchange: 35, Flags: 0x08, MessageID: 0x21222324, Length: 32,
}

const sampleHex = "0102030405060708 1112131415161718 2e 20 23 08 21222324 00000020"

func TestAppendEncodesEveryField(t *testing.T) {
	want := unhex(t, sampleHex)
	if got := sample.Append([]byte("pre")); !bytes.Equal(got, append([]byte("pre"), want...)) {
		t.Fatalf("Append = %x\nwant     %x", got[3:], want)
	}
	if n := len(Header{}.Append(nil)); n != HeaderLen {
		t.Fatalf("zero header encodes to %d octets", n)
	}
}

func TestParseHeader(t *testing.T) {
	good := append(unhex(t, sampleHex), 0xaa, 0xbb, 0xcc, 0xdd)
	with := func(off int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		major uint8
		err   error
		want  Header // the header returned with the error, if b holds 28 octets
	}{
		{name: "IKEv2 request", b: good, major: 2, want: sample},
		{name: "octets past Length are ignored", b: append(bytes.Clone(good), 0xff, 0xff), major: 2, want: sample},
		{name: "Length exactly the header", b: with(24, 0, 0, 0, 28)[:28], major: 2, want: func() Header { h := sample; h.Length = 28; return h }()},
		{name: "IKEv1 with minor version 1", b: with(17, 0x11), major: 1, want: func() Header { h := sample; h.Version = 0x11; return h }()},
		{name: "unknown flags and exchange pass", b: with(18, 0xff, 0xff), major: 2, want: func() Header { h := sample; h.Exchange, h.Flags = 0xff, 0xff; return h }()},
		{name: "empty", b: nil, major: 2, err: ErrTruncated},
		{name: "27 octets", b: good[:27], major: 2, err: ErrTruncated},
		{name: "IKEv2 to an IKEv1 parser", b: good, major: 1, err: ErrInvalidMajorVersion, want: sample},
		{name: "IKEv1 to an IKEv2 parser", b: with(17, 0x10), major: 2, err: ErrInvalidMajorVersion, want: func() Header { h := sample; h.Version = 0x10; return h }()},
		{name: "major version 3", b: with(17, 0x30), major: 2, err: ErrInvalidMajorVersion, want: func() Header { h := sample; h.Version = 0x30; return h }()},
		{name: "Length 27", b: with(24, 0, 0, 0, 27), major: 2, err: ErrMalformed, want: func() Header { h := sample; h.Length = 27; return h }()},
		{name: "Length 0", b: with(24, 0, 0, 0, 0), major: 2, err: ErrMalformed, want: func() Header { h := sample; h.Length = 0; return h }()},
		{name: "Length one past the buffer", b: with(24, 0, 0, 0, 33), major: 2, err: ErrTruncated, want: func() Header { h := sample; h.Length = 33; return h }()},
		{name: "Length 2^32-1", b: with(24, 0xff, 0xff, 0xff, 0xff), major: 2, err: ErrTruncated, want: func() Header { h := sample; h.Length = 0xffffffff; return h }()},
		{name: "body cut off", b: good[:30], major: 2, err: ErrTruncated, want: sample},
		{name: "version checked before length", b: with(17, 0x10, 0x23, 0x08, 0, 0, 0, 0, 0, 0, 0, 0), major: 2, err: ErrInvalidMajorVersion, want: func() Header { h := sample; h.Version, h.MessageID, h.Length = 0x10, 0, 0; return h }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.b, tc.major)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if h != tc.want {
				t.Fatalf("header = %+v\nwant     %+v", h, tc.want)
			}
			if err == nil && int(h.Length) > len(tc.b) {
				t.Fatalf("accepted Length %d with %d octets", h.Length, len(tc.b))
			}
		})
	}
}

func TestVersionNibbles(t *testing.T) {
	h := Header{Version: 0x2a}
	if h.MajorVersion() != 2 || h.MinorVersion() != 0xa {
		t.Fatalf("version 0x2a: major %d minor %d", h.MajorVersion(), h.MinorVersion())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, h := range []Header{
		sample,
		{Version: 0x10, Length: HeaderLen},
		{SPIi: ^uint64(0), SPIr: ^uint64(0), NextPayload: 0xff, Version: 0x1f, Exchange: 0xff, Flags: 0xff, MessageID: ^uint32(0), Length: HeaderLen},
	} {
		b := h.Append(nil)
		b = append(b, make([]byte, int(h.Length)-len(b))...)
		got, err := ParseHeader(b, h.MajorVersion())
		if err != nil || got != h {
			t.Errorf("ParseHeader(Append(%+v)) = %+v, %v", h, got, err)
		}
	}
}

func TestSetLength(t *testing.T) {
	msg := append(Header{Version: 0x20, Length: 0xdeadbeef}.Append(nil), "payloads"...)
	SetLength(msg)
	h, err := ParseHeader(msg, 2)
	if err != nil || int(h.Length) != len(msg) || h.Length != HeaderLen+8 {
		t.Fatalf("after SetLength: %+v, %v", h, err)
	}
	if !bytes.HasSuffix(msg, []byte("payloads")) {
		t.Fatal("SetLength touched the body")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(unhex(f, sampleHex+"aabbccdd"), uint8(2))
	f.Add(Header{Version: 0x10, Length: HeaderLen}.Append(nil), uint8(1))
	f.Add(make([]byte, 27), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, major uint8) {
		h, err := ParseHeader(data, major)
		if len(data) < HeaderLen {
			if err == nil || h != (Header{}) {
				t.Fatalf("%d octets: %+v, %v", len(data), h, err)
			}
			return
		}
		// Decoded with or without an error, the header re-encodes to the octets it came from.
		if got := h.Append(nil); !bytes.Equal(got, data[:HeaderLen]) {
			t.Fatalf("header re-encodes as %x, was %x", got, data[:HeaderLen])
		}
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidMajorVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if h.MajorVersion() != major || h.Length < HeaderLen || int(h.Length) > len(data) {
			t.Fatalf("accepted %+v from %d octets for major version %d", h, len(data), major)
		}
	})
}
