package crypto

// keyPad is the constant of RFC 7296 section 2.15 for shared-key AUTH. A
// variable, not a constant, so that hashing it converts nothing: hashes only
// read it.
var keyPad = []byte("Key Pad for IKEv2")

// PSKAuth computes the AUTH payload data for shared-key authentication
// (RFC 7296 section 2.15): prf(prf(psk, "Key Pad for IKEv2"), signedOctets).
// Compare a received value against it with crypto/subtle.ConstantTimeCompare
// or hmac.Equal.
func PSKAuth(prf PRF, psk, signedOctets []byte) []byte {
	m := prf.mac(psk)
	keyWithPad(m)
	m.write(signedOctets)
	out := m.sum(make([]byte, 0, prf.Size()))
	m.release()
	return out
}

// PSKAuthFor returns PSKAuth(prf, psk, SignedOctets(prf, message, peerNonce,
// skp, idPayloadBody)) without building the signed octets, a copy of a
// whole IKE_SA_INIT message.
func PSKAuthFor(prf PRF, psk, message, peerNonce, skp, idPayloadBody []byte) []byte {
	m := prf.mac(skp)
	m.write(idPayloadBody)
	macedID := m.sum(m.aux[:0])
	m.setKey(psk)
	keyWithPad(m)
	m.write(message)
	m.write(peerNonce)
	m.write(macedID)
	out := m.sum(make([]byte, 0, prf.Size()))
	m.release()
	return out
}

// keyWithPad rekeys m, keyed with the PSK, with prf(PSK, "Key Pad for
// IKEv2"), ready for the signed octets.
//
// That inner prf depends only on the PSK and the PRF and could be kept per
// tunnel, but it costs two hash blocks and no allocation here, while a cache
// would hold a PSK-equivalent secret whose lifetime follows the tunnel
// configuration (reloads, removals) to be wiped in time: not worth it.
func keyWithPad(m *mac) {
	m.write(keyPad)
	m.setKey(m.sum(m.key[:0]))
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
