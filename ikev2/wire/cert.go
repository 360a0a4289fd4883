package wire

// Certificate encodings (RFC 7296 section 3.6).
const (
	CertX509Signature uint8 = 4
	CertRawRSAKey     uint8 = 11
	CertHashURLX509   uint8 = 12
	CertRawPublicKey  uint8 = 15
)

// Cert is the Certificate payload.
type Cert struct {
	Encoding uint8
	Data     []byte
}

// PayloadType implements Payload.
func (*Cert) PayloadType() PayloadType { return PayloadCERT }

func (c *Cert) appendBody(b []byte) []byte {
	return append(append(b, c.Encoding), c.Data...)
}

func parseCert(b []byte) (*Cert, error) {
	if len(b) < 1 {
		return nil, truncated("CERT encoding")
	}
	return &Cert{Encoding: b[0], Data: sub(b, 1, len(b))}, nil
}

// CertReq is the Certificate Request payload. For X.509 encodings Data is a
// concatenation of 20-byte SHA-1 hashes of trusted CA public keys.
type CertReq struct {
	Encoding uint8
	Data     []byte
}

// PayloadType implements Payload.
func (*CertReq) PayloadType() PayloadType { return PayloadCERTREQ }

func (c *CertReq) appendBody(b []byte) []byte {
	return append(append(b, c.Encoding), c.Data...)
}

func parseCertReq(b []byte) (*CertReq, error) {
	if len(b) < 1 {
		return nil, truncated("CERTREQ encoding")
	}
	return &CertReq{Encoding: b[0], Data: sub(b, 1, len(b))}, nil
}
