package wire

// Unknown is a payload of a type this package does not decode (CERT,
// CERTREQ, Attribute, fragments, private-use types). Its body is kept
// verbatim. RFC 2408 section 5.1 has the receiver answer an unexpected type
// with INVALID-PAYLOAD-TYPE.
type Unknown struct {
	Type PayloadType
	Data []byte
}

// PayloadType implements Payload.
func (u *Unknown) PayloadType() PayloadType { return u.Type }

func (u *Unknown) appendBody(b []byte) []byte { return append(b, u.Data...) }
