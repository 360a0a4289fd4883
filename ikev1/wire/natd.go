package wire

// NATD is the NAT Discovery payload (RFC 3947 section 3.2): HASH(CKY-I |
// CKY-R | IP | Port) with the negotiated hash. Draft marks the
// private-use payload number 130 of draft-ietf-ipsec-nat-t-ike-02/03 (used
// when that draft's vendor ID was negotiated) instead of 20.
type NATD struct {
	Draft bool
	Hash  []byte
}

// PayloadType implements Payload.
func (n *NATD) PayloadType() PayloadType {
	if n.Draft {
		return PayloadNATDDraft
	}
	return PayloadNATD
}

func (n *NATD) appendBody(b []byte) []byte { return append(b, n.Hash...) }
