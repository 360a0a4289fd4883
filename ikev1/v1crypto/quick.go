package v1crypto

import "encoding/binary"

func midBytes(messageID uint32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), messageID)
}

// QuickHash1 returns Quick Mode HASH(1) (RFC 2409 section 5.5):
// prf(SKEYID_a, M-ID | rest), where rest is every payload after the HASH
// payload, generic headers included (wire.Message.After).
func QuickHash1(h HashAlg, skeyidA []byte, messageID uint32, rest []byte) []byte {
	return h.PRF(skeyidA, midBytes(messageID), rest)
}

// QuickHash2 returns Quick Mode HASH(2): prf(SKEYID_a, M-ID | Ni_b | rest),
// with Ni_b the body of the initiator's Nonce payload.
func QuickHash2(h HashAlg, skeyidA []byte, messageID uint32, ni, rest []byte) []byte {
	return h.PRF(skeyidA, midBytes(messageID), ni, rest)
}

// QuickHash3 returns Quick Mode HASH(3):
// prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b), with a single zero octet first.
func QuickHash3(h HashAlg, skeyidA []byte, messageID uint32, ni, nr []byte) []byte {
	return h.PRF(skeyidA, []byte{0}, midBytes(messageID), ni, nr)
}

// InfoHash returns HASH(1) of an Informational exchange (RFC 2409 section
// 5.7): prf(SKEYID_a, M-ID | N/D), where payloads is the Notification or
// Delete payload(s) following the HASH payload, generic headers included.
func InfoHash(h HashAlg, skeyidA []byte, messageID uint32, payloads []byte) []byte {
	return h.PRF(skeyidA, midBytes(messageID), payloads)
}
