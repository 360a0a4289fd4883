package wire

// Nonce length bounds from RFC 7296 section 3.9. The codec does not enforce
// them; the exchange logic should.
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

// Nonce is the Nonce payload (Ni or Nr).
type Nonce struct {
	Data []byte
}

// PayloadType implements Payload.
func (*Nonce) PayloadType() PayloadType { return PayloadNonce }

func (n *Nonce) appendBody(b []byte) []byte { return append(b, n.Data...) }
