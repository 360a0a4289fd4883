package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameHeader compares headers ignoring fields that encoding recomputes.
func sameHeader(a, b Header) bool {
	a.NextPayload, b.NextPayload = 0, 0
	a.Length, b.Length = 0, 0
	a.Version, b.Version = 0, 0
	return a == b
}

func sampleMessages() []*Message {
	return []*Message{
		sampleMM1(), sampleMM2(), sampleMM3(), sampleInfo(),
		{Header: header(ExchangeQuickMode, 42), Payloads: sampleQM1Payloads()},
		{Header: header(ExchangeInformational, 1), Payloads: sampleMisc()},
		{Header: header(ExchangeInformational, 2)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := m.Append([]byte("prefix"))
		if string(b[:6]) != "prefix" {
			t.Fatal("Append overwrote the prefix")
		}
		b = b[6:]
		got, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !sameHeader(got.Header, m.Header) || got.Version != Version || int(got.Length) != len(b) || got.NextPayload != firstType(m.Payloads) {
			t.Errorf("%v: header %+v", m, got.Header)
		}
		if !reflect.DeepEqual(got.Payloads, m.Payloads) {
			t.Errorf("%v: payloads differ\n got %#v\nwant %#v", m, got.Payloads, m.Payloads)
		}
		if !bytes.Equal(got.Append(nil), b) {
			t.Errorf("%v: re-encoding differs", m)
		}
		// The parsed message does not alias the input.
		clear(b)
		if !reflect.DeepEqual(got.Payloads, m.Payloads) {
			t.Errorf("%v: parsed payloads alias the input buffer", m)
		}
		// ParsePayloads agrees on the bare chain.
		chain := AppendPayloads(nil, m.Payloads)
		ps, err := ParsePayloads(firstType(m.Payloads), chain)
		if err != nil || !reflect.DeepEqual(ps, m.Payloads) {
			t.Errorf("%v: ParsePayloads: %v", m, err)
		}
	}
}

// TestExactEncoding compares the encoder with byte layouts written out by
// hand from RFC 2408, 2407 and 3947.
func TestExactEncoding(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		want string
	}{
		{"SA", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoISAKMP, Transforms: []Transform{{Number: 1, ID: TransformKeyIKE,
			Attributes: []Attribute{BasicAttr(IKEAttrEncryption, IKEEncrAESCBC), UintAttr(IKEAttrLifeDuration, 86400)}}}}}},
			"00 00 0028 00000001 00000001" + // generic header, DOI IPsec, SIT_IDENTITY_ONLY
				"00 00 001c 01 01 00 01" + // last proposal, #1, ISAKMP, no SPI, 1 transform
				"00 00 0014 01 01 0000" + // last transform, #1, KEY_IKE
				"8001 0007 000c 0004 00015180"}, // Encryption=AES-CBC (TV), Life Duration=86400 (TLV)
		{"SA two ESP transforms", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoESP, SPI: []byte{0xaa, 0xbb, 0xcc, 0xdd}, Transforms: []Transform{
			{Number: 1, ID: TransformESPAES, Attributes: []Attribute{BasicAttr(IPsecAttrKeyLength, 256)}},
			{Number: 2, ID: TransformESPAESGCM16},
		}}}},
			"00 00 002c 00000001 00000001" +
				"00 00 0020 01 03 04 02 aabbccdd" +
				"03 00 000c 01 0c 0000 8006 0100" + // more transforms follow, ESP_AES, Key Length 256
				"00 00 0008 02 14 0000"}, // ESP_AES_GCM_16 without attributes
		{"KE", &KE{Data: []byte{1, 2, 3}}, "00 00 0007 010203"},
		{"ID", &ID{Type: IDIPv4Addr, Protocol: 17, Port: 500, Data: []byte{192, 0, 2, 1}}, "00 00 000c 01 11 01f4 c0000201"},
		{"Hash", &Hash{Data: []byte{0xab}}, "00 00 0005 ab"},
		{"Nonce", &Nonce{Data: []byte{0xcd, 0xef}}, "00 00 0006 cdef"},
		{"Notification", &Notification{DOI: DOIIPsec, Protocol: ProtoESP, SPI: []byte{0xde, 0xad, 0xbe, 0xef}, Type: NotifyInvalidSPI},
			"00 00 0010 00000001 03 04 000b deadbeef"},
		{"R-U-THERE", NewDPD(NotifyRUThere, 1, 2, 0x10),
			"00 00 0020 00000001 01 10 8d28 0000000000000001 0000000000000002 00000010"},
		{"Delete", NewDeleteESP(0x11223344, 0x55667788), "00 00 0014 00000001 03 04 0002 11223344 55667788"},
		{"Vendor ID", &VendorID{Data: VendorIDDPD}, "00 00 0014 afcad71368a1f1c96b8696fc77570100"},
		{"NAT-D", &NATD{Hash: []byte{1, 2}}, "00 00 0006 0102"},
		{"NAT-OA", &NATOA{Addr: mustAddr("192.0.2.1")}, "00 00 000c 01 000000 c0000201"},
	}
	for _, tc := range tests {
		got := AppendPayloads(nil, []Payload{tc.p})
		if want := unhex(t, tc.want); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, got, want)
		}
	}

	// Header and chaining: Main Mode, Next Payload fields point along the chain.
	m := &Message{Header: Header{CookieI: 1, CookieR: 2, Exchange: ExchangeMainMode, Flags: FlagCommit, MessageID: 0}, Payloads: []Payload{&KE{Data: []byte{9}}, &Nonce{Data: []byte{8}}}}
	want := unhex(t, "0000000000000001 0000000000000002 04 10 02 02 00000000 00000026"+"0a 00 0005 09"+"00 00 0005 08")
	if got := m.Append(nil); !bytes.Equal(got, want) {
		t.Errorf("message:\n got %x\nwant %x", got, want)
	}
}

