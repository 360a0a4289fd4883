package wire

import (
	"bytes"
	"encoding/hex"
)

// VendorID is the Vendor ID payload (RFC 2408 section 3.16). IKEv1 uses it
// to announce extensions such as DPD and NAT traversal.
type VendorID struct {
	Data []byte
}

// PayloadType implements Payload.
func (*VendorID) PayloadType() PayloadType { return PayloadVendorID }

func (v *VendorID) appendBody(b []byte) []byte { return append(b, v.Data...) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Known vendor IDs. Do not modify them.
var (
	// VendorIDDPD announces Dead Peer Detection, RFC 3706 section 5.2
	// (major version 1, minor 0 in the last two bytes).
	VendorIDDPD = mustHex("afcad71368a1f1c96b8696fc77570100")
	// VendorIDNATTRFC3947 announces RFC 3947 NAT traversal: MD5("RFC 3947").
	VendorIDNATTRFC3947 = mustHex("4a131c81070358455c5728f20e95452f")
	// VendorIDNATTDraft03 is MD5("draft-ietf-ipsec-nat-t-ike-03").
	VendorIDNATTDraft03 = mustHex("7d9419a65310ca6f2c179d9215529d56")
	// VendorIDNATTDraft02 is MD5("draft-ietf-ipsec-nat-t-ike-02").
	VendorIDNATTDraft02 = mustHex("cd60464335df21f87cfdb2fc68b6a448")
	// VendorIDNATTDraft02N is MD5("draft-ietf-ipsec-nat-t-ike-02\n"), a
	// widespread misspelling of the draft-02 ID that peers still send.
	VendorIDNATTDraft02N = mustHex("90cb80913ebb696e086381b5ec427b1f")
	// VendorIDXAuth is the first 8 bytes of
	// MD5("draft-ietf-ipsra-isakmp-xauth-06.txt").
	VendorIDXAuth = mustHex("09002689dfd6b712")
	// VendorIDStrongSwan is MD5("strongSwan").
	VendorIDStrongSwan = mustHex("882fe56d6fd20dbc2251613b2ebe5beb")
	// VendorIDFragmentation is the 16-byte prefix of the proprietary IKEv1
	// fragmentation vendor ID, MD5("FRAGMENTATION"); senders append 4
	// capability bytes (0x80000000: Main/Aggressive Mode fragments).
	VendorIDFragmentation = mustHex("4048b7d56ebce88525e7de7f00d6c2d3")
)

var knownVendorIDs = []struct {
	id   []byte
	name string
}{
	{VendorIDDPD, "DPD"},
	{VendorIDNATTRFC3947, "NAT-T (RFC 3947)"},
	{VendorIDNATTDraft03, "draft-ietf-ipsec-nat-t-ike-03"},
	{VendorIDNATTDraft02, "draft-ietf-ipsec-nat-t-ike-02"},
	{VendorIDNATTDraft02N, "draft-ietf-ipsec-nat-t-ike-02\\n"},
	{VendorIDXAuth, "XAuth"},
	{VendorIDStrongSwan, "strongSwan"},
}

// Is reports whether v is exactly the vendor ID id.
func (v *VendorID) Is(id []byte) bool { return bytes.Equal(v.Data, id) }

// Name returns a description of a known vendor ID ("DPD", "NAT-T (RFC
// 3947)", "FRAGMENTATION", ...) or "" for unknown ones.
func (v *VendorID) Name() string {
	for _, k := range knownVendorIDs {
		if v.Is(k.id) {
			return k.name
		}
	}
	if (len(v.Data) == 16 || len(v.Data) == 20) && bytes.HasPrefix(v.Data, VendorIDFragmentation) {
		return "FRAGMENTATION"
	}
	return ""
}
