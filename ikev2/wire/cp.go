package wire

import "fmt"

// Configuration payload types (RFC 7296 section 3.15).
const (
	CfgRequest uint8 = 1
	CfgReply   uint8 = 2
	CfgSet     uint8 = 3
	CfgAck     uint8 = 4
)

// Configuration attribute types (RFC 7296 section 3.15.1).
const (
	CfgInternalIP4Address  uint16 = 1
	CfgInternalIP4Netmask  uint16 = 2
	CfgInternalIP4DNS      uint16 = 3
	CfgInternalIP4NBNS     uint16 = 4
	CfgInternalIP4DHCP     uint16 = 6
	CfgApplicationVersion  uint16 = 7
	CfgInternalIP6Address  uint16 = 8
	CfgInternalIP6DNS      uint16 = 10
	CfgInternalIP6DHCP     uint16 = 12
	CfgInternalIP4Subnet   uint16 = 13
	CfgSupportedAttributes uint16 = 14
	CfgInternalIP6Subnet   uint16 = 15
)

// CP is the Configuration payload.
type CP struct {
	CfgType    uint8
	Attributes []CPAttribute
}

// CPAttribute is one configuration attribute. Type is 15 bits wide; the
// reserved top bit is cleared on parse and never written.
type CPAttribute struct {
	Type  uint16
	Value []byte // empty in a request for "any value"
}

// PayloadType implements Payload.
func (*CP) PayloadType() PayloadType { return PayloadCP }

func (c *CP) appendBody(b []byte) []byte {
	b = append(b, c.CfgType, 0, 0, 0)
	for _, a := range c.Attributes {
		if len(a.Value) > 0xffff {
			panic(fmt.Sprintf("wire: configuration attribute %d too long", a.Type))
		}
		b = appendU16(b, a.Type&0x7fff)
		b = appendU16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b
}

func parseCP(b []byte) (*CP, error) {
	if len(b) < 4 {
		return nil, truncated("CP header")
	}
	c := &CP{CfgType: b[0]}
	b = b[4:]
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, truncated("configuration attribute header")
		}
		l := int(be16(b[2:]))
		if 4+l > len(b) {
			return nil, truncated("configuration attribute value")
		}
		c.Attributes = append(c.Attributes, CPAttribute{Type: be16(b) & 0x7fff, Value: sub(b, 4, 4+l)})
		b = b[4+l:]
	}
	return c, nil
}
