package esp

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
)

// suite is one cipher configuration exercised by the tests.
type suite struct {
	name     string
	encr     uint16
	integ    uint16
	keyLen   int // EncrKey length (key plus salt for AEAD)
	integLen int
}

var suites = []suite{
	{"aes128gcm16", crypto.EncrAESGCM16, crypto.IntegNone, 16 + 4, 0},
	{"aes192gcm16", crypto.EncrAESGCM16, crypto.IntegNone, 24 + 4, 0},
	{"aes256gcm16", crypto.EncrAESGCM16, crypto.IntegNone, 32 + 4, 0},
	{"chacha20poly1305", crypto.EncrChaCha20Poly1305, crypto.IntegNone, 32 + 4, 0},
	{"aes128cbc-sha256", crypto.EncrAESCBC, crypto.IntegHMACSHA256128, 16, 32},
	{"aes192cbc-sha384", crypto.EncrAESCBC, crypto.IntegHMACSHA384192, 24, 48},
	{"aes256cbc-sha512", crypto.EncrAESCBC, crypto.IntegHMACSHA512256, 32, 64},
}

// config returns a deterministic Config for the suite.
func (su suite) config(spi uint32, esn bool) Config {
	c := Config{SPI: spi, Encr: su.encr, Integ: su.integ, ESN: esn, ReplayWindow: 4096}
	c.EncrKey = make([]byte, su.keyLen)
	for i := range c.EncrKey {
		c.EncrKey[i] = byte(i*7 + 1)
	}
	if su.integLen > 0 {
		c.IntegKey = make([]byte, su.integLen)
		for i := range c.IntegKey {
			c.IntegKey[i] = byte(0xa0 ^ i)
		}
	}
	return c
}

// pair returns a sender and an independent receiver for the same keys.
func (su suite) pair(t testing.TB, esn bool) (tx, rx *SA) {
	t.Helper()
	var err error
	if tx, err = New(su.config(0x01020304, esn)); err != nil {
		t.Fatal(err)
	}
	if rx, err = New(su.config(0x01020304, esn)); err != nil {
		t.Fatal(err)
	}
	return tx, rx
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ipv4Packet returns a syntactically plausible IPv4 packet of n >= 20 bytes.
// The golden packets in kat_test.go depend on its exact output, as on
// ipv6Packet's.
func ipv4Packet(n int) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:4], uint16(n))
	p[8] = 64
	p[9] = 17
	copy(p[12:16], []byte{10, 0, 0, 1})
	copy(p[16:20], []byte{10, 0, 0, 2})
	for i := 20; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

// ipv6Packet returns a syntactically plausible IPv6 packet of n >= 40 bytes.
func ipv6Packet(n int) []byte {
	p := make([]byte, n)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:6], uint16(n-40))
	p[6] = 17
	p[7] = 64
	p[8], p[23] = 0x20, 1
	p[24], p[39] = 0x20, 2
	for i := 40; i < n; i++ {
		p[i] = byte(i * 3)
	}
	return p
}

// rawSeal builds an authentic packet around an arbitrary plaintext (which
// must already be aligned for CBC), bypassing Seal's padding, so that the
// receiver's trailer checks can be exercised.
func rawSeal(s *SA, seq uint64, pt []byte) []byte {
	out := make([]byte, s.HeaderLen()+len(pt)+s.tailLen())
	copy(out[s.HeaderLen():], pt)
	binary.BigEndian.PutUint32(out[0:4], s.spi)
	binary.BigEndian.PutUint32(out[4:8], uint32(seq))
	if st := s.state(); st.cbc == nil {
		s.aeadSeal(st, out, len(pt), seq, nil)
	} else {
		s.cbcSeal(st.cbc, out, len(pt), seq, nil)
	}
	return out
}
