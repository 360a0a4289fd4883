// Package tsharktest cross-checks encoders against Wireshark's dissectors: it writes messages
// as IPv4/UDP port-500 packets into a pcap file, runs tshark on it and reports the lines where
// the dissector flags a problem. Tests skip when tshark is not installed.
package tsharktest

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binary returns tshark's path, or skips the test.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	return bin
}

// Dissect writes msgs as UDP payloads from 192.0.2.1:500 to 192.0.2.2:500 into a pcap file
// and returns tshark's verbose output (checksums verified).
func Dissect(t testing.TB, bin string, msgs [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ike.pcap")
	if err := os.WriteFile(path, Pcap(msgs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-r", path, "-V")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// Problems returns the output lines in which Wireshark reports a problem with a packet.
func Problems(text string) []string {
	var bad []string
	for _, line := range strings.Split(text, "\n") {
		for _, marker := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning", "Exception", "Bogus", "Packet size limited"} {
			if strings.Contains(line, marker) {
				bad = append(bad, strings.TrimSpace(line))
				break
			}
		}
	}
	return bad
}

// Pcap wraps msgs in IPv4/UDP port-500 packets in a classic pcap file (link type 101, raw IP).
func Pcap(msgs [][]byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4) // magic
	b = binary.LittleEndian.AppendUint16(b, 2)          // version 2.4
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)     // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)     // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 101)   // LINKTYPE_RAW
	for i, m := range msgs {
		pkt := IPv4UDP([4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}, 500, 500, uint16(i), m)
		b = binary.LittleEndian.AppendUint32(b, uint32(1700000000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return b
}

// IPv4UDP builds an IPv4/UDP packet with correct checksums.
func IPv4UDP(src, dst [4]byte, sport, dport, id uint16, payload []byte) []byte {
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
