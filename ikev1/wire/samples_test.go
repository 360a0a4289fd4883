package wire

import (
	"errors"
	"net/netip"
)

// Sample values shared by the tests.

const (
	testCkyI = 0x0123456789abcdef
	testCkyR = 0xfedcba9876543210
)

func samplePhase1SA() *SA {
	return &SA{Proposals: []Proposal{{
		Number:   1,
		Protocol: ProtoISAKMP,
		Transforms: []Transform{
			{Number: 1, ID: TransformKeyIKE, Attributes: []Attribute{
				BasicAttr(IKEAttrEncryption, IKEEncrAESCBC),
				BasicAttr(IKEAttrKeyLength, 256),
				BasicAttr(IKEAttrHash, IKEHashSHA256),
				BasicAttr(IKEAttrAuthMethod, IKEAuthPSK),
				BasicAttr(IKEAttrGroupDescription, GroupMODP2048),
				BasicAttr(IKEAttrLifeType, LifeSeconds),
				UintAttr(IKEAttrLifeDuration, 86400), // variable form
			}},
			{Number: 2, ID: TransformKeyIKE, Attributes: []Attribute{
				BasicAttr(IKEAttrEncryption, IKEEncrAESCBC),
				BasicAttr(IKEAttrKeyLength, 128),
				BasicAttr(IKEAttrHash, IKEHashSHA384),
				BasicAttr(IKEAttrAuthMethod, IKEAuthPSK),
				BasicAttr(IKEAttrGroupDescription, GroupECP256),
				BasicAttr(IKEAttrLifeType, LifeSeconds),
				UintAttr(IKEAttrLifeDuration, 28800), // basic form
			}},
		},
	}}}
}

func samplePhase2SA() *SA {
	return &SA{Proposals: []Proposal{{
		Number:   1,
		Protocol: ProtoESP,
		SPI:      []byte{0xc1, 0x5e, 0x00, 0x01},
		Transforms: []Transform{
			{Number: 1, ID: TransformESPAES, Attributes: []Attribute{
				BasicAttr(IPsecAttrSALifeType, LifeSeconds),
				UintAttr(IPsecAttrSALifeDuration, 3600),
				BasicAttr(IPsecAttrEncapsulation, EncapTunnel),
				BasicAttr(IPsecAttrAuthAlgorithm, AuthHMACSHA256),
				BasicAttr(IPsecAttrKeyLength, 256),
				BasicAttr(IPsecAttrGroupDescription, GroupMODP2048),
			}},
			{Number: 2, ID: TransformESPAESGCM16, Attributes: []Attribute{
				BasicAttr(IPsecAttrSALifeType, LifeKilobytes),
				UintAttr(IPsecAttrSALifeDuration, 1<<33),
				BasicAttr(IPsecAttrEncapsulation, EncapUDPTunnel),
				BasicAttr(IPsecAttrKeyLength, 128),
				BasicAttr(IPsecAttrESN, ESNUsed),
			}},
		},
	}}}
}

