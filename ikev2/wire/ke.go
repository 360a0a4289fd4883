package wire

// KE is the Key Exchange payload.
type KE struct {
	Group uint16 // Diffie-Hellman group (transform type 4 ID)
	Data  []byte // public value
}

// PayloadType implements Payload.
func (*KE) PayloadType() PayloadType { return PayloadKE }

func (k *KE) appendBody(b []byte) []byte {
	b = appendU16(b, k.Group)
	b = append(b, 0, 0)
	return append(b, k.Data...)
}

func parseKE(b []byte) (*KE, error) {
	if len(b) < 4 {
		return nil, truncated("KE header")
	}
	return &KE{Group: be16(b), Data: sub(b, 4, len(b))}, nil
}
