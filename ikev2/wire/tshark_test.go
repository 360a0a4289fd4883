package wire

import (
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/tsharktest"
)

// TestTsharkDissects feeds codec output to Wireshark's IKEv2 dissector.
func TestTsharkDissects(t *testing.T) {
	tshark := tsharktest.Binary(t)
	_, cbc := testKeys()
	init := sampleSAInit()
	resp := sampleSAInit()
	resp.SPIr = 0x99aabbccddeeff00
	resp.Flags = FlagResponse
	resp.Payloads = append(resp.Payloads, &Notify{Type: NotifyChildlessIKEv2Supported}, &Notify{Type: NotifyMOBIKESupported})
	msgs := [][]byte{
		init.Append(nil),
		resp.Append(nil),
		AppendEncrypted(nil, baseHeader(ExchangeIKEAuth, FlagInitiator, 1), sampleAuthPayloads(), cbc),
		sampleCleartextInfo().Append(nil),
		(&Message{Header: baseHeader(ExchangeInformational, FlagResponse, 2), Payloads: []Payload{
			&EAP{Code: EAPResponse, Identifier: 1, EAPType: 1, Data: []byte("user")},
			&EAP{Code: EAPSuccess, Identifier: 2},
			&CP{CfgType: CfgReply, Attributes: []CPAttribute{{Type: CfgInternalIP4Address, Value: []byte{10, 9, 0, 2}}, {Type: CfgInternalIP4DNS, Value: []byte{10, 9, 0, 1}}}},
			&Notify{Type: NotifyNoProposalChosen},
			&Notify{Type: NotifyInvalidKEPayload, Data: []byte{0, 19}},
		}}).Append(nil),
	}
	text := tsharktest.Dissect(t, tshark, msgs)
	for _, want := range []string{
		"Exchange type: IKE_SA_INIT (34)",
		"Exchange type: IKE_AUTH (35)",
		"Exchange type: INFORMATIONAL (37)",
		"Payload: Security Association (33)",
		"Key Length: 256",
		"Transform ID (ENCR): ENCR_AES_CBC (12)",
		"Transform ID (D-H): 2048 bit MODP group (14)",
		"Payload: Key Exchange (34)",
		"Payload: Nonce (40)",
		"Notify Message Type: NAT_DETECTION_SOURCE_IP (16388)",
		"Notify Message Type: NAT_DETECTION_DESTINATION_IP (16389)",
		"Notify Message Type: IKEV2_FRAGMENTATION_SUPPORTED (16430)",
		"Notify Message Type: SIGNATURE_HASH_ALGORITHMS (16431)",
		"Notify Message Type: CHILDLESS_IKEV2_SUPPORTED (16418)",
		"Notify Message Type: INVALID_SPI (11)",
		"Notify Message Type: NO_PROPOSAL_CHOSEN (14)",
		"Payload: Vendor ID (43)",
		"Payload: Certificate Request (38)",
		"Payload: Encrypted and Authenticated (46)",
		"Payload: Identification - Initiator (35)",
		"ID_FQDN",
		"Payload: Authentication (39)",
		"Payload: Traffic Selector - Initiator (44)",
		"Payload: Traffic Selector - Responder (45)",
		"TS_IPV4_ADDR_RANGE",
		"TS_IPV6_ADDR_RANGE",
		"2001:db8::1",
		"Payload: Delete (42)",
		"Delete SPI: 11223344",
		"Ending Addr: 2001:db8:1:ffff:ffff:ffff:ffff:ffff",
		"Ending Addr: 10.1.255.255",
		"Key Length: 128",
		"Number of SPIs: 2",
		"Notification DATA: c0ffee01",
		"Certificate Authority Data: 1d1e1f202122232425262728292a2b2c2d2e2f30",
		"[Checksum Status: Good]",
		"Payload: Configuration (47)",
		"INTERNAL_IP4_ADDRESS",
		"Payload: Extensible Authentication (48)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	for _, line := range tsharktest.Problems(text) {
		t.Errorf("tshark reports: %s", line)
	}
	if n := strings.Count(text, "Internet Security Association and Key Management Protocol"); n != len(msgs) {
		t.Errorf("tshark decoded %d ISAKMP packets, want %d", n, len(msgs))
	}

	// Negative control: the error detection above must notice a broken message.
	broken := init.Append(nil)
	broken[HeaderLen+3] += 9 // SA payload length runs past the message
	if len(tsharktest.Problems(tsharktest.Dissect(t, tshark, [][]byte{broken}))) == 0 {
		t.Error("tshark did not flag a corrupted message; the check is ineffective")
	}
}
