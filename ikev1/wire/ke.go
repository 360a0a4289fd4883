package wire

// KE is the Key Exchange payload (RFC 2408 section 3.7): the Diffie-Hellman
// public value (g^xi or g^xr), whose length the group determines.
type KE struct {
	Data []byte
}

// PayloadType implements Payload.
func (*KE) PayloadType() PayloadType { return PayloadKE }

func (k *KE) appendBody(b []byte) []byte { return append(b, k.Data...) }
