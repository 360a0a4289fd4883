package wire

import (
	"encoding/binary"
	"fmt"
)

// notificationHeaderLen is DOI (4) + Protocol-ID + SPI Size + Notify
// Message Type (2).
const notificationHeaderLen = 8

// Notification is the Notification payload (RFC 2408 section 3.14).
type Notification struct {
	DOI      uint32 // DOIIPsec in everything Vigil sends
	Protocol ProtocolID
	// SPI is the SPI the notification is about: 4 bytes for ESP/AH, the
	// 16 cookie bytes CKY-I | CKY-R for ISAKMP (RFC 3706), or empty.
	SPI  []byte
	Type NotifyType
	Data []byte
}

// PayloadType implements Payload.
func (*Notification) PayloadType() PayloadType { return PayloadNotification }

func (n *Notification) appendBody(b []byte) []byte {
	if len(n.SPI) > 0xff {
		panic("ikev1 wire: notification SPI longer than 255 bytes")
	}
	b = appendU32(b, n.DOI)
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = appendU16(b, uint16(n.Type))
	b = append(b, n.SPI...)
	return append(b, n.Data...)
}

func parseNotification(b []byte) (*Notification, error) {
	if len(b) < notificationHeaderLen {
		return nil, truncated("Notification header")
	}
	spiLen := int(b[5])
	if spiLen > len(b)-notificationHeaderLen {
		return nil, truncated(fmt.Sprintf("Notification SPI of %d bytes", spiLen))
	}
	return &Notification{
		DOI:      be32(b),
		Protocol: ProtocolID(b[4]),
		Type:     NotifyType(be16(b[6:])),
		SPI:      sub(b, notificationHeaderLen, notificationHeaderLen+spiLen),
		Data:     sub(b, notificationHeaderLen+spiLen, len(b)),
	}, nil
}

// CookieSPI returns the 16-byte ISAKMP SPI CKY-I | CKY-R used by
// ISAKMP-level notifications and deletes.
func CookieSPI(cookieI, cookieR uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), cookieI)
	return binary.BigEndian.AppendUint64(b, cookieR)
}

// NewDPD returns an RFC 3706 R-U-THERE or R-U-THERE-ACK notification:
// IPsec DOI, protocol ISAKMP, SPI CKY-I | CKY-R, and the 32-bit sequence
// number as data.
func NewDPD(t NotifyType, cookieI, cookieR uint64, seq uint32) *Notification {
	return &Notification{
		DOI:      DOIIPsec,
		Protocol: ProtoISAKMP,
		SPI:      CookieSPI(cookieI, cookieR),
		Type:     t,
		Data:     binary.BigEndian.AppendUint32(nil, seq),
	}
}

// DPDSequence returns the sequence number of an R-U-THERE or R-U-THERE-ACK
// notification; ok is false for other types or when the data is not
// exactly 4 bytes.
func (n *Notification) DPDSequence() (seq uint32, ok bool) {
	if (n.Type != NotifyRUThere && n.Type != NotifyRUThereAck) || len(n.Data) != 4 {
		return 0, false
	}
	return be32(n.Data), true
}

// Cookies returns the cookies carried in a 16-byte ISAKMP SPI.
func (n *Notification) Cookies() (cookieI, cookieR uint64, ok bool) {
	if len(n.SPI) != 16 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(n.SPI), binary.BigEndian.Uint64(n.SPI[8:]), true
}
