package wire

// EAP codes (RFC 3748).
const (
	EAPRequest  uint8 = 1
	EAPResponse uint8 = 2
	EAPSuccess  uint8 = 3
	EAPFailure  uint8 = 4
)

// EAP is the Extensible Authentication payload holding one EAP message.
// Success and Failure messages have no type or data; for them EAPType and
// Data are ignored by Append and zero after parsing.
type EAP struct {
	Code       uint8
	Identifier uint8
	EAPType    uint8
	Data       []byte
}

// PayloadType implements Payload.
func (*EAP) PayloadType() PayloadType { return PayloadEAP }

func (e *EAP) hasType() bool { return e.Code != EAPSuccess && e.Code != EAPFailure }

func (e *EAP) appendBody(b []byte) []byte {
	start := len(b)
	b = append(b, e.Code, e.Identifier, 0, 0)
	if e.hasType() {
		b = append(b, e.EAPType)
		b = append(b, e.Data...)
	}
	putLen16(b, start+2, len(b)-start, PayloadEAP)
	return b
}

func parseEAP(b []byte) (*EAP, error) {
	if len(b) < 4 {
		return nil, truncated("EAP header")
	}
	e := &EAP{Code: b[0], Identifier: b[1]}
	if l := int(be16(b[2:])); l != len(b) {
		return nil, malformed("EAP length %d in %d-byte payload", l, len(b))
	}
	if !e.hasType() {
		if len(b) != 4 {
			return nil, malformed("EAP code %d with data", e.Code)
		}
		return e, nil
	}
	if len(b) < 5 {
		return nil, truncated("EAP type")
	}
	e.EAPType = b[4]
	e.Data = sub(b, 5, len(b))
	return e, nil
}
