package wire

// Sig is the Signature payload (RFC 2408 section 3.12). Vigil authenticates
// with pre-shared keys only; the payload is decoded (and re-encoded
// verbatim) so that a peer using signatures gets a clear refusal.
type Sig struct {
	Data []byte
}

// PayloadType implements Payload.
func (*Sig) PayloadType() PayloadType { return PayloadSig }

func (s *Sig) appendBody(b []byte) []byte { return append(b, s.Data...) }
