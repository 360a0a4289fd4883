package wire

// Hash is the Hash payload (RFC 2408 section 3.11): HASH_I/HASH_R in Main
// Mode, HASH(1..3) in Quick Mode and HASH(1) in Informational exchanges.
type Hash struct {
	Data []byte
}

// PayloadType implements Payload.
func (*Hash) PayloadType() PayloadType { return PayloadHash }

func (h *Hash) appendBody(b []byte) []byte { return append(b, h.Data...) }
