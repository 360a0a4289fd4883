package wire

// Unknown holds a payload of a type this package does not decode. Parsing
// never yields an Unknown with Critical set (that is an
// ErrUnsupportedCritical error instead), but Append honours the flag.
type Unknown struct {
	PType    PayloadType
	Critical bool
	Data     []byte
}

// PayloadType implements Payload.
func (u *Unknown) PayloadType() PayloadType { return u.PType }

func (u *Unknown) appendBody(b []byte) []byte { return append(b, u.Data...) }
