package wire

import (
	"encoding/binary"
	"fmt"
)

// attrFormatTV is the Attribute Format bit: set for the basic (TV) form.
const attrFormatTV = 0x8000

// Attribute is an ISAKMP data attribute (RFC 2408 section 3.3) as found in
// Transform payloads and in the RESPONDER-LIFETIME notification. Basic
// attributes (AF = 1, "TV") carry a 16-bit Value; variable ones (AF = 0,
// "TLV") carry Data. The form is kept as received so that re-encoding is
// exact.
type Attribute struct {
	// Type is the attribute type without the AF bit (0..0x7fff); its
	// meaning depends on where the attribute appears (IKEAttr... in a
	// phase 1 transform, IPsecAttr... in a phase 2 one).
	Type  uint16
	Basic bool
	Value uint16 // basic form only
	Data  []byte // variable form only
}

// BasicAttr returns a basic (TV) attribute.
func BasicAttr(t, v uint16) Attribute { return Attribute{Type: t, Basic: true, Value: v} }

// VarAttr returns a variable-length (TLV) attribute.
func VarAttr(t uint16, data []byte) Attribute { return Attribute{Type: t, Data: data} }

// UintAttr returns an attribute holding v in the shortest usual form: basic
// when v fits in 16 bits, otherwise variable with 4 (or, above 2^32-1, 8)
// big-endian bytes. This is how life durations are sent.
func UintAttr(t uint16, v uint64) Attribute {
	switch {
	case v <= 0xffff:
		return BasicAttr(t, uint16(v))
	case v <= 0xffffffff:
		return VarAttr(t, binary.BigEndian.AppendUint32(nil, uint32(v)))
	}
	return VarAttr(t, binary.BigEndian.AppendUint64(nil, v))
}

// Uint returns the attribute's value as an integer, from either form. A
// variable value may be longer than 8 bytes only through leading zeros;
// ok is false when it does not fit in 64 bits or is empty.
func (a Attribute) Uint() (v uint64, ok bool) {
	if a.Basic {
		return uint64(a.Value), true
	}
	if len(a.Data) == 0 {
		return 0, false
	}
	for _, c := range a.Data {
		if v>>56 != 0 {
			return 0, false
		}
		v = v<<8 | uint64(c)
	}
	return v, true
}

// String shows type and value; attributes carry no secrets.
func (a Attribute) String() string {
	if a.Basic {
		return fmt.Sprintf("attr(%d)=%d", a.Type, a.Value)
	}
	return fmt.Sprintf("attr(%d)=%x", a.Type, a.Data)
}

// FindAttr returns the first attribute of type t.
func FindAttr(attrs []Attribute, t uint16) (Attribute, bool) {
	for _, a := range attrs {
		if a.Type == t {
			return a, true
		}
	}
	return Attribute{}, false
}

// AppendAttributes appends attrs in wire form. A Type above 0x7fff or a
// variable value longer than 65535 bytes panics.
func AppendAttributes(b []byte, attrs []Attribute) []byte {
	for _, a := range attrs {
		if a.Type&attrFormatTV != 0 {
			panic(fmt.Sprintf("ikev1 wire: attribute type %#x has the AF bit set", a.Type))
		}
		if a.Basic {
			b = appendU16(b, attrFormatTV|a.Type)
			b = appendU16(b, a.Value)
			continue
		}
		if len(a.Data) > 0xffff {
			panic(fmt.Sprintf("ikev1 wire: attribute %d value of %d bytes", a.Type, len(a.Data)))
		}
		b = appendU16(b, a.Type)
		b = appendU16(b, uint16(len(a.Data)))
		b = append(b, a.Data...)
	}
	return b
}

// ParseAttributes decodes a sequence of data attributes that must fill b
// exactly. The result does not alias b.
func ParseAttributes(b []byte) ([]Attribute, error) {
	return parseAttributes(append([]byte(nil), b...))
}

// parseAttributes is ParseAttributes aliasing b.
func parseAttributes(b []byte) ([]Attribute, error) {
	var attrs []Attribute
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, truncated(fmt.Sprintf("data attribute at offset %d", off))
		}
		t := be16(b[off:])
		v := be16(b[off+2:])
		off += 4
		if t&attrFormatTV != 0 {
			attrs = append(attrs, BasicAttr(t&^attrFormatTV, v))
			continue
		}
		if int(v) > len(b)-off {
			return nil, truncated(fmt.Sprintf("data attribute %d of %d bytes", t, v))
		}
		attrs = append(attrs, VarAttr(t, sub(b, off, off+int(v))))
		off += int(v)
	}
	return attrs, nil
}
