package wire

import (
	"bytes"
	"net/netip"
)

// Shared sample values for the tests, fuzz seeds and the tshark check.

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func sampleIKEProposals() *SA {
	return &SA{Proposals: []Proposal{
		{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			{Type: TransformENCR, ID: 12, KeyLength: 256}, // AES-CBC-256
			{Type: TransformPRF, ID: 5},                   // PRF_HMAC_SHA2_256
			{Type: TransformINTEG, ID: 12},                // AUTH_HMAC_SHA2_256_128
			{Type: TransformDH, ID: 14},                   // MODP-2048
		}},
		{Number: 2, Protocol: ProtocolIKE, Transforms: []Transform{
			{Type: TransformENCR, ID: 20, KeyLength: 256}, // AES-GCM-16
			{Type: TransformPRF, ID: 7},                   // PRF_HMAC_SHA2_512
			{Type: TransformDH, ID: 19},                   // ECP-256
		}},
	}}
}

func sampleESPProposal() *SA {
	return &SA{Proposals: []Proposal{{
		Number: 1, Protocol: ProtocolESP, SPI: []byte{0xc1, 0x00, 0x00, 0x01},
		Transforms: []Transform{
			{Type: TransformENCR, ID: 20, KeyLength: 128},
			{Type: TransformESN, ID: 0},
		},
	}}}
}

func sampleTS4(responder bool) *TrafficSelectors {
	return &TrafficSelectors{Responder: responder, Selectors: []TrafficSelector{
		TrafficSelectorFromPrefix(netip.MustParsePrefix("10.1.0.0/16")),
		{Type: TSIPv4AddrRange, IPProtocol: 17, StartPort: 53, EndPort: 53,
			StartAddr: netip.MustParseAddr("192.0.2.1"), EndAddr: netip.MustParseAddr("192.0.2.1")},
	}}
}

func sampleTS6(responder bool) *TrafficSelectors {
	return &TrafficSelectors{Responder: responder, Selectors: []TrafficSelector{
		TrafficSelectorFromPrefix(netip.MustParsePrefix("2001:db8:1::/48")),
		{Type: TSIPv6AddrRange, IPProtocol: 6, StartPort: 443, EndPort: 443,
			StartAddr: netip.MustParseAddr("2001:db8::1"), EndAddr: netip.MustParseAddr("2001:db8::1")},
	}}
}

// samplePayloads has one or more values of every payload type.
func samplePayloads() []Payload {
	return []Payload{
		sampleIKEProposals(),
		sampleESPProposal(),
		&KE{Group: 14, Data: seq(256, 1)},
		&KE{Group: 19},
		&ID{IDType: IDFQDN, Data: []byte("initiator.example")},
		&ID{Responder: true, IDType: IDIPv4, Data: []byte{192, 0, 2, 2}},
		&Cert{Encoding: CertX509Signature, Data: seq(40, 7)},
		&CertReq{Encoding: CertX509Signature, Data: seq(20, 9)},
		&CertReq{Encoding: CertX509Signature},
		&Auth{Method: AuthSharedKey, Data: seq(32, 3)},
		&Nonce{Data: seq(32, 0x40)},
		&Nonce{},
		&Notify{Type: NotifyNATDetectionSourceIP, Data: seq(20, 0x10)},
		&Notify{Protocol: ProtocolESP, SPI: []byte{1, 2, 3, 4}, Type: NotifyRekeySA},
		&Notify{Type: NotifyInvalidSPI, Data: []byte{0xc0, 0xff, 0xee, 0x01}},
		&Notify{Type: NotifyType(40000), Data: []byte{1}},
		&Delete{Protocol: ProtocolESP, SPIs: [][]byte{{0x11, 0x22, 0x33, 0x44}, {0xaa, 0xbb, 0xcc, 0xdd}}},
		&Delete{Protocol: ProtocolIKE},
		&VendorID{Data: []byte("vigil-test-vendor")},
		sampleTS4(false),
		sampleTS6(true),
		&TrafficSelectors{},
		&CP{CfgType: CfgRequest, Attributes: []CPAttribute{{Type: CfgInternalIP4Address}, {Type: CfgInternalIP4DNS}}},
		&CP{CfgType: CfgReply, Attributes: []CPAttribute{{Type: CfgInternalIP4Address, Value: []byte{10, 9, 0, 2}}}},
		&EAP{Code: EAPResponse, Identifier: 7, EAPType: 1, Data: []byte("user")},
		&EAP{Code: EAPRequest, Identifier: 8, EAPType: 1},
		&EAP{Code: EAPSuccess, Identifier: 9},
		&Unknown{PType: 49, Data: []byte{1, 2, 3}},
		&Unknown{PType: 200},
	}
}

