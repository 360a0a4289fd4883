package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Nonce size limits of RFC 7296 section 2.10.
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

// IKEKeys are the keys of an IKE SA (RFC 7296 section 2.14). SKai/SKei
// protect initiator-to-responder messages, SKar/SKer the reverse; SKai
// and SKar are empty with AEAD ciphers.
type IKEKeys struct {
	SKd, SKai, SKar, SKei, SKer, SKpi, SKpr []byte
}

// String describes the key sizes without revealing any key material.
func (k IKEKeys) String() string {
	return fmt.Sprintf("IKEKeys{d:%dB a:%dB e:%dB p:%dB}", len(k.SKd), len(k.SKai), len(k.SKei), len(k.SKpi))
}

// GoString is like String so %#v does not print keys either.
func (k IKEKeys) GoString() string { return k.String() }

// Wipe zeroes the keys (their backing memory, shared by every copy of k).
func (k *IKEKeys) Wipe() {
	for _, b := range [][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr} {
		clear(b)
	}
}

// ChildKeys are the keys of a Child SA (RFC 7296 section 2.17). The I keys
// protect initiator-to-responder traffic (the responder's inbound SA), the
// R keys responder-to-initiator traffic. Encryption keys include the
// 4-byte salt for AEAD ciphers; integrity keys are empty for AEAD.
type ChildKeys struct {
	EncrI, IntegI, EncrR, IntegR []byte
}

// String describes the key sizes without revealing any key material.
func (k ChildKeys) String() string {
	return fmt.Sprintf("ChildKeys{encr:%dB integ:%dB}", len(k.EncrI), len(k.IntegI))
}

// GoString is like String so %#v does not print keys either.
func (k ChildKeys) GoString() string { return k.String() }

// Wipe zeroes the keys (their backing memory, shared by every copy of k).
func (k *ChildKeys) Wipe() {
	for _, b := range [][]byte{k.EncrI, k.IntegI, k.EncrR, k.IntegR} {
		clear(b)
	}
}

func checkNonces(ni, nr []byte) error {
	if len(ni) < MinNonceLen || len(ni) > MaxNonceLen || len(nr) < MinNonceLen || len(nr) > MaxNonceLen {
		return fmt.Errorf("crypto: nonce lengths %d/%d outside %d..%d bytes", len(ni), len(nr), MinNonceLen, MaxNonceLen)
	}
	return nil
}

// DeriveIKEKeys derives the keys of a new IKE SA (RFC 7296 section 2.14):
//
//	SKEYSEED = prf(Ni | Nr, g^ir)
//	{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
//
// All supported PRFs are HMACs, which take Ni | Nr as key unchanged.
func DeriveIKEKeys(s Suite, ni, nr, gir []byte, spii, spir uint64) (IKEKeys, error) {
	prf, err := ikePRF(s, ni, nr, gir)
	if err != nil {
		return IKEKeys{}, err
	}
	m := prf.mac(ni, nr)
	m.write(gir)
	skeyseed := m.sum(m.key[:0])
	k := expandIKEKeys(prf, m, s, skeyseed, ni, nr, spii, spir)
	m.release()
	return k, nil
}

// DeriveRekeyedIKEKeys derives the keys of an IKE SA created by rekeying
// (RFC 7296 section 2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// computed with the old IKE SA's PRF, then prf+ with the new suite's PRF
// over Ni | Nr | SPIi | SPIr. Nonces and SPIs are those of the rekeying
// exchange's initiator and responder.
func DeriveRekeyedIKEKeys(s Suite, oldPRF PRF, oldSKd, gir, ni, nr []byte, spii, spir uint64) (IKEKeys, error) {
	if oldPRF.macs == nil {
		return IKEKeys{}, errors.New("crypto: rekey without the old IKE SA's PRF")
	}
	if len(oldSKd) == 0 {
		return IKEKeys{}, errors.New("crypto: rekey without the old SK_d")
	}
	prf, err := ikePRF(s, ni, nr, gir)
	if err != nil {
		return IKEKeys{}, err
	}
	old := oldPRF.mac(oldSKd)
	old.write(gir)
	old.write(ni)
	old.write(nr)
	m := prf.macs.Get().(*mac) // keyed by expandIKEKeys
	skeyseed := old.sum(m.key[:0])
	old.release()
	k := expandIKEKeys(prf, m, s, skeyseed, ni, nr, spii, spir)
	m.release()
	return k, nil
}

func ikePRF(s Suite, ni, nr, gir []byte) (PRF, error) {
	if err := s.check(true); err != nil {
		return PRF{}, err
	}
	if err := checkNonces(ni, nr); err != nil {
		return PRF{}, err
	}
	if len(gir) == 0 {
		return PRF{}, errors.New("crypto: empty Diffie-Hellman shared secret")
	}
	return NewPRF(s.PRF)
}

// expandIKEKeys keys m, a mac of prf's hash, with skeyseed (which may be one
// of m's buffers; the caller releases m, which wipes it) and splits
// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) into the IKE SA keys.
func expandIKEKeys(prf PRF, m *mac, s Suite, skeyseed, ni, nr []byte, spii, spir uint64) IKEKeys {
	m.setKey(skeyseed)
	binary.BigEndian.PutUint64(m.spis[:8], spii)
	binary.BigEndian.PutUint64(m.spis[8:], spir)
	ps, ea, ee := prf.Size(), s.IntegKeyLen(), s.EncrKeyLen()
	km := prf.plus(m, 3*ps+2*ea+2*ee, ni, nr, m.spis[:])
	var k IKEKeys
	k.SKd, km = km[:ps:ps], km[ps:]
	k.SKai, km = km[:ea:ea], km[ea:]
	k.SKar, km = km[:ea:ea], km[ea:]
	k.SKei, km = km[:ee:ee], km[ee:]
	k.SKer, km = km[:ee:ee], km[ee:]
	k.SKpi, km = km[:ps:ps], km[ps:]
	k.SKpr = km[:ps:ps]
	return k
}

// DeriveChildKeys derives Child SA keys (RFC 7296 sections 2.17):
// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken in the order
// encr_i, integ_i, encr_r, integ_r. gir is nil without PFS. The suite
// fixes the key lengths (see Suite.EncrKeyLen and Suite.IntegKeyLen).
func DeriveChildKeys(prf PRF, skd, gir, ni, nr []byte, s Suite) ChildKeys {
	ee, ea := s.EncrKeyLen(), s.IntegKeyLen()
	m := prf.mac(skd)
	km := prf.plus(m, 2*ee+2*ea, gir, ni, nr)
	m.release()
	var k ChildKeys
	k.EncrI, km = km[:ee:ee], km[ee:]
	k.IntegI, km = km[:ea:ea], km[ea:]
	k.EncrR, km = km[:ee:ee], km[ee:]
	k.IntegR = km[:ea:ea]
	return k
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
