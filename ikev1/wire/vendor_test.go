package wire

import (
	"bytes"
	"crypto/md5"
	"testing"
)

func TestVendorIDs(t *testing.T) {
	md := func(s string) []byte { h := md5.Sum([]byte(s)); return h[:] }
	for name, tc := range map[string]struct{ got, want []byte }{
		"RFC 3947":      {VendorIDNATTRFC3947, md("RFC 3947")},
		"draft-03":      {VendorIDNATTDraft03, md("draft-ietf-ipsec-nat-t-ike-03")},
		"draft-02":      {VendorIDNATTDraft02, md("draft-ietf-ipsec-nat-t-ike-02")},
		"draft-02n":     {VendorIDNATTDraft02N, md("draft-ietf-ipsec-nat-t-ike-02\n")},
		"XAuth":         {VendorIDXAuth, md("draft-ietf-ipsra-isakmp-xauth-06.txt")[:8]},
		"strongSwan":    {VendorIDStrongSwan, md("strongSwan")},
		"FRAGMENTATION": {VendorIDFragmentation, md("FRAGMENTATION")},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: %x, want %x", name, tc.got, tc.want)
		}
	}
	if len(VendorIDDPD) != 16 || VendorIDDPD[14] != 1 || VendorIDDPD[15] != 0 {
		t.Errorf("DPD vendor ID %x", VendorIDDPD)
	}
	for _, tc := range []struct {
		data []byte
		name string
	}{
		{VendorIDDPD, "DPD"},
		{VendorIDNATTRFC3947, "NAT-T (RFC 3947)"},
		{append(bytes.Clone(VendorIDFragmentation), 0x80, 0, 0, 0), "FRAGMENTATION"},
		{VendorIDFragmentation, "FRAGMENTATION"},
		{VendorIDDPD[:15], ""},
		{[]byte("unknown"), ""},
	} {
		if got := (&VendorID{Data: tc.data}).Name(); got != tc.name {
			t.Errorf("Name(%x) = %q, want %q", tc.data, got, tc.name)
		}
	}
	m := sampleMM1()
	if !m.HasVendorID(VendorIDDPD) || m.HasVendorID(VendorIDNATTDraft02) {
		t.Error("HasVendorID")
	}
}
