package v1crypto

import "encoding/binary"

// Phase1IV returns the initial phase 1 IV (RFC 2409 Appendix B):
// hash(g^xi | g^xr) truncated to blockSize bytes, where g^xi and g^xr are
// the KE payload bodies of initiator and responder.
func Phase1IV(h HashAlg, gxi, gxr []byte, blockSize int) []byte {
	return truncate(h.Sum(gxi, gxr), blockSize)
}

// Phase2IV returns the initial IV of a Quick Mode or Informational
// exchange (RFC 2409 Appendix B): hash(last phase-1 CBC output block |
// M-ID) truncated to blockSize bytes. lastBlock is the last ciphertext
// block of the final phase 1 message (the phase 1 CBC state's IV once Main
// Mode is complete).
func Phase2IV(h HashAlg, lastBlock []byte, messageID uint32, blockSize int) []byte {
	var mid [4]byte
	binary.BigEndian.PutUint32(mid[:], messageID)
	return truncate(h.Sum(lastBlock, mid[:]), blockSize)
}

func truncate(b []byte, n int) []byte {
	if n < len(b) {
		return b[:n:n]
	}
	return b
}
