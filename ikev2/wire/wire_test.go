package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPayloadRoundTrip(t *testing.T) {
	for _, p := range samplePayloads() {
		t.Run(p.PayloadType().String(), func(t *testing.T) {
			m := &Message{Header: baseHeader(ExchangeIKEAuth, FlagResponse, 1), Payloads: []Payload{p}}
			b := m.Append(nil)
			got, err := ParseMessage(b)
			if err != nil {
				t.Fatalf("ParseMessage: %v\n%x", err, b)
			}
			want := *m
			want.NextPayload = p.PayloadType()
			want.Length = uint32(len(b))
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("round trip mismatch\n got %#v\nwant %#v", got.Payloads[0], p)
			}
			if b2 := got.Append(nil); !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs\n%x\n%x", b, b2)
			}
		})
	}
}

func TestMessageRoundTripAllPayloads(t *testing.T) {
	m := &Message{Header: baseHeader(ExchangeIKEAuth, 0, 5), Payloads: samplePayloads()}
	m.Version = 0 // Append defaults it
	b := m.Append([]byte("prefix"))
	if string(b[:6]) != "prefix" {
		t.Fatal("Append clobbered prefix")
	}
	b = b[6:]
	got, err := ParseMessage(append(b, "trailing garbage"...))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != Version || got.Length != uint32(len(b)) || got.NextPayload != PayloadSA {
		t.Fatalf("header %+v", got.Header)
	}
	if !reflect.DeepEqual(got.Payloads, m.Payloads) {
		t.Fatal("payload mismatch")
	}
	// Parsed values must not alias the input.
	before := got.Append(nil)
	for i := range b {
		b[i] = 0xee
	}
	if after := got.Append(nil); !bytes.Equal(before, after) {
		t.Fatal("parsed message aliases input buffer")
	}
}

func TestHeaderBytes(t *testing.T) {
	want := unhex(t, "0102030405060708 0000000000000000 21 20 22 08 00000000 0000001c")
	h := Header{SPIi: 0x0102030405060708, NextPayload: PayloadSA, Version: 0x20, Exchange: ExchangeIKESAInit, Flags: FlagInitiator, Length: 28}
	if got := h.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	got, err := ParseHeader(want)
	if err != nil || got != h {
		t.Fatalf("ParseHeader = %+v, %v", got, err)
	}
	if !got.IsInitiator() || got.IsResponse() {
		t.Fatal("flags")
	}
	resp := unhex(t, "0102030405060708 a1a2a3a4a5a6a7a8 2e 20 25 20 00000007 0000001c")
	got, err = ParseHeader(resp)
	if err != nil || !got.IsResponse() || got.IsInitiator() || got.Exchange != ExchangeInformational || got.MessageID != 7 || got.SPIr != 0xa1a2a3a4a5a6a7a8 {
		t.Fatalf("ParseHeader(response) = %+v, %v", got, err)
	}
}

