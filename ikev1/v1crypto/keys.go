package v1crypto

import (
	"errors"
	"fmt"
)

// Phase1Params are the inputs of a Main Mode key derivation with a
// pre-shared key.
type Phase1Params struct {
	Hash HashAlg
	// EncKeyLen is the AES key length in bytes (16, 24 or 32), from the
	// Key Length attribute.
	EncKeyLen int
	PSK       []byte
	// Ni and Nr are the bodies of the initiator's and responder's Nonce
	// payloads (Ni_b, Nr_b).
	Ni, Nr []byte
	// GXi and GXr are the bodies of the initiator's and responder's KE
	// payloads (g^xi, g^xr).
	GXi, GXr []byte
	// GXY is the Diffie-Hellman shared secret g^xy, at the group's full
	// length.
	GXY              []byte
	CookieI, CookieR uint64
}

// String describes the parameters without the PSK or any secret.
func (p Phase1Params) String() string {
	return fmt.Sprintf("v1crypto.Phase1Params{%v, AES-%d, cky %016x_i %016x_r, secrets redacted}", p.Hash, p.EncKeyLen*8, p.CookieI, p.CookieR)
}

// GoString is String.
func (p Phase1Params) GoString() string { return p.String() }

// Phase1Keys is the keying material of an ISAKMP SA established with a
// pre-shared key, with what later hashes need to know about the exchange.
type Phase1Keys struct {
	Hash    HashAlg
	SKEYID  []byte
	SKEYIDd []byte // derives Quick Mode keying material
	SKEYIDa []byte // authenticates Quick Mode and Informational messages
	SKEYIDe []byte
	EncKey  []byte // Ka, the AES key (ExpandKey of SKEYID_e)
	IV      []byte // initial phase 1 IV, hash(g^xi | g^xr) truncated

	gxi, gxr         []byte
	cookieI, cookieR uint64
}

// DerivePhase1PSK computes SKEYID and its derivatives, the encryption key
// and the initial IV (RFC 2409 section 5, Appendix B).
func DerivePhase1PSK(p Phase1Params) (*Phase1Keys, error) {
	if err := p.Hash.Check(); err != nil {
		return nil, err
	}
	switch p.EncKeyLen {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("v1crypto: AES key length of %d bytes", p.EncKeyLen)
	}
	if len(p.PSK) == 0 {
		return nil, errors.New("v1crypto: empty pre-shared key")
	}
	if len(p.Ni) == 0 || len(p.Nr) == 0 || len(p.GXi) == 0 || len(p.GXr) == 0 || len(p.GXY) == 0 {
		return nil, errors.New("v1crypto: missing nonce or Diffie-Hellman value")
	}
	k := &Phase1Keys{
		Hash:    p.Hash,
		SKEYID:  SKEYIDPSK(p.Hash, p.PSK, p.Ni, p.Nr),
		gxi:     append([]byte(nil), p.GXi...),
		gxr:     append([]byte(nil), p.GXr...),
		cookieI: p.CookieI,
		cookieR: p.CookieR,
	}
	k.SKEYIDd, k.SKEYIDa, k.SKEYIDe = DeriveSKEYIDs(p.Hash, k.SKEYID, p.GXY, p.CookieI, p.CookieR)
	k.EncKey = ExpandKey(p.Hash, k.SKEYIDe, p.EncKeyLen)
	k.IV = Phase1IV(p.Hash, p.GXi, p.GXr, BlockSize)
	return k, nil
}

// Cipher returns the phase 1 CBC state: EncKey with the initial IV.
func (k *Phase1Keys) Cipher() (*CBC, error) { return NewCBC(k.EncKey, k.IV) }

// HashI returns HASH_I over the initiator's SA body and IDii body.
func (k *Phase1Keys) HashI(saiB, idiiB []byte) []byte {
	return HashI(k.Hash, k.SKEYID, k.gxi, k.gxr, k.cookieI, k.cookieR, saiB, idiiB)
}

// HashR returns HASH_R over the initiator's SA body and IDir body.
func (k *Phase1Keys) HashR(saiB, idirB []byte) []byte {
	return HashR(k.Hash, k.SKEYID, k.gxi, k.gxr, k.cookieI, k.cookieR, saiB, idirB)
}

// ExchangeCipher returns the CBC state of a Quick Mode or Informational
// exchange with message ID mid, given the phase 1 state after Main Mode
// completed (its IV is the last phase 1 ciphertext block). phase1 itself
// is not changed.
func (k *Phase1Keys) ExchangeCipher(phase1 *CBC, mid uint32) (*CBC, error) {
	return phase1.WithIV(Phase2IV(k.Hash, phase1.iv[:], mid, BlockSize))
}

// QuickHash1 returns Quick Mode HASH(1) (see the function QuickHash1).
func (k *Phase1Keys) QuickHash1(mid uint32, rest []byte) []byte {
	return QuickHash1(k.Hash, k.SKEYIDa, mid, rest)
}

// QuickHash2 returns Quick Mode HASH(2) (see the function QuickHash2).
func (k *Phase1Keys) QuickHash2(mid uint32, ni, rest []byte) []byte {
	return QuickHash2(k.Hash, k.SKEYIDa, mid, ni, rest)
}

// QuickHash3 returns Quick Mode HASH(3) (see the function QuickHash3).
func (k *Phase1Keys) QuickHash3(mid uint32, ni, nr []byte) []byte {
	return QuickHash3(k.Hash, k.SKEYIDa, mid, ni, nr)
}

// InfoHash returns Informational HASH(1) (see the function InfoHash).
func (k *Phase1Keys) InfoHash(mid uint32, payloads []byte) []byte {
	return InfoHash(k.Hash, k.SKEYIDa, mid, payloads)
}

// KeyMat returns n bytes of Quick Mode keying material (see the function
// KeyMat).
func (k *Phase1Keys) KeyMat(gqmxy []byte, protocol uint8, spi uint32, ni, nr []byte, n int) []byte {
	return KeyMat(k.Hash, k.SKEYIDd, gqmxy, protocol, spi, ni, nr, n)
}

// Clear overwrites the key material; k must not be used afterwards.
func (k *Phase1Keys) Clear() {
	for _, b := range [][]byte{k.SKEYID, k.SKEYIDd, k.SKEYIDa, k.SKEYIDe, k.EncKey} {
		clear(b)
	}
}

// String describes the keys without revealing them.
func (k Phase1Keys) String() string {
	return fmt.Sprintf("v1crypto.Phase1Keys{%v, AES-%d, cky %016x_i %016x_r, keys redacted}", k.Hash, len(k.EncKey)*8, k.cookieI, k.cookieR)
}

// GoString is String.
func (k Phase1Keys) GoString() string { return k.String() }
