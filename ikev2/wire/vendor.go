package wire

// VendorID is the Vendor ID payload.
type VendorID struct {
	Data []byte
}

// PayloadType implements Payload.
func (*VendorID) PayloadType() PayloadType { return PayloadVendorID }

func (v *VendorID) appendBody(b []byte) []byte { return append(b, v.Data...) }