func baseHeader(ex ExchangeType, flags Flags, msgID uint32) Header {
	return Header{SPIi: 0x1122334455667788, SPIr: 0x99aabbccddeeff00, Version: Version, Exchange: ex, Flags: flags, MessageID: msgID}
}

// sampleSAInit is an IKE_SA_INIT request as strongSwan would send it.
func sampleSAInit() *Message {
	h := baseHeader(ExchangeIKESAInit, FlagInitiator, 0)
	h.SPIr = 0
	return &Message{Header: h, Payloads: []Payload{
		sampleIKEProposals(),
		&KE{Group: 14, Data: seq(256, 1)},
		&Nonce{Data: seq(32, 0x40)},
		&Notify{Type: NotifyNATDetectionSourceIP, Data: seq(20, 0x10)},
		&Notify{Type: NotifyNATDetectionDestinationIP, Data: seq(20, 0x30)},
		&Notify{Type: NotifyFragmentationSupported},
		&Notify{Type: NotifySignatureHashAlgorithms, Data: []byte{0, 2, 0, 3, 0, 4}},
		&VendorID{Data: seq(16, 0x80)},
		&CertReq{Encoding: CertX509Signature, Data: seq(20, 9)},
	}}
}

// sampleCleartextInfo is a fake INFORMATIONAL carrying, unencrypted, the
// payloads that normally travel inside SK (for dissector checks).
func sampleCleartextInfo() *Message {
	return &Message{Header: baseHeader(ExchangeInformational, FlagInitiator, 2), Payloads: []Payload{
		&ID{IDType: IDFQDN, Data: []byte("initiator.example")},
		&Auth{Method: AuthSharedKey, Data: seq(32, 3)},
		&CP{CfgType: CfgRequest, Attributes: []CPAttribute{{Type: CfgInternalIP4Address}, {Type: CfgInternalIP4DNS}}},
		sampleESPProposal(),
		sampleTS4(false),
		sampleTS6(true),
		&Notify{Type: NotifyInvalidSPI, Data: []byte{0xc0, 0xff, 0xee, 0x01}},
		&Notify{Type: NotifyUseTransportMode},
		&Delete{Protocol: ProtocolESP, SPIs: [][]byte{{0x11, 0x22, 0x33, 0x44}, {0xaa, 0xbb, 0xcc, 0xdd}}},
		&Delete{Protocol: ProtocolIKE},
		&VendorID{Data: []byte("vigil")},
		&CertReq{Encoding: CertX509Signature, Data: seq(40, 9)},
	}}
}

// sampleAuthPayloads are the inner payloads of an IKE_AUTH request.
func sampleAuthPayloads() []Payload {
	return []Payload{
		&ID{IDType: IDFQDN, Data: []byte("initiator.example")},
		&Notify{Type: NotifyInitialContact},
		&ID{Responder: true, IDType: IDFQDN, Data: []byte("responder.example")},
		&Auth{Method: AuthSharedKey, Data: seq(32, 3)},
		&CP{CfgType: CfgRequest, Attributes: []CPAttribute{{Type: CfgInternalIP4Address}}},
		sampleESPProposal(),
		sampleTS4(false),
		sampleTS6(true),
	}
}

func testKeys() (*gcmCipher, *cbcCipher) {
	return newGCMCipher(bytes.Repeat([]byte{0x42}, 32), [4]byte{1, 2, 3, 4}),
		newCBCCipher(bytes.Repeat([]byte{0x17}, 32), bytes.Repeat([]byte{0x23}, 32))
}

// sampleFragment is fragment 1 of 2 of a protected message as an RFC 7383
// peer sends it: the header with h's fields and an SKF payload (Next Payload
// IDi, Fragment Number 1, Total Fragments 2, then IV, ciphertext and ICV,
// here arbitrary bytes).
func sampleFragment(h Header) []byte {
	body := append([]byte{0, 1, 0, 2}, seq(40, 7)...)
	h.NextPayload = PayloadSKF
	h.Length = uint32(HeaderLen + genericHeaderLen + len(body))
	b := append(h.Append(nil), byte(PayloadIDi), 0)
	b = appendU16(b, uint16(genericHeaderLen+len(body)))
	return append(b, body...)
}
