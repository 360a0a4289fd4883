package v1crypto

import (
	"encoding/binary"
	"net/netip"
)

// NATDHash returns the NAT-D payload data for one address (RFC 3947
// section 3.2): HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash,
// the address as 4 (IPv4, including IPv4-mapped) or 16 bytes and the port
// in network byte order.
func NATDHash(h HashAlg, cookieI, cookieR uint64, ap netip.AddrPort) []byte {
	ck := cookies(cookieI, cookieR)
	a := ap.Addr().Unmap()
	var port [2]byte
	binary.BigEndian.PutUint16(port[:], ap.Port())
	return h.Sum(ck[:], a.AsSlice(), port[:])
}
