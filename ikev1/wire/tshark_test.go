package wire

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/tsharktest"
)

func tsharkMessages() [][]byte {
	return [][]byte{
		sampleMM1().Append(nil),
		sampleMM2().Append(nil),
		sampleMM3().Append(nil),
		sampleInfo().Append(nil),
		(&Message{Header: header(ExchangeQuickMode, 0x11111111), Payloads: sampleQM1Payloads()}).Append(nil),
		(&Message{Header: header(ExchangeInformational, 0x22222222), Payloads: sampleMisc()}).Append(nil),
		AppendEncrypted(nil, header(ExchangeQuickMode, 0x33333333), sampleQM1Payloads(), xorCipher{key: 0x77}),
	}
}

func TestTsharkDissects(t *testing.T) {
	bin := tsharktest.Binary(t)
	msgs := tsharkMessages()
	text := tsharktest.Dissect(t, bin, msgs)
	if os.Getenv("VIGIL_TSHARK_DUMP") != "" {
		t.Log(text)
	}
	for _, bad := range tsharktest.Problems(text) {
		t.Errorf("tshark reports: %s", bad)
	}
	if n := strings.Count(text, "Internet Security Association and Key Management Protocol"); n != len(msgs) {
		t.Errorf("tshark decoded %d ISAKMP messages, want %d", n, len(msgs))
	}
	for _, want := range []string{
		// Main Mode 1-3.
		"Exchange type: Identity Protection (Main Mode) (2)",
		"Version: 1.0",
		"Domain of interpretation: IPSEC (1)",
		"= Identity Only: True",
		"Protocol ID: ISAKMP (1)",
		"Proposal transforms: 2",
		"Transform ID: KEY_IKE (1)",
		"Encryption Algorithm: AES-CBC (7)",
		"Key Length: 256",
		"Key Length: 128",
		"HASH Algorithm: SHA2-256 (4)",
		"HASH Algorithm: SHA2-384 (5)",
		"Authentication Method: Pre-shared key (1)",
		"Group Description: 2048 bit MODP group (14)",
		"Group Description: 256-bit random ECP group (19)",
		"Life Type: Seconds (1)",
		"Format: Type/Length/Value (TLV)",
		"Life Duration: 86400",
		"Life Duration: 28800",
		"Vendor ID: XAUTH",
		"Vendor ID: RFC 3706 DPD (Dead Peer Detection)",
		"Vendor ID: RFC 3947 Negotiation of NAT-Traversal in the IKE",
		"Vendor ID: draft-ietf-ipsec-nat-t-ike-03",
		`Vendor ID: draft-ietf-ipsec-nat-t-ike-02\n`,
		"Payload: Key Exchange (4)",
		"Payload length: 260",
		"Payload: Nonce (10)",
		"Payload: NAT-D (RFC 3947) (20)",
		"HASH of the address and port: 101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
		// Unencrypted Informational: INVALID-SPI and Delete.
		"Exchange type: Informational (5)",
		"Notify Message Type: INVALID-SPI (11)",
		"Protocol ID: IPSEC_ESP (3)",
		"SPI: deadbeef",
		"Payload: Delete (12)",
		"Number of SPIs: 2",
		"Delete SPI: 11223344",
		"Delete SPI: 55667788",
		// Quick Mode payloads.
		"Exchange type: Quick Mode (32)",
		"Payload: Hash (8)",
		"SPI: c15e0001",
		"Transform ID: AES (12)",
		"Encapsulation Mode: Tunnel (1)",
		"Encapsulation Mode: UDP-Encapsulated-Tunnel (3)",
		"Authentication Algorithm: HMAC-SHA2-256 (5)",
		"Life Type: Kilobytes (2)",
		"Life Duration: 8589934592",
		"Extended (64-bit) Sequence Number: 64-bit Sequence Number (1)",
		"ID type: IPV4_ADDR_SUBNET (4)",
		"ID_IPV4_ADDR: 10.1.0.0",
		"ID_IPV4_SUBNET: 255.255.0.0",
		"ID type: IPV6_ADDR_SUBNET (6)",
		"ID_IPV6_ADDR: 2001:db8:1::",
		"Port: 53",
		"Payload: NAT-OA (RFC 3947) (21)",
		"NAT Original IPv4 Address: 192.0.2.10",
		"Payload: NAT-OA (draft-ietf-ipsec-nat-t-ike-01 to 03) (131)",
		"NAT Original IPv6 Address: 2001:db8::a",
		// Other payloads.
		"ID_FQDN: vpn.example.org",
		"Port: 500",
		"ID_IPV4_RANGE (End): 10.0.0.9",
		"Payload: Signature (9)",
		"Notify Message Type: R-U-THERE (36136)",
		"SPI: 0123456789abcdeffedcba9876543210",
		"DPD ARE-YOU-THERE sequence: 7",
		"Notify Message Type: RESPONDER-LIFETIME (24576)",
		"SA-Life-Duration: 1200",
		"Notify Message Type: INITIAL-CONTACT (24578)",
		"Delete SPI: 0123456789abcdeffedcba9876543210",
		"Payload: NAT-D (draft-ietf-ipsec-nat-t-ike-01 to 03) (130)",
		"Payload: Certificate Request (7)",
		// Encrypted Quick Mode.
		"Encryption: Encrypted",
		fmt.Sprintf("Encrypted Data (%d bytes)", len(msgs[len(msgs)-1])-HeaderLen),
		"[Checksum Status: Good]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}

	// Negative control: the problem detection must notice a broken message.
	broken := bytes.Clone(msgs[0])
	broken[HeaderLen+3] += 8 // SA payload length runs into the next payload
	neg := tsharktest.Problems(tsharktest.Dissect(t, bin, [][]byte{broken}))
	t.Logf("negative control: %q", neg)
	if len(neg) == 0 {
		t.Error("tshark did not flag a corrupted message; the check is ineffective")
	}
}
