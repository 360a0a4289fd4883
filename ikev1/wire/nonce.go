package wire

// Nonce is the Nonce payload (RFC 2408 section 3.13). Its body is Ni_b or
// Nr_b of RFC 2409. RFC 2409 section 5 requires 8 to 256 bytes; the length
// is the caller's check.
type Nonce struct {
	Data []byte
}

// PayloadType implements Payload.
func (*Nonce) PayloadType() PayloadType { return PayloadNonce }

func (n *Nonce) appendBody(b []byte) []byte { return append(b, n.Data...) }
