package wire

import "fmt"

// Delete is the Delete payload. The SPI size is derived from Protocol: IKE
// deletes carry no SPIs (the IKE SA is named by the header), ESP and AH
// deletes carry 4-byte SPIs. Append panics on an ESP/AH SPI that is not 4
// bytes long and ignores SPIs for IKE.
type Delete struct {
	Protocol ProtocolID
	SPIs     [][]byte
}

// PayloadType implements Payload.
func (*Delete) PayloadType() PayloadType { return PayloadDelete }

// deleteSPISize returns the SPI size mandated for p, or -1 if p is not a
// protocol that can be deleted.
func deleteSPISize(p ProtocolID) int {
	switch p {
	case ProtocolIKE:
		return 0
	case ProtocolESP, ProtocolAH:
		return 4
	}
	return -1
}

func (d *Delete) appendBody(b []byte) []byte {
	size := deleteSPISize(d.Protocol)
	if size < 0 {
		panic(fmt.Sprintf("wire: delete for protocol %v", d.Protocol))
	}
	spis := d.SPIs
	if size == 0 {
		spis = nil
	}
	if len(spis) > 0xffff {
		panic("wire: too many SPIs in delete")
	}
	b = append(b, byte(d.Protocol), byte(size))
	b = appendU16(b, uint16(len(spis)))
	for _, spi := range spis {
		if len(spi) != size {
			panic(fmt.Sprintf("wire: %v delete with %d-byte SPI", d.Protocol, len(spi)))
		}
		b = append(b, spi...)
	}
	return b
}

func parseDelete(b []byte) (*Delete, error) {
	if len(b) < 4 {
		return nil, truncated("Delete header")
	}
	d := &Delete{Protocol: ProtocolID(b[0])}
	spiSize := int(b[1])
	n := int(be16(b[2:]))
	want := deleteSPISize(d.Protocol)
	if want < 0 {
		return nil, malformed("delete for protocol %v", d.Protocol)
	}
	if spiSize != want {
		return nil, malformed("%v delete with SPI size %d", d.Protocol, spiSize)
	}
	if want == 0 && n != 0 {
		return nil, malformed("IKE delete with %d SPIs", n)
	}
	if len(b)-4 != n*spiSize {
		return nil, malformed("delete with %d SPIs of %d bytes in %d bytes", n, spiSize, len(b)-4)
	}
	if n > 0 {
		d.SPIs = make([][]byte, n)
		for i := range d.SPIs {
			off := 4 + i*spiSize
			d.SPIs[i] = b[off : off+spiSize : off+spiSize]
		}
	}
	return d, nil
}