func pat(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func header(x ExchangeType, mid uint32) Header {
	return Header{CookieI: testCkyI, CookieR: testCkyR, Exchange: x, MessageID: mid}
}

// sampleMM1 is Main Mode message 1 (the responder cookie is still zero).
func sampleMM1() *Message {
	h := header(ExchangeMainMode, 0)
	h.CookieR = 0
	return &Message{Header: h, Payloads: []Payload{
		samplePhase1SA(),
		&VendorID{Data: VendorIDXAuth},
		&VendorID{Data: VendorIDDPD},
		&VendorID{Data: VendorIDNATTRFC3947},
		&VendorID{Data: VendorIDNATTDraft03},
		&VendorID{Data: VendorIDNATTDraft02N},
	}}
}

// sampleMM2 is Main Mode message 2: the chosen transform and vendor IDs.
func sampleMM2() *Message {
	sa := samplePhase1SA()
	sa.Proposals[0].Transforms = sa.Proposals[0].Transforms[:1]
	return &Message{Header: header(ExchangeMainMode, 0), Payloads: []Payload{
		sa,
		&VendorID{Data: VendorIDDPD},
		&VendorID{Data: VendorIDNATTRFC3947},
	}}
}

// sampleMM3 is Main Mode message 3: KE, Nonce and two NAT-D payloads.
func sampleMM3() *Message {
	return &Message{Header: header(ExchangeMainMode, 0), Payloads: []Payload{
		&KE{Data: pat(0x40, 256)},
		&Nonce{Data: pat(0x80, 32)},
		&NATD{Hash: pat(0x10, 32)},
		&NATD{Hash: pat(0x20, 32)},
	}}
}

// sampleQM1Payloads are the payloads of Quick Mode message 1 (normally
// encrypted), with a zero HASH(1).
func sampleQM1Payloads() []Payload {
	ci, _ := NewSubnetID(netip.MustParsePrefix("10.1.0.0/16"))
	cr, _ := NewSubnetID(netip.MustParsePrefix("2001:db8:1::/48"))
	cr.Protocol, cr.Port = 17, 53
	return []Payload{
		&Hash{Data: make([]byte, 32)},
		samplePhase2SA(),
		&Nonce{Data: pat(0x30, 24)},
		&KE{Data: pat(0x50, 32)},
		ci,
		cr,
		&NATOA{Addr: netip.MustParseAddr("192.0.2.10")},
		&NATOA{Draft: true, Addr: netip.MustParseAddr("2001:db8::a")},
	}
}

// sampleInfo is an unencrypted Informational message with INVALID-SPI and
// a Delete.
func sampleInfo() *Message {
	return &Message{Header: header(ExchangeInformational, 0x01020304), Payloads: []Payload{
		&Notification{DOI: DOIIPsec, Protocol: ProtoESP, SPI: []byte{0xde, 0xad, 0xbe, 0xef}, Type: NotifyInvalidSPI},
		NewDeleteESP(0x11223344, 0x55667788),
	}}
}

// sampleMisc holds the payloads not covered by the messages above.
func sampleMisc() []Payload {
	id, _ := NewRangeID(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9"))
	return []Payload{
		&ID{Type: IDFQDN, Protocol: 17, Port: 500, Data: []byte("vpn.example.org")},
		NewAddrID(netip.MustParseAddr("192.0.2.1")),
		id,
		&Sig{Data: pat(1, 64)},
		NewDPD(NotifyRUThere, testCkyI, testCkyR, 7),
		&Notification{DOI: DOIIPsec, Protocol: ProtoESP, SPI: []byte{1, 2, 3, 4}, Type: NotifyResponderLifetime,
			Data: AppendAttributes(nil, []Attribute{BasicAttr(IPsecAttrSALifeType, LifeSeconds), UintAttr(IPsecAttrSALifeDuration, 1200)})},
		&Notification{DOI: DOIIPsec, Protocol: ProtoISAKMP, Type: NotifyInitialContact, SPI: CookieSPI(testCkyI, testCkyR)},
		NewDeleteISAKMP(testCkyI, testCkyR),
		&NATD{Draft: true, Hash: pat(9, 20)},
		&Unknown{Type: PayloadCertReq, Data: []byte{4}},
		&Unknown{Type: 200},
	}
}

// xorCipher is a stand-in for AES-CBC in the codec tests: a 16-byte block
// "cipher" (XOR with a fixed byte) with a selectable padding style.
type xorCipher struct {
	key byte
	pad func(n int) []byte // padding for an n-byte plaintext
}

func rfcPadding(n int) []byte {
	p := make([]byte, 16-n%16)
	p[len(p)-1] = byte(len(p) - 1)
	return p
}

func strongSwanPadding(n int) []byte { return make([]byte, 16-n%16) }

func boundaryPadding(n int) []byte { return make([]byte, (16-n%16)%16) }

var errBlock = errors.New("xorCipher: bad length")

func (c xorCipher) Encrypt(dst, p []byte) []byte {
	pad := rfcPadding
	if c.pad != nil {
		pad = c.pad
	}
	start := len(dst)
	dst = append(dst, p...)
	dst = append(dst, pad(len(p))...)
	for i := start; i < len(dst); i++ {
		dst[i] ^= c.key
	}
	return dst
}

func (c xorCipher) Decrypt(ct []byte) ([]byte, error) {
	if len(ct) == 0 || len(ct)%16 != 0 {
		return nil, errBlock
	}
	for i := range ct {
		ct[i] ^= c.key
	}
	return ct, nil
}