func TestPayloadBytes(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		hex  string
	}{
		{"SA with key length", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			{Type: TransformENCR, ID: 12, KeyLength: 256},
			{Type: TransformPRF, ID: 5},
			{Type: TransformINTEG, ID: 12},
			{Type: TransformDH, ID: 14},
		}}}}, `00000030
			0000002c 01010004
			0300000c 0100000c 800e0100
			03000008 02000005
			03000008 0300000c
			00000008 0400000e`},
		{"ESP proposal with SPI", sampleESPProposal(), `00000024
			00000020 01030402 c1000001
			0300000c 01000014 800e0080
			00000008 05000000`},
		{"TSi IPv4", &TrafficSelectors{Selectors: []TrafficSelector{{Type: TSIPv4AddrRange, EndPort: 0xffff,
			StartAddr: netip.MustParseAddr("10.0.0.0"), EndAddr: netip.MustParseAddr("10.0.0.255")}}},
			`00000018 01000000 07000010 0000ffff 0a000000 0a0000ff`},
		{"TSr IPv6", &TrafficSelectors{Responder: true, Selectors: []TrafficSelector{{Type: TSIPv6AddrRange, IPProtocol: 6,
			StartPort: 443, EndPort: 443,
			StartAddr: netip.MustParseAddr("2001:db8::1"), EndAddr: netip.MustParseAddr("2001:db8::ffff")}}},
			`00000030 01000000 08060028 01bb01bb
			20010db8000000000000000000000001
			20010db800000000000000000000ffff`},
		{"Notify INVALID_SPI", &Notify{Type: NotifyInvalidSPI, Data: []byte{0xc0, 0xff, 0xee, 0x01}},
			`0000000c 0000000b c0ffee01`},
		{"Notify REKEY_SA", &Notify{Protocol: ProtocolESP, SPI: []byte{1, 2, 3, 4}, Type: NotifyRekeySA},
			`0000000c 03044009 01020304`},
		{"Delete ESP", &Delete{Protocol: ProtocolESP, SPIs: [][]byte{{0x11, 0x22, 0x33, 0x44}, {0xaa, 0xbb, 0xcc, 0xdd}}},
			`00000010 03040002 11223344 aabbccdd`},
		{"Delete IKE", &Delete{Protocol: ProtocolIKE}, `00000008 01000000`},
		{"KE", &KE{Group: 19, Data: []byte{1, 2}}, `0000000a 00130000 0102`},
		{"IDi", &ID{IDType: IDFQDN, Data: []byte("a.b")}, `0000000b 02000000 612e62`},
		{"AUTH", &Auth{Method: AuthSharedKey, Data: []byte{9}}, `00000009 02000000 09`},
		{"CERTREQ", &CertReq{Encoding: 4, Data: []byte{1, 2}}, `00000007 04 0102`},
		{"CP", &CP{CfgType: CfgRequest, Attributes: []CPAttribute{{Type: 1}, {Type: 3, Value: []byte{8, 8, 8, 8}}}},
			`00000014 01000000 00010000 00030004 08080808`},
		{"EAP success", &EAP{Code: EAPSuccess, Identifier: 3, EAPType: 99, Data: []byte{1}}, `00000008 03030004`},
		{"EAP identity", &EAP{Code: EAPResponse, Identifier: 3, EAPType: 1, Data: []byte("u")}, `0000000a 02030006 0175`},
		{"Unknown critical", &Unknown{PType: 49, Critical: true, Data: []byte{7}}, `00800005 07`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got := AppendPayloads(nil, []Payload{tt.p})
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding\n got %x\nwant %x", got, want)
			}
			if u, ok := tt.p.(*Unknown); ok && u.Critical {
				_, err := ParsePayloads(tt.p.PayloadType(), want)
				var uce *UnsupportedCriticalError
				if !errors.Is(err, ErrUnsupportedCritical) || !errors.As(err, &uce) || uce.Type != 49 {
					t.Fatalf("critical unknown: err = %v", err)
				}
				return
			}
			ps, err := ParsePayloads(tt.p.PayloadType(), want)
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := tt.p.(*EAP); ok && e.Code == EAPSuccess {
				tt.p = &EAP{Code: EAPSuccess, Identifier: 3}
			}
			if len(ps) != 1 || !reflect.DeepEqual(ps[0], tt.p) {
				t.Fatalf("parse: got %#v want %#v", ps, tt.p)
			}
		})
	}
}

func TestIDRestOfPayload(t *testing.T) {
	id := &ID{IDType: IDFQDN, Data: []byte("gw")}
	if got, want := id.RestOfPayload(), []byte{2, 0, 0, 0, 'g', 'w'}; !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	enc := AppendPayloads(nil, []Payload{id})
	if !bytes.Equal(enc[4:], id.RestOfPayload()) {
		t.Fatal("RestOfPayload differs from encoded body")
	}
}

