package proposal

import (
	"slices"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// ToWire converts configured proposals to SA payload proposals numbered
// from 1, each carrying a copy of spi (empty for IKE_SA_INIT, the new IKE
// SPI when rekeying an IKE SA, the 4-byte inbound SPI for ESP). ESP
// proposals always carry an ESN transform; DH transforms are included
// only when the proposal has DH groups.
func ToWire(props []crypto.Proposal, proto wire.ProtocolID, spi []byte) []wire.Proposal {
	out := make([]wire.Proposal, 0, len(props))
	for i, p := range props {
		wp := wire.Proposal{
			Number:   uint8(i + 1),
			Protocol: proto,
			SPI:      slices.Clone(spi),
		}
		for _, e := range p.Encr {
			wp.Transforms = append(wp.Transforms, wire.Transform{
				Type: wire.TransformENCR, ID: e.ID, KeyLength: wireKeyLength(e),
			})
		}
		if proto == wire.ProtocolIKE {
			for _, id := range p.PRF {
				wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformPRF, ID: id})
			}
		}
		for _, id := range p.Integ {
			wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformINTEG, ID: id})
		}
		for _, id := range p.DH {
			wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformDH, ID: id})
		}
		if proto != wire.ProtocolIKE {
			esn := p.ESN
			if len(esn) == 0 {
				esn = []uint16{crypto.ESNNo}
			}
			for _, id := range esn {
				wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformESN, ID: id})
			}
		}
		out = append(out, wp)
	}
	return out
}

// wireKeyLength is the Key Length attribute for an encryption algorithm:
// required for AES, absent (0) for ChaCha20-Poly1305 (RFC 7634).
func wireKeyLength(e crypto.EncrAlg) uint16 {
	if e.ID == crypto.EncrChaCha20Poly1305 {
		return 0
	}
	return uint16(e.KeyBits)
}
