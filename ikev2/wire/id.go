package wire

import "fmt"

// IDType is the identification type of an IDi/IDr payload.
type IDType uint8

// Identification types (RFC 7296 section 3.5).
const (
	IDIPv4      IDType = 1
	IDFQDN      IDType = 2
	IDRFC822    IDType = 3
	IDIPv6      IDType = 5
	IDDERASN1DN IDType = 9
	IDDERASN1GN IDType = 10
	IDKeyID     IDType = 11
)

// String returns the RFC name, or "ID(n)" for unknown values.
func (t IDType) String() string {
	switch t {
	case IDIPv4:
		return "ID_IPV4_ADDR"
	case IDFQDN:
		return "ID_FQDN"
	case IDRFC822:
		return "ID_RFC822_ADDR"
	case IDIPv6:
		return "ID_IPV6_ADDR"
	case IDDERASN1DN:
		return "ID_DER_ASN1_DN"
	case IDDERASN1GN:
		return "ID_DER_ASN1_GN"
	case IDKeyID:
		return "ID_KEY_ID"
	}
	return fmt.Sprintf("ID(%d)", uint8(t))
}

// ID is an Identification payload: IDi when Responder is false, IDr when true.
type ID struct {
	Responder bool
	IDType    IDType
	Data      []byte
}

// PayloadType implements Payload.
func (id *ID) PayloadType() PayloadType {
	if id.Responder {
		return PayloadIDr
	}
	return PayloadIDi
}

func (id *ID) appendBody(b []byte) []byte {
	b = append(b, byte(id.IDType), 0, 0, 0)
	return append(b, id.Data...)
}

// RestOfPayload returns the payload body after the generic header (ID Type,
// three reserved bytes and the data): the RestOfInitIDPayload /
// RestOfRespIDPayload that RFC 7296 section 2.15 feeds into the AUTH MAC.
func (id *ID) RestOfPayload() []byte {
	return id.appendBody(make([]byte, 0, 4+len(id.Data)))
}

func parseID(responder bool, b []byte) (*ID, error) {
	if len(b) < 4 {
		return nil, truncated("ID header")
	}
	return &ID{Responder: responder, IDType: IDType(b[0]), Data: sub(b, 4, len(b))}, nil
}