// TestTruncation cuts a message at every offset, both with the header
// length left alone and with it rewritten to match, and requires an error.
func TestTruncation(t *testing.T) {
	full := (&Message{Header: baseHeader(ExchangeIKEAuth, 0, 1), Payloads: samplePayloads()}).Append(nil)
	for i := 0; i < len(full); i++ {
		if _, err := ParseMessage(full[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: err = %v, want ErrTruncated", i, err)
		}
		if i < HeaderLen {
			continue
		}
		cut := bytes.Clone(full[:i])
		isakmp.SetLength(cut)
		if _, err := ParseMessage(cut); err == nil {
			t.Fatalf("cut at %d with fixed length parsed without error", i)
		}
	}
	chain := full[HeaderLen:]
	for i := 0; i < len(chain); i++ {
		if _, err := ParsePayloads(PayloadSA, chain[:i]); err == nil {
			t.Fatalf("ParsePayloads cut at %d: no error", i)
		}
	}
	// The same for a protected message.
	gcm, _ := testKeys()
	enc := AppendEncrypted(nil, baseHeader(ExchangeIKEAuth, 0, 1), sampleAuthPayloads(), gcm)
	for i := 0; i < len(enc); i++ {
		cut := bytes.Clone(enc[:i])
		if i >= HeaderLen {
			isakmp.SetLength(cut)
		}
		if _, err := OpenEncrypted(cut, gcm); err == nil {
			t.Fatalf("OpenEncrypted cut at %d: no error", i)
		}
	}
}

func TestMalformed(t *testing.T) {
	hdr := func(next PayloadType, body string) []byte {
		b := unhex(t, body)
		h := baseHeader(ExchangeIKESAInit, FlagInitiator, 0)
		h.NextPayload = next
		h.Length = uint32(HeaderLen + len(b))
		return append(h.Append(nil), b...)
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"short header", make([]byte, 27), ErrTruncated},
		{"major version 1", func() []byte { b := hdr(0, ""); b[17] = 0x10; return b }(), ErrInvalidMajorVersion},
		{"major version 3", func() []byte { b := hdr(0, ""); b[17] = 0x30; return b }(), ErrInvalidMajorVersion},
		{"length below header", func() []byte { b := hdr(0, ""); b[27] = 27; return b }(), ErrMalformed},
		{"length beyond data", func() []byte { b := hdr(0, ""); b[27] = 29; return b }(), ErrTruncated},
		{"payload length 3", hdr(PayloadNonce, "00000003"), ErrMalformed},
		{"payload length beyond message", hdr(PayloadNonce, "00000010 00"), ErrTruncated},
		{"trailing bytes after chain", hdr(PayloadNonce, "00000005 01 ff"), ErrMalformed},
		{"missing next payload", hdr(PayloadNonce, "28000005 01"), ErrTruncated},
		{"SK not last", hdr(PayloadSK, "28000005 01 00000004"), ErrMalformed},
		{"unknown critical", hdr(49, "00800004"), ErrUnsupportedCritical},
		{"SA no proposals", hdr(PayloadSA, "00000004"), ErrMalformed},
		{"SA bad last substructure", hdr(PayloadSA, "00000014 01000010 01010001 00000008 01000003"), ErrMalformed},
		{"SA more-follows on last", hdr(PayloadSA, "00000014 02000010 01010001 00000008 01000003"), ErrTruncated},
		{"SA transform count too high", hdr(PayloadSA, "00000014 00000010 01010002 00000008 01000003"), ErrTruncated},
		{"SA transform count too low", hdr(PayloadSA, "0000001c 00000018 01010001 03000008 01000003 00000008 02000002"), ErrMalformed},
		{"SA transform last marker wrong", hdr(PayloadSA, "00000014 00000010 01010001 03000008 01000003"), ErrMalformed},
		{"SA SPI size beyond proposal", hdr(PayloadSA, "00000014 00000010 01010901 00000008 01000003"), ErrMalformed},
		{"SA TLV attribute", hdr(PayloadSA, "0000001c 00000018 01010001 00000010 01000003 000e0004 00000100"), ErrMalformed},
		{"SA unknown attribute", hdr(PayloadSA, "00000018 00000014 01010001 0000000c 01000003 800f0100"), ErrMalformed},
		{"SA duplicate key length", hdr(PayloadSA, "0000001c 00000018 01010001 00000010 01000003 800e0100 800e0080"), ErrMalformed},
		{"SA zero key length", hdr(PayloadSA, "00000018 00000014 01010001 0000000c 01000003 800e0000"), ErrMalformed},
		{"SA transform length 7", hdr(PayloadSA, "00000014 00000010 01010001 00000007 01000003"), ErrMalformed},
		{"KE short", hdr(PayloadKE, "00000006 000e"), ErrTruncated},
		{"Notify SPI beyond payload", hdr(PayloadNotify, "0000000c 03084009 01020304"), ErrTruncated},
		{"Delete ESP SPI size 8", hdr(PayloadDelete, "00000010 03080001 0102030405060708"), ErrMalformed},
		{"Delete IKE with SPIs", hdr(PayloadDelete, "00000008 01000001"), ErrMalformed},
		{"Delete count beyond data", hdr(PayloadDelete, "0000000c 0304ffff 01020304"), ErrMalformed},
		{"Delete unknown protocol", hdr(PayloadDelete, "00000008 09000000"), ErrMalformed},
		{"TS count beyond data", hdr(PayloadTSi, "00000018 02000000 07000010 0000ffff 0a000000 0a0000ff"), ErrTruncated},
		{"TS bad selector length", hdr(PayloadTSi, "00000018 01000000 07000011 0000ffff 0a000000 0a0000ff"), ErrMalformed},
		{"TS unknown type", hdr(PayloadTSi, "00000018 01000000 09000010 0000ffff 0a000000 0a0000ff"), ErrMalformed},
		{"TS trailing bytes", hdr(PayloadTSi, "00000019 01000000 07000010 0000ffff 0a000000 0a0000ff 00"), ErrMalformed},
		{"CP attribute beyond payload", hdr(PayloadCP, "0000000c 01000000 00010008"), ErrTruncated},
		{"EAP length mismatch", hdr(PayloadEAP, "00000009 02010006 01"), ErrMalformed},
		{"EAP success with data", hdr(PayloadEAP, "00000009 03010005 01"), ErrMalformed},
		{"EAP request without type", hdr(PayloadEAP, "00000008 01010004"), ErrTruncated},
		{"SKF not last", hdr(PayloadSKF, "29000008 00010001 00000008 00004000"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMessage(tt.msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnknownNonCriticalSkipped(t *testing.T) {
	b := unhex(t, "28000005 aa 00000004")
	ps, err := ParsePayloads(200, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Payload{&Unknown{PType: 200, Data: []byte{0xaa}}, &Nonce{}}
	if !reflect.DeepEqual(ps, want) {
		t.Fatalf("got %#v", ps)
	}
}

func TestKnownPayloadCriticalBitIgnored(t *testing.T) {
	ps, err := ParsePayloads(PayloadNonce, unhex(t, "00800005 aa"))
	if err != nil || !reflect.DeepEqual(ps, []Payload{&Nonce{Data: []byte{0xaa}}}) {
		t.Fatalf("%#v %v", ps, err)
	}
}

func TestGetters(t *testing.T) {
	m := &Message{Payloads: append(sampleAuthPayloads(),
		&Delete{Protocol: ProtocolIKE}, &Delete{Protocol: ProtocolESP, SPIs: [][]byte{{1, 2, 3, 4}}},
		&Notify{Type: NotifyCookie, Data: []byte{1}}, &Notify{Type: NotifyCookie, Data: []byte{2}},
		&KE{Group: 14}, &Nonce{Data: []byte{1}}, &EAP{Code: EAPSuccess}, &Cert{Encoding: 4}, &CertReq{Encoding: 4}, &VendorID{})}
	if m.IDi() == nil || m.IDi().Responder || string(m.IDi().Data) != "initiator.example" {
		t.Error("IDi")
	}
	if m.IDr() == nil || !m.IDr().Responder || string(m.IDr().Data) != "responder.example" {
		t.Error("IDr")
	}
	if m.TSi() == nil || m.TSi().Responder || m.TSr() == nil || !m.TSr().Responder {
		t.Error("TSi/TSr")
	}
	if m.TSr().Selectors[0].Type != TSIPv6AddrRange {
		t.Error("TSr content")
	}
	if m.SA() == nil || m.SA().Proposals[0].Protocol != ProtocolESP || m.Auth() == nil || m.CP() == nil ||
		m.KE() == nil || m.Nonce() == nil || m.EAP() == nil {
		t.Error("typed getters")
	}
	if n := m.Notify(NotifyCookie); n == nil || n.Data[0] != 1 {
		t.Error("Notify returns first match")
	}
	if m.Notify(NotifyInvalidSPI) != nil {
		t.Error("Notify for absent type")
	}
	if len(m.Notifies()) != 3 || len(m.Deletes()) != 2 || len(m.Certs()) != 1 || len(m.CertReqs()) != 1 || len(m.VendorIDs()) != 1 {
		t.Error("multi getters")
	}
	if p := m.Get(PayloadIDr); p == nil || !p.(*ID).Responder {
		t.Error("Get(IDr)")
	}
	if m.Get(PayloadSK) != nil {
		t.Error("Get absent")
	}
	empty := &Message{}
	if empty.SA() != nil || empty.TSi() != nil || empty.Notifies() != nil {
		t.Error("getters on empty message")
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{ExchangeIKESAInit.String(), "IKE_SA_INIT"},
		{ExchangeInformational.String(), "INFORMATIONAL"},
		{ExchangeType(99).String(), "EXCHANGE(99)"},
		{PayloadTSr.String(), "TSr"},
		{PayloadType(99).String(), "PAYLOAD(99)"},
		{NotifyNATDetectionSourceIP.String(), "NAT_DETECTION_SOURCE_IP"},
		{NotifyFragmentationSupported.String(), "IKEV2_FRAGMENTATION_SUPPORTED"},
		{NotifyChildlessIKEv2Supported.String(), "CHILDLESS_IKEV2_SUPPORTED"},
		{NotifyEAPOnlyAuthentication.String(), "EAP_ONLY_AUTHENTICATION"},
		{NotifyRedirectSupported.String(), "REDIRECT_SUPPORTED"},
		{NotifyChildSANotFound.String(), "CHILD_SA_NOT_FOUND"},
		{NotifyType(12345).String(), "NOTIFY(12345)"},
		{sampleSAInit().String(), "IKE_SA_INIT request 0 [ SA KE Nonce N(NAT_DETECTION_SOURCE_IP) N(NAT_DETECTION_DESTINATION_IP) N(IKEV2_FRAGMENTATION_SUPPORTED) N(SIGNATURE_HASH_ALGORITHMS) VendorID CERTREQ ]"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q want %q", tt.got, tt.want)
		}
	}
	for v, name := range map[NotifyType]string{1: "UNSUPPORTED_CRITICAL_PAYLOAD", 4: "INVALID_IKE_SPI", 5: "INVALID_MAJOR_VERSION",
		7: "INVALID_SYNTAX", 9: "INVALID_MESSAGE_ID", 11: "INVALID_SPI", 14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD",
		24: "AUTHENTICATION_FAILED", 34: "SINGLE_PAIR_REQUIRED", 35: "NO_ADDITIONAL_SAS", 36: "INTERNAL_ADDRESS_FAILURE",
		37: "FAILED_CP_REQUIRED", 38: "TS_UNACCEPTABLE", 39: "INVALID_SELECTORS", 43: "TEMPORARY_FAILURE", 44: "CHILD_SA_NOT_FOUND",
		16384: "INITIAL_CONTACT", 16385: "SET_WINDOW_SIZE", 16386: "ADDITIONAL_TS_POSSIBLE", 16387: "IPCOMP_SUPPORTED",
		16390: "COOKIE", 16391: "USE_TRANSPORT_MODE", 16392: "HTTP_CERT_LOOKUP_SUPPORTED", 16393: "REKEY_SA",
		16394: "ESP_TFC_PADDING_NOT_SUPPORTED", 16395: "NON_FIRST_FRAGMENTS_ALSO", 16396: "MOBIKE_SUPPORTED",
		16431: "SIGNATURE_HASH_ALGORITHMS"} {
		if v.String() != name {
			t.Errorf("%d: got %q want %q", v, v.String(), name)
		}
		if v.IsError() != (v < 16384) {
			t.Errorf("%v IsError", v)
		}
	}
}

func TestTrafficSelectorHelpers(t *testing.T) {
	ts := TrafficSelectorFromPrefix(netip.MustParsePrefix("10.1.2.3/16"))
	if ts.Type != TSIPv4AddrRange || ts.StartAddr != netip.MustParseAddr("10.1.0.0") || ts.EndAddr != netip.MustParseAddr("10.1.255.255") || ts.EndPort != 0xffff {
		t.Fatalf("%v", ts)
	}
	if !ts.Contains(netip.MustParseAddr("10.1.9.9")) || ts.Contains(netip.MustParseAddr("10.2.0.0")) || !ts.Contains(netip.MustParseAddr("::ffff:10.1.0.1")) {
		t.Fatal("Contains")
	}
	ts6 := TrafficSelectorFromPrefix(netip.MustParsePrefix("2001:db8::/127"))
	if ts6.Type != TSIPv6AddrRange || ts6.EndAddr != netip.MustParseAddr("2001:db8::1") {
		t.Fatalf("%v", ts6)
	}
}

func TestAppendPanicsOnUnencodable(t *testing.T) {
	for name, p := range map[string]Payload{
		"ESP delete with 8-byte SPI": &Delete{Protocol: ProtocolESP, SPIs: [][]byte{make([]byte, 8)}},
		"IPv6 address in IPv4 TS":    &TrafficSelectors{Selectors: []TrafficSelector{{Type: TSIPv4AddrRange, StartAddr: netip.IPv6Loopback(), EndAddr: netip.IPv6Loopback()}}},
		"zero address in IPv6 TS":    &TrafficSelectors{Selectors: []TrafficSelector{{Type: TSIPv6AddrRange}}},
		"oversized nonce":            &Nonce{Data: make([]byte, 70000)},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			AppendPayloads(nil, []Payload{p})
		})
	}
}

// TestShortBodies gives every payload with a fixed part a body that is one
// byte too short (and an empty one) and requires ErrTruncated/ErrMalformed.
func TestShortBodies(t *testing.T) {
	fixed := map[PayloadType]int{PayloadSA: 8, PayloadKE: 4, PayloadIDi: 4, PayloadIDr: 4, PayloadCERT: 1, PayloadCERTREQ: 1,
		PayloadAUTH: 4, PayloadNotify: 4, PayloadDelete: 4, PayloadTSi: 4, PayloadTSr: 4, PayloadCP: 4, PayloadEAP: 4}
	for pt, n := range fixed {
		for _, l := range []int{0, n - 1} {
			b := append([]byte{0, 0, 0, byte(4 + l)}, make([]byte, l)...)
			_, err := ParsePayloads(pt, b)
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v with %d-byte body: err = %v", pt, l, err)
			}
		}
	}
	for _, pt := range []PayloadType{PayloadNonce, PayloadVendorID, PayloadSK, PayloadSKF, 99} {
		if _, err := ParsePayloads(pt, []byte{0, 0, 0, 4}); err != nil {
			t.Errorf("%v with empty body: %v", pt, err)
		}
	}
}
