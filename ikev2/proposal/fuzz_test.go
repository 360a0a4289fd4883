package proposal

import (
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// FuzzSelect feeds arbitrary proposals (decoded from bytes) to Select and
// checks that any choice is consistent.
func FuzzSelect(f *testing.F) {
	f.Add([]byte{3, 4, 1, 0, 20, 0, 128, 5, 0, 0}, false)
	f.Add([]byte{1, 0, 1, 0, 20, 0, 128, 2, 0, 5, 4, 0, 31}, true)
	f.Add([]byte{3, 4, 1, 0, 12, 1, 0, 3, 0, 12, 4, 0, 14, 5, 0, 1}, false)
	ikeOurs, _ := crypto.ParseProposals("aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha512-x25519-ecp256,aes128-aes256-sha256-sha512-modp2048-ecp384", true)
	espOurs, _ := crypto.ParseProposals("aes128gcm16-aes256gcm16-esn-noesn,aes128-sha256-ecp256,chacha20poly1305-x25519", false)
	f.Fuzz(func(t *testing.T, data []byte, ike bool) {
		proto, ours := wire.ProtocolESP, espOurs
		if ike {
			proto, ours = wire.ProtocolIKE, ikeOurs
		}
		var offered []wire.Proposal
		for len(data) >= 2 && len(offered) < 8 {
			p := wire.Proposal{Number: uint8(len(offered) + 1), Protocol: wire.ProtocolID(data[0])}
			n := int(data[1]) % 9
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			p.SPI, data = data[:n], data[n:]
			for len(data) >= 3 && data[0] != 0xff {
				tr := wire.Transform{Type: wire.TransformType(data[0]), ID: uint16(data[1])<<8 | uint16(data[2])}
				data = data[3:]
				if tr.Type == wire.TransformENCR && len(data) >= 1 {
					tr.KeyLength = uint16(data[0])
					if tr.KeyLength == 128 || tr.KeyLength == 1 {
						tr.KeyLength *= 2 // reach 256 sometimes
					}
					data = data[1:]
				}
				p.Transforms = append(p.Transforms, tr)
			}
			if len(data) > 0 {
				data = data[1:]
			}
			offered = append(offered, p)
		}
		s, chosen, err := Select(offered, ours, proto)
		if err != nil {
			return
		}
		back, err := SuiteFromAccepted(chosen)
		if err != nil || back != s {
			t.Fatalf("chosen %+v gives %v, %v; Select said %v", chosen, back, err, s)
		}
		if !crypto.Allowed(ours, s) {
			t.Fatalf("selected %v outside our configuration", s)
		}
	})
}

// FuzzOwnProposals: whatever configuration parses can be sent and selected by an identical
// peer, and the answer read back as the same suite.
func FuzzOwnProposals(f *testing.F) {
	for _, s := range []string{"aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048,aes128gcm16-prfsha256-ecp256!", "chacha20poly1305-esn-noesn", "aes128-sha256-ecp256"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, ike bool) {
		props, err := crypto.ParseProposals(s, ike)
		if err != nil {
			return
		}
		proto, spi := wire.ProtocolESP, []byte{1, 2, 3, 4}
		if ike {
			proto, spi = wire.ProtocolIKE, nil
		}
		suite, chosen, err := Select(ToWire(props, proto, spi), props, proto)
		if err != nil {
			t.Fatalf("%q: own proposals not selectable: %v", s, err)
		}
		if back, err := SuiteFromAccepted(chosen); err != nil || back != suite || !crypto.Allowed(props, suite) {
			t.Fatalf("%q: accepted %v / %v, %v", s, suite, back, err)
		}
	})
}
