package wire

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pcapRawIPv4 wraps IKE messages in IPv4/UDP port 500 packets and writes a
// classic pcap file with link type 101 (raw IP).
func pcapRawIPv4(msgs [][]byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4) // magic
	b = binary.LittleEndian.AppendUint16(b, 2)          // version 2.4
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)     // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)     // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 101)   // LINKTYPE_RAW
	for i, m := range msgs {
		pkt := ipv4UDP([4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}, 500, 500, uint16(i), m)
		b = binary.LittleEndian.AppendUint32(b, uint32(1700000000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return b
}

func ipv4UDP(src, dst [4]byte, sport, dport, id uint16, payload []byte) []byte {
	total := 20 + 8 + len(payload)
	ip := []byte{0x45, 0, byte(total >> 8), byte(total), byte(id >> 8), byte(id), 0x40, 0, 64, 17, 0, 0}
	ip = append(ip, src[:]...)
	ip = append(ip, dst[:]...)
	binary.BigEndian.PutUint16(ip[10:], onesComplement(ip))
	udp := binary.BigEndian.AppendUint16(nil, sport)
	udp = binary.BigEndian.AppendUint16(udp, dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0)
	udp = append(udp, payload...)
	// UDP checksum over the pseudo-header.
	pseudo := append(append(append([]byte{}, src[:]...), dst[:]...), 0, 17, byte((8+len(payload))>>8), byte(8+len(payload)))
	sum := onesComplement(append(pseudo, udp...))
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], sum)
	return append(ip, udp...)
}

func onesComplement(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// TestTsharkDissects feeds codec output to Wireshark's IKEv2 dissector.
func TestTsharkDissects(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
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
	text := runTshark(t, tshark, msgs)
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
	for _, line := range dissectorErrors(text) {
		t.Errorf("tshark reports: %s", line)
	}
	if n := strings.Count(text, "Internet Security Association and Key Management Protocol"); n != len(msgs) {
		t.Errorf("tshark decoded %d ISAKMP packets, want %d", n, len(msgs))
	}

	// Negative control: the error detection above must notice a broken message.
	broken := init.Append(nil)
	broken[HeaderLen+3] += 9 // SA payload length runs past the message
	if len(dissectorErrors(runTshark(t, tshark, [][]byte{broken}))) == 0 {
		t.Error("tshark did not flag a corrupted message; the check is ineffective")
	}
}

// runTshark writes msgs to a pcap file and returns tshark's verbose output.
func runTshark(t *testing.T, tshark string, msgs [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ike.pcap")
	if err := os.WriteFile(path, pcapRawIPv4(msgs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-r", path, "-V")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// dissectorErrors returns the output lines in which Wireshark reports a
// problem with the packet.
func dissectorErrors(text string) []string {
	var bad []string
	for _, line := range strings.Split(text, "\n") {
		for _, marker := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning", "Exception", "Bogus", "[Packet size limited"} {
			if strings.Contains(line, marker) {
				bad = append(bad, strings.TrimSpace(line))
				break
			}
		}
	}
	return bad
}
