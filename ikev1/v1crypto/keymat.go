package v1crypto

import "encoding/binary"

// KeyMat returns n bytes of Quick Mode keying material for one SA (RFC
// 2409 section 5.5):
//
//	KEYMAT = K1 | K2 | ...
//	K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//	Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//
// gqmxy is the Quick Mode Diffie-Hellman secret (nil without PFS),
// protocol the proposal's protocol ID (3 for ESP) and spi the 4-byte SPI
// of the SA being keyed: the one its receiver chose, so inbound and
// outbound SAs get different keys. For ESP the encryption key (plus the
// 4-byte salt for AES-GCM, RFC 4106) comes first, then the integrity key,
// as strongSwan and the kernel expect. It returns nil for n <= 0.
func KeyMat(h HashAlg, skeyidD, gqmxy []byte, protocol uint8, spi uint32, ni, nr []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	seed := make([]byte, 0, len(gqmxy)+5+len(ni)+len(nr))
	seed = append(seed, gqmxy...)
	seed = append(seed, protocol)
	seed = binary.BigEndian.AppendUint32(seed, spi)
	seed = append(seed, ni...)
	seed = append(seed, nr...)
	out := make([]byte, 0, n+h.Size())
	var k []byte
	for len(out) < n {
		k = h.PRF(skeyidD, k, seed)
		out = append(out, k...)
	}
	clear(seed)
	return out[:n:n]
}
