package crypto

import (
	"bytes"
	"testing"

	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// The IKEv2 codec takes this package's ciphers as they are: crypto defines
// its own SKCipher so that it imports no protocol package, and this line
// fails to compile if the two interfaces ever drift apart.
var _ wire.SKCipher = SKCipher(nil)

// TestSKWithWire seals and opens a whole message through the wire package.
func TestSKWithWire(t *testing.T) {
	for _, tc := range allSKSuites() {
		c := newTestSK(t, tc.s, 11)
		h := wire.Header{SPIi: 1, SPIr: 2, Exchange: 37, MessageID: 5}
		msg := wire.AppendEncrypted(nil, h, []wire.Payload{&wire.Nonce{Data: seq(0, 32)}}, c)
		m, err := wire.OpenEncrypted(msg, c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(m.Payloads) != 1 {
			t.Fatalf("%s: %d payloads", tc.name, len(m.Payloads))
		}
		if n, ok := m.Payloads[0].(*wire.Nonce); !ok || !bytes.Equal(n.Data, seq(0, 32)) {
			t.Fatalf("%s: payload %#v", tc.name, m.Payloads[0])
		}
		msg[len(msg)-1] ^= 1
		if _, err := wire.OpenEncrypted(msg, c); err == nil {
			t.Fatalf("%s: tampered message accepted", tc.name)
		}
	}
}
