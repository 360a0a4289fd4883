package wire

// Notify is the Notify payload.
type Notify struct {
	Protocol ProtocolID // 0 when no SPI applies
	SPI      []byte     // SPI Size is len(SPI)
	Type     NotifyType
	Data     []byte
}

// PayloadType implements Payload. (The notify message type is the field
// Type; this is why the Payload method is not called Type.)
func (*Notify) PayloadType() PayloadType { return PayloadNotify }

func (n *Notify) appendBody(b []byte) []byte {
	if len(n.SPI) > 0xff {
		panic("wire: notify SPI longer than 255 bytes")
	}
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = appendU16(b, uint16(n.Type))
	b = append(b, n.SPI...)
	return append(b, n.Data...)
}

func parseNotify(b []byte) (*Notify, error) {
	if len(b) < 4 {
		return nil, truncated("Notify header")
	}
	spiSize := int(b[1])
	if 4+spiSize > len(b) {
		return nil, truncated("Notify SPI")
	}
	return &Notify{
		Protocol: ProtocolID(b[0]),
		Type:     NotifyType(be16(b[2:])),
		SPI:      sub(b, 4, 4+spiSize),
		Data:     sub(b, 4+spiSize, len(b)),
	}, nil
}
