package crypto

import (
	"errors"
	"strconv"
)

// IANA IKEv2 Transform Type 1 (encryption algorithm) IDs.
const (
	EncrAESCBC           uint16 = 12
	EncrAESGCM16         uint16 = 20
	EncrChaCha20Poly1305 uint16 = 28
)

// IANA IKEv2 Transform Type 2 (pseudorandom function) IDs.
const (
	PRFHMACSHA256 uint16 = 5
	PRFHMACSHA384 uint16 = 6
	PRFHMACSHA512 uint16 = 7
)

// IANA IKEv2 Transform Type 3 (integrity algorithm) IDs.
const (
	IntegNone          uint16 = 0
	IntegHMACSHA256128 uint16 = 12
	IntegHMACSHA384192 uint16 = 13
	IntegHMACSHA512256 uint16 = 14
)

// IANA IKEv2 Transform Type 4 (Diffie-Hellman group) IDs.
const (
	DHNone       uint16 = 0
	DHMODP2048   uint16 = 14
	DHECP256     uint16 = 19
	DHECP384     uint16 = 20
	DHCurve25519 uint16 = 31
)

// IANA IKEv2 Transform Type 5 (extended sequence numbers) IDs.
const (
	ESNNo  uint16 = 0
	ESNYes uint16 = 1
)

// aeadEncr reports whether an encryption ID is a combined-mode (AEAD) cipher.
func aeadEncr(id uint16) bool {
	return id == EncrAESGCM16 || id == EncrChaCha20Poly1305
}

// validEncr reports whether (id, keyBits) is a supported encryption
// algorithm. ChaCha20-Poly1305 has a fixed 256-bit key.
func validEncr(id uint16, keyBits int) bool {
	switch id {
	case EncrAESCBC, EncrAESGCM16:
		return keyBits == 128 || keyBits == 192 || keyBits == 256
	case EncrChaCha20Poly1305:
		return keyBits == 256
	}
	return false
}

// validPRF reports whether id is a supported PRF.
func validPRF(id uint16) bool {
	return id == PRFHMACSHA256 || id == PRFHMACSHA384 || id == PRFHMACSHA512
}

// validInteg reports whether id is a supported (non-NONE) integrity algorithm.
func validInteg(id uint16) bool {
	return id == IntegHMACSHA256128 || id == IntegHMACSHA384192 || id == IntegHMACSHA512256
}

// validDH reports whether id is a supported (non-NONE) Diffie-Hellman group.
func validDH(id uint16) bool {
	return id == DHMODP2048 || id == DHECP256 || id == DHECP384 || id == DHCurve25519
}

// encrName returns the strongSwan keyword of an encryption algorithm.
func encrName(id uint16, keyBits int) string {
	kb := strconv.Itoa(keyBits)
	switch id {
	case EncrAESCBC:
		return "aes" + kb
	case EncrAESGCM16:
		return "aes" + kb + "gcm16"
	case EncrChaCha20Poly1305:
		return "chacha20poly1305"
	}
	return "encr" + strconv.Itoa(int(id)) + "-" + kb
}

// prfName returns the strongSwan keyword of a PRF.
func prfName(id uint16) string {
	switch id {
	case PRFHMACSHA256:
		return "prfsha256"
	case PRFHMACSHA384:
		return "prfsha384"
	case PRFHMACSHA512:
		return "prfsha512"
	}
	return "prf" + strconv.Itoa(int(id))
}

// integName returns the strongSwan keyword of an integrity algorithm.
func integName(id uint16) string {
	switch id {
	case IntegHMACSHA256128:
		return "sha256"
	case IntegHMACSHA384192:
		return "sha384"
	case IntegHMACSHA512256:
		return "sha512"
	}
	return "integ" + strconv.Itoa(int(id))
}

// dhName returns the strongSwan keyword of a Diffie-Hellman group.
func dhName(id uint16) string {
	switch id {
	case DHMODP2048:
		return "modp2048"
	case DHECP256:
		return "ecp256"
	case DHECP384:
		return "ecp384"
	case DHCurve25519:
		return "x25519"
	}
	return "dh" + strconv.Itoa(int(id))
}

// prfForInteg maps an HMAC-SHA2 integrity algorithm to the PRF with the
// same hash (the strongSwan rule for IKE proposals without a prf keyword).
func prfForInteg(id uint16) uint16 {
	switch id {
	case IntegHMACSHA256128:
		return PRFHMACSHA256
	case IntegHMACSHA384192:
		return PRFHMACSHA384
	case IntegHMACSHA512256:
		return PRFHMACSHA512
	}
	return 0
}

// AEADEncr reports whether the encryption algorithm id is an AEAD (it needs no integrity
// algorithm).
func AEADEncr(id uint16) bool { return aeadEncr(id) }

// ValidEncr reports whether (id, keyBits) is a supported encryption algorithm.
func ValidEncr(id uint16, keyBits int) bool { return validEncr(id, keyBits) }

// ValidPRF reports whether id is a supported PRF.
func ValidPRF(id uint16) bool { return validPRF(id) }

// ErrNoProposalChosen: no offered proposal is acceptable (the responder answers
// NO_PROPOSAL_CHOSEN).
var ErrNoProposalChosen = errors.New("crypto: no acceptable proposal")