func TestParseHeader(t *testing.T) {
	good := sampleMM3().Append(nil)
	h, err := ParseHeader(append(good, 0xff, 0xff)) // bytes past Length are fine
	if err != nil || h.CookieI != testCkyI || h.CookieR != testCkyR || h.Exchange != ExchangeMainMode || h.NextPayload != PayloadKE || int(h.Length) != len(good) || h.MajorVersion() != 1 || h.MinorVersion() != 0 {
		t.Fatalf("%+v %v", h, err)
	}
	mod := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for name, tc := range map[string]struct {
		b   []byte
		err error
	}{
		"short":         {good[:27], ErrTruncated},
		"IKEv2":         {mod(func(b []byte) { b[17] = 0x20 }), ErrInvalidMajorVersion},
		"length<28":     {mod(func(b []byte) { binary.BigEndian.PutUint32(b[24:], 27) }), ErrMalformed},
		"length>buffer": {mod(func(b []byte) { binary.BigEndian.PutUint32(b[24:], uint32(len(b)+1)) }), ErrTruncated},
	} {
		if _, err := ParseHeader(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", name, err, tc.err)
		}
		if _, err := ParseMessage(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s (message): %v, want %v", name, err, tc.err)
		}
	}
	// Minor version 1 is the caller's policy, not an error here.
	if _, err := ParseHeader(mod(func(b []byte) { b[17] = 0x11 })); err != nil {
		t.Errorf("minor version 1: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	const saHdr = "00000001 00000001"
	const prop = "00 00 0014 01 01 00 01" // proposal of 20 bytes: 8 + transform of 12
	const trans = "00 00 000c 01 01 0000 8001 0007"
	tests := []struct {
		name  string
		first PayloadType
		body  string
		err   error
	}{
		{"ok SA", PayloadSA, "00 00 0020" + saHdr + prop + trans, nil},
		{"payload header cut", PayloadKE, "00 00 00", ErrTruncated},
		{"payload length < 4", PayloadKE, "00 00 0003 00", ErrMalformed},
		{"payload length past end", PayloadKE, "00 00 0009 0102", ErrTruncated},
		{"trailing bytes", PayloadKE, "00 00 0005 01 00", ErrMalformed},
		{"next payload missing", PayloadKE, "0a 00 0005 01", ErrTruncated},
		{"proposal at top level", PayloadProposal, "00 00 0008 01 01 00 00", ErrMalformed},
		{"transform at top level", PayloadTransform, "00 00 0008 01 01 00 00", ErrMalformed},
		{"SA short", PayloadSA, "00 00 000b 000000 01000000", ErrTruncated},
		{"SA DOI 0", PayloadSA, "00 00 0020 00000000 00000001" + prop + trans, ErrDOINotSupported},
		{"SA secrecy", PayloadSA, "00 00 0020 00000001 00000003" + prop + trans, ErrSituationNotSupported},
		{"SA no proposal", PayloadSA, "00 00 000c" + saHdr, ErrTruncated},
		{"proposal bad next", PayloadSA, "00 00 0020" + saHdr + "05 00 0014 01 01 00 01" + trans, ErrMalformed},
		{"proposal length short", PayloadSA, "00 00 0020" + saHdr + "00 00 0007 01 01 00 01" + trans, ErrMalformed},
		{"proposal length long", PayloadSA, "00 00 0020" + saHdr + "00 00 0015 01 01 00 01" + trans, ErrTruncated},
		{"proposal SPI too long", PayloadSA, "00 00 0020" + saHdr + "00 00 0014 01 01 0d 01" + trans, ErrTruncated},
		{"proposal no transforms", PayloadSA, "00 00 0014" + saHdr + "00 00 0008 01 01 00 00", ErrMalformed},
		{"more transforms announced", PayloadSA, "00 00 0020" + saHdr + "00 00 0014 01 01 00 02" + "03 00 000c 01 01 0000 8001 0007", ErrTruncated},
		{"transform next wrong", PayloadSA, "00 00 0020" + saHdr + prop + "03 00 000c 01 01 0000 8001 0007", ErrMalformed},
		{"transform short", PayloadSA, "00 00 0020" + saHdr + prop + "00 00 0007 01 01 0000 8001 0007", ErrMalformed},
		{"bytes after transforms", PayloadSA, "00 00 0024" + saHdr + "00 00 0018 01 01 00 01" + trans + "00000000", ErrMalformed},
		{"bytes after proposals", PayloadSA, "00 00 0024" + saHdr + prop + trans + "00000000", ErrMalformed},
		{"second proposal", PayloadSA, "00 00 0034" + saHdr + "02 00 0014 01 01 00 01" + trans + prop + trans, nil},
		{"attribute cut", PayloadSA, "00 00 001e" + saHdr + "00 00 0012 01 01 00 01" + "00 00 000a 01 01 0000 8001", ErrTruncated},
		{"TLV attribute too long", PayloadSA, "00 00 0020" + saHdr + prop + "00 00 000c 01 01 0000 000c 0001", ErrTruncated},
		{"ID short", PayloadID, "00 00 0007 010000", ErrTruncated},
		{"ID IPv4 5 bytes", PayloadID, "00 00 000d 01 00 0000 c000020101", ErrMalformed},
		{"ID IPv6 subnet 16 bytes", PayloadID, "00 00 0018 06 00 0000 20010db8000000000000000000000000", ErrMalformed},
		{"ID FQDN empty", PayloadID, "00 00 0008 02 00 0000", nil},
		{"notification short", PayloadNotification, "00 00 000b 00000001 03 00 00", ErrTruncated},
		{"notification SPI too long", PayloadNotification, "00 00 000e 00000001 03 04 000b 0102", ErrTruncated},
		{"delete short", PayloadDelete, "00 00 000b 00000001 03 04 00", ErrTruncated},
		{"delete count mismatch", PayloadDelete, "00 00 0010 00000001 03 04 0002 11223344", ErrMalformed},
		{"delete size 0", PayloadDelete, "00 00 000c 00000001 03 00 ffff", ErrMalformed},
		{"NAT-OA short", PayloadNATOA, "00 00 0007 010000", ErrTruncated},
		{"NAT-OA FQDN", PayloadNATOA, "00 00 000c 02 000000 c0000201", ErrMalformed},
		{"NAT-OA IPv6 short", PayloadNATOADraft, "00 00 000c 05 000000 c0000201", ErrMalformed},
	}
	for _, tc := range tests {
		_, err := ParsePayloads(tc.first, unhex(t, tc.body))
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestMessageSpans(t *testing.T) {
	src := &Message{Header: header(ExchangeQuickMode, 9), Payloads: sampleQM1Payloads()}
	m, err := ParseMessage(src.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range src.Payloads {
		if !bytes.Equal(m.Body(i), AppendBody(nil, p)) {
			t.Errorf("Body(%d) differs from AppendBody", i)
		}
		if !bytes.Equal(m.PayloadBytes(i)[4:], m.Body(i)) {
			t.Errorf("PayloadBytes(%d) is not header + body", i)
		}
		if !bytes.Equal(m.After(i), AppendPayloads(nil, src.Payloads[i+1:])) {
			t.Errorf("After(%d) differs from the encoded rest", i)
		}
	}
	if m.Index(PayloadHash) != 0 || m.Index(PayloadNonce) != 2 || m.Index(PayloadDelete) != -1 {
		t.Error("Index")
	}
	n := len(src.Payloads)
	if m.Body(n) != nil || m.Body(-1) != nil || m.After(n) != nil || m.PayloadBytes(n) != nil {
		t.Error("out-of-range span not nil")
	}
	if len(m.After(n-1)) != 0 {
		t.Error("After(last) not empty")
	}
	if src.Body(0) != nil {
		t.Error("unparsed message has spans")
	}
	if m.Hash() == nil || m.SA() == nil || m.Nonce() == nil || m.KE() == nil || len(m.IDs()) != 2 || len(m.NATOAs()) != 2 {
		t.Error("accessors")
	}
}

func TestEncrypted(t *testing.T) {
	h := header(ExchangeQuickMode, 77)
	payloads := sampleQM1Payloads()
	for name, pad := range map[string]func(int) []byte{"RFC 2409": rfcPadding, "strongSwan": strongSwanPadding, "block boundary": boundaryPadding} {
		c := xorCipher{key: 0x5a, pad: pad}
		b := AppendEncrypted([]byte{0xee}, h, payloads, c)[1:]
		hdr, err := ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.Encrypted() || hdr.NextPayload != PayloadHash || int(hdr.Length) != len(b) || hdr.Version != Version || (len(b)-HeaderLen)%16 != 0 {
			t.Errorf("%s: header %+v", name, hdr)
		}
		if bytes.Contains(b, AppendPayloads(nil, payloads[1:2])) {
			t.Errorf("%s: plaintext visible", name)
		}
		if _, err := ParseMessage(b); !errors.Is(err, ErrEncrypted) {
			t.Errorf("%s: ParseMessage: %v", name, err)
		}
		m, err := OpenEncrypted(append(bytes.Clone(b), 1, 2, 3), c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(m.Payloads, payloads) || !sameHeader(m.Header, hdr) {
			t.Errorf("%s: payloads differ", name)
		}
		if !bytes.Equal(m.After(0), AppendPayloads(nil, payloads[1:])) {
			t.Errorf("%s: After(0) includes padding or differs", name)
		}
		// A different key yields garbage that the parser rejects.
		if _, err := OpenEncrypted(b, xorCipher{key: 0x33}); err == nil {
			t.Errorf("%s: wrong key accepted", name)
		}
	}
	plain := sampleInfo().Append(nil)
	if _, err := OpenEncrypted(plain, xorCipher{}); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("unencrypted: %v", err)
	}
	// Append of a message that arrived encrypted sends it in the clear.
	m, err := OpenEncrypted(AppendEncrypted(nil, h, payloads, xorCipher{}), xorCipher{})
	if err != nil {
		t.Fatal(err)
	}
	if m2, err := ParseMessage(m.Append(nil)); err != nil || m2.Encrypted() || !reflect.DeepEqual(m2.Payloads, payloads) {
		t.Errorf("Append of a decrypted message: %v", err)
	}
	b := AppendEncrypted(nil, h, payloads, xorCipher{})
	b = b[:len(b)-1]
	isakmp.SetLength(b)
	if _, err := OpenEncrypted(b, xorCipher{}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("ragged ciphertext: %v", err)
	}
	// An empty encrypted message (no payloads) is padding only.
	b = AppendEncrypted(nil, h, nil, xorCipher{})
	if m, err := OpenEncrypted(b, xorCipher{}); err != nil || len(m.Payloads) != 0 {
		t.Errorf("empty: %v", err)
	}
}

func TestPaddingLimit(t *testing.T) {
	chain := AppendPayloads(nil, []Payload{&Nonce{Data: []byte{1}}})
	for trail, ok := range map[int]bool{0: true, 16: true, 255: true, 256: false} {
		_, _, err := parseChain(PayloadNonce, append(bytes.Clone(chain), make([]byte, trail)...), true)
		if (err == nil) != ok {
			t.Errorf("%d bytes of padding: %v", trail, err)
		}
	}
}

func TestAttributes(t *testing.T) {
	for _, tc := range []struct {
		v     uint64
		basic bool
		n     int
	}{{0, true, 0}, {65535, true, 0}, {65536, false, 4}, {1<<32 - 1, false, 4}, {1 << 32, false, 8}} {
		a := UintAttr(IKEAttrLifeDuration, tc.v)
		if a.Basic != tc.basic || len(a.Data) != tc.n {
			t.Errorf("UintAttr(%d) = %+v", tc.v, a)
		}
		if v, ok := a.Uint(); !ok || v != tc.v {
			t.Errorf("Uint() of %d = %d %v", tc.v, v, ok)
		}
	}
	for _, tc := range []struct {
		data []byte
		v    uint64
		ok   bool
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1, true},
		{[]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, 0, false},
		{nil, 0, false},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1<<64 - 1, true},
	} {
		if v, ok := VarAttr(1, tc.data).Uint(); v != tc.v || ok != tc.ok {
			t.Errorf("Uint(%x) = %d %v", tc.data, v, ok)
		}
	}
	attrs, err := ParseAttributes(unhex(t, "800e0100 000c0004 00015180 000b0000"))
	if err != nil || len(attrs) != 3 {
		t.Fatal(attrs, err)
	}
	if a, ok := FindAttr(attrs, IKEAttrKeyLength); !ok || !a.Basic || a.Value != 256 {
		t.Errorf("key length %+v", a)
	}
	if a, ok := FindAttr(attrs, IKEAttrLifeDuration); !ok || a.Basic || !bytes.Equal(a.Data, []byte{0, 1, 0x51, 0x80}) {
		t.Errorf("life %+v", a)
	}
	if _, ok := FindAttr(attrs, IKEAttrHash); ok {
		t.Error("found absent attribute")
	}
	tr := samplePhase1SA().Proposals[0].Transforms[0]
	if a, ok := tr.Attr(IKEAttrGroupDescription); !ok || a.Value != GroupMODP2048 {
		t.Error("Transform.Attr")
	}
	defer func() {
		if recover() == nil {
			t.Error("attribute type with AF bit encoded")
		}
	}()
	AppendAttributes(nil, []Attribute{BasicAttr(0x8001, 1)})
}

func TestAppendPanics(t *testing.T) {
	for name, p := range map[string]Payload{
		"delete SPI size":   &Delete{Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2}}},
		"oversized payload": &KE{Data: make([]byte, 65533)},
		"long SPI":          &Notification{SPI: make([]byte, 256)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			AppendPayloads(nil, []Payload{p})
		}()
	}
}

func TestDPD(t *testing.T) {
	n := NewDPD(NotifyRUThereAck, testCkyI, testCkyR, 0xfffffffe)
	if seq, ok := n.DPDSequence(); !ok || seq != 0xfffffffe {
		t.Errorf("sequence %d %v", seq, ok)
	}
	if i, r, ok := n.Cookies(); !ok || i != testCkyI || r != testCkyR {
		t.Error("cookies")
	}
	if n.Protocol != ProtoISAKMP || n.DOI != DOIIPsec {
		t.Error("DPD fields")
	}
	for _, bad := range []*Notification{
		{Type: NotifyInvalidSPI, Data: []byte{0, 0, 0, 1}},
		{Type: NotifyRUThere, Data: []byte{0, 0, 1}},
	} {
		if _, ok := bad.DPDSequence(); ok {
			t.Errorf("DPDSequence accepted %+v", bad)
		}
		if _, _, ok := bad.Cookies(); ok {
			t.Error("Cookies without SPI")
		}
	}
	d := NewDeleteESP(1, 2)
	if got := d.ESPSPIs(); !reflect.DeepEqual(got, []uint32{1, 2}) {
		t.Errorf("ESPSPIs %v", got)
	}
	if NewDeleteISAKMP(1, 2).ESPSPIs() != nil {
		t.Error("ESPSPIs of an ISAKMP delete")
	}
}

func TestStrings(t *testing.T) {
	for got, want := range map[string]string{
		sampleMM1().String():                 "ID_PROT 0 [ SA V V V V V ]",
		sampleMM3().String():                 "ID_PROT 0 [ KE No NAT-D NAT-D ]",
		sampleInfo().String():                "INFORMATIONAL_V1 16909060 [ N(INVALID-SPI) D ]",
		ExchangeType(99).String():            "EXCHANGE(99)",
		ExchangeQuickMode.String():           "QUICK_MODE",
		PayloadType(99).String():             "PAYLOAD(99)",
		NotifyType(9999).String():            "NOTIFY(9999)",
		NotifyRUThereAck.String():            "R-U-THERE-ACK",
		IDType(99).String():                  "ID(99)",
		IDUserFQDN.String():                  "ID_USER_FQDN",
		ProtocolID(9).String():               "PROTO(9)",
		ProtoESP.String():                    "ESP",
		header(ExchangeMainMode, 0).String(): "ID_PROT 0 cky 0123456789abcdef_i fedcba9876543210_r",
		BasicAttr(1, 7).String():             "attr(1)=7",
		VarAttr(12, []byte{1, 2}).String():   "attr(12)=0102",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for typ := NotifyType(1); typ <= 30; typ++ {
		if strings.HasPrefix(typ.String(), "NOTIFY(") || !typ.IsError() {
			t.Errorf("error type %d has no name", typ)
		}
	}
	for _, typ := range []NotifyType{NotifyConnected, NotifyResponderLifetime, NotifyReplayStatus, NotifyInitialContact, NotifyRUThere} {
		if strings.HasPrefix(typ.String(), "NOTIFY(") || typ.IsError() {
			t.Errorf("status type %d", typ)
		}
	}
}
