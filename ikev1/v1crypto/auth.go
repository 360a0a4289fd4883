package v1crypto

// HashI returns HASH_I for Main Mode (RFC 2409 section 5):
//
//	prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//
// saiB is the body of the initiator's SA payload, idiiB that of IDii.
func HashI(h HashAlg, skeyid, gxi, gxr []byte, cookieI, cookieR uint64, saiB, idiiB []byte) []byte {
	ck := cookies(cookieI, cookieR)
	return h.PRF(skeyid, gxi, gxr, ck[:], saiB, idiiB)
}

// HashR returns HASH_R for Main Mode (RFC 2409 section 5):
//
//	prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//
// The arguments are in initiator/responder order as for HashI (the swap
// is done here); saiB is still the body of the initiator's SA payload.
func HashR(h HashAlg, skeyid, gxi, gxr []byte, cookieI, cookieR uint64, saiB, idirB []byte) []byte {
	ck := cookies(cookieR, cookieI)
	return h.PRF(skeyid, gxr, gxi, ck[:], saiB, idirB)
}
