package wire

// transformHeaderLen is the generic header plus Transform #, Transform-ID
// and two reserved bytes.
const transformHeaderLen = 8

// Transform is a Transform payload inside a Proposal (RFC 2408 section 3.6).
type Transform struct {
	Number uint8
	// ID is TransformKeyIKE in phase 1, a TransformESP... value in phase 2.
	ID         uint8
	Attributes []Attribute
}

// Attr returns the first attribute of type t.
func (t *Transform) Attr(typ uint16) (Attribute, bool) { return FindAttr(t.Attributes, typ) }

// append encodes the transform with its generic header.
func (t *Transform) append(b []byte, last bool) []byte {
	start := len(b)
	b = append(b, byte(nextTransform(last)), 0, 0, 0, t.Number, t.ID, 0, 0)
	b = AppendAttributes(b, t.Attributes)
	putLen16(b, start+2, len(b)-start, PayloadTransform)
	return b
}

// parseTransform decodes a transform b (generic header included).
func parseTransform(b []byte) (Transform, error) {
	if len(b) < transformHeaderLen {
		return Transform{}, malformed("transform length %d", len(b))
	}
	attrs, err := parseAttributes(b[transformHeaderLen:])
	if err != nil {
		return Transform{}, err
	}
	return Transform{Number: b[4], ID: b[5], Attributes: attrs}, nil
}
