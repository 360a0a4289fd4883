package proposal

import (
	"reflect"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

func TestToWire(t *testing.T) {
	ike, err := crypto.ParseProposals("aes128gcm16-chacha20poly1305-prfsha256-x25519-ecp256,aes256-sha384-modp2048", true)
	if err != nil {
		t.Fatal(err)
	}
	spi := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	got := ToWire(ike, wire.ProtocolIKE, spi)
	spi[0] = 0xff // ToWire copies the SPI
	want := []wire.Proposal{
		{Number: 1, Protocol: wire.ProtocolIKE, SPI: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Transforms: []wire.Transform{
			{Type: wire.TransformENCR, ID: crypto.EncrAESGCM16, KeyLength: 128},
			{Type: wire.TransformENCR, ID: crypto.EncrChaCha20Poly1305},
			{Type: wire.TransformPRF, ID: crypto.PRFHMACSHA256},
			{Type: wire.TransformDH, ID: crypto.DHCurve25519},
			{Type: wire.TransformDH, ID: crypto.DHECP256},
		}},
		{Number: 2, Protocol: wire.ProtocolIKE, SPI: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Transforms: []wire.Transform{
			{Type: wire.TransformENCR, ID: crypto.EncrAESCBC, KeyLength: 256},
			{Type: wire.TransformPRF, ID: crypto.PRFHMACSHA384},
			{Type: wire.TransformINTEG, ID: crypto.IntegHMACSHA384192},
			{Type: wire.TransformDH, ID: crypto.DHMODP2048},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IKE:\n got %+v\nwant %+v", got, want)
	}

	esp, _ := crypto.ParseProposals("aes256gcm16-esn-noesn,aes128-sha256-ecp256", false)
	got = ToWire(esp, wire.ProtocolESP, []byte{9, 9, 9, 9})
	want = []wire.Proposal{
		{Number: 1, Protocol: wire.ProtocolESP, SPI: []byte{9, 9, 9, 9}, Transforms: []wire.Transform{
			{Type: wire.TransformENCR, ID: crypto.EncrAESGCM16, KeyLength: 256},
			{Type: wire.TransformESN, ID: crypto.ESNYes},
			{Type: wire.TransformESN, ID: crypto.ESNNo},
		}},
		{Number: 2, Protocol: wire.ProtocolESP, SPI: []byte{9, 9, 9, 9}, Transforms: []wire.Transform{
			{Type: wire.TransformENCR, ID: crypto.EncrAESCBC, KeyLength: 128},
			{Type: wire.TransformINTEG, ID: crypto.IntegHMACSHA256128},
			{Type: wire.TransformDH, ID: crypto.DHECP256},
			{Type: wire.TransformESN, ID: crypto.ESNNo},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ESP:\n got %+v\nwant %+v", got, want)
	}
	// A hand-built ESP proposal without ESN still gets the mandatory ESN transform.
	got = ToWire([]crypto.Proposal{{Encr: []crypto.EncrAlg{{ID: crypto.EncrAESGCM16, KeyBits: 128}}}}, wire.ProtocolESP, []byte{1, 1, 1, 1})
	if tr := got[0].Transforms; len(tr) != 2 || tr[1] != (wire.Transform{Type: wire.TransformESN, ID: crypto.ESNNo}) {
		t.Errorf("default ESN missing: %+v", tr)
	}
}
