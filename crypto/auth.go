package crypto

// keyPad is the constant of RFC 7296 section 2.15 for shared-key AUTH.
const keyPad = "Key Pad for IKEv2"

// PSKAuth computes the AUTH payload data for shared-key authentication
// (RFC 7296 section 2.15): prf(prf(psk, "Key Pad for IKEv2"), signedOctets).
// Compare a received value against it with crypto/subtle.ConstantTimeCompare
// or hmac.Equal.
func PSKAuth(prf PRF, psk, signedOctets []byte) []byte {
	return prf.Compute(prf.Compute(psk, []byte(keyPad)), signedOctets)
}

// SignedOctets builds the octets covered by AUTH (RFC 7296 section 2.15):
//
//	message | peerNonce | prf(SK_p, idPayloadBody)
//
// where message is the signer's complete IKE_SA_INIT message, peerNonce
// the other side's Nonce data, skp the signer's SK_pi or SK_pr, and
// idPayloadBody the signer's ID payload without its generic header (ID
// type, three reserved octets and the identification data).
func SignedOctets(prf PRF, message, peerNonce, skp, idPayloadBody []byte) []byte {
	return concat(message, peerNonce, prf.Compute(skp, idPayloadBody))
}
