package wire

// Authentication methods (RFC 7296 section 3.8, RFC 7427).
const (
	AuthRSASignature     uint8 = 1
	AuthSharedKey        uint8 = 2
	AuthDSSSignature     uint8 = 3
	AuthDigitalSignature uint8 = 14
)

// Auth is the Authentication payload.
type Auth struct {
	Method uint8
	Data   []byte
}

// PayloadType implements Payload.
func (*Auth) PayloadType() PayloadType { return PayloadAUTH }

func (a *Auth) appendBody(b []byte) []byte {
	b = append(b, a.Method, 0, 0, 0)
	return append(b, a.Data...)
}

func parseAuth(b []byte) (*Auth, error) {
	if len(b) < 4 {
		return nil, truncated("AUTH header")
	}
	return &Auth{Method: b[0], Data: sub(b, 4, len(b))}, nil
}
