package v1crypto

import "encoding/binary"

// SKEYIDPSK returns SKEYID for pre-shared key authentication (RFC 2409
// section 5): prf(pre-shared-key, Ni_b | Nr_b).
func SKEYIDPSK(h HashAlg, psk, ni, nr []byte) []byte {
	return h.PRF(psk, ni, nr)
}

// DeriveSKEYIDs returns the three keys derived from SKEYID (RFC 2409
// section 5):
//
//	SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//	SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//	SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
func DeriveSKEYIDs(h HashAlg, skeyid, gxy []byte, cookieI, cookieR uint64) (d, a, e []byte) {
	ck := cookies(cookieI, cookieR)
	d = h.PRF(skeyid, gxy, ck[:], []byte{0})
	a = h.PRF(skeyid, d, gxy, ck[:], []byte{1})
	e = h.PRF(skeyid, a, gxy, ck[:], []byte{2})
	return d, a, e
}

// cookies returns CKY-I | CKY-R in network byte order.
func cookies(cookieI, cookieR uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], cookieI)
	binary.BigEndian.PutUint64(b[8:], cookieR)
	return b
}

// ExpandKey returns the n-byte encryption key derived from SKEYID_e (RFC
// 2409 section 5.3 and Appendix B): the first n bytes of SKEYID_e when it
// is long enough, otherwise the first n bytes of K1 | K2 | ... with
// K1 = prf(SKEYID_e, 0) (a single zero octet) and Kn = prf(SKEYID_e, Kn-1).
// It returns nil for n <= 0.
func ExpandKey(h HashAlg, skeyidE []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	if len(skeyidE) >= n {
		return append([]byte(nil), skeyidE[:n]...)
	}
	out := make([]byte, 0, n+h.Size())
	k := []byte{0}
	for len(out) < n {
		k = h.PRF(skeyidE, k)
		out = append(out, k...)
	}
	return out[:n:n]
}
