package v1crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"testing"

	vcrypto "github.com/vigil-ipsec/vigil/crypto"
)

// The tests in this file recompute each RFC 2409 formula step by step with
// crypto/hmac and compare with the package, on fresh random inputs and a
// real Diffie-Hellman exchange.

var stdHashes = map[HashAlg]func() hash.Hash{SHA256: sha256.New, SHA384: sha512.New384, SHA512: sha512.New}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func digest(h func() hash.Hash, parts ...[]byte) []byte {
	m := h()
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func random(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func be64(v uint64) []byte  { return binary.BigEndian.AppendUint64(nil, v) }
func be32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// dhPair runs a Diffie-Hellman exchange and returns g^xi, g^xr and g^xy
// after checking both sides agree.
func dhPair(t *testing.T, group uint16) (gxi, gxr, gxy []byte) {
	i, err := vcrypto.NewDH(group, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := vcrypto.NewDH(group, nil)
	if err != nil {
		t.Fatal(err)
	}
	si, err := i.SharedSecret(r.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	sr, err := r.SharedSecret(i.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(si, sr) {
		t.Fatal("DH sides disagree")
	}
	return i.PublicKey(), r.PublicKey(), si
}

func TestStepByStep(t *testing.T) {
	for alg, std := range stdHashes {
		for _, group := range []uint16{vcrypto.DHMODP2048, vcrypto.DHECP256, vcrypto.DHCurve25519} {
			t.Run(fmt.Sprintf("%v/group%d", alg, group), func(t *testing.T) {
				gxi, gxr, gxy := dhPair(t, group)
				psk := []byte("a pre-shared key that is long enough")
				ni, nr := random(t, 32), random(t, 24)
				ckyI, ckyR := binary.BigEndian.Uint64(random(t, 8)), binary.BigEndian.Uint64(random(t, 8))
				cky := append(be64(ckyI), be64(ckyR)...)

				// SKEYID = prf(pre-shared-key, Ni_b | Nr_b)
				skeyid := mac(std, psk, append(append([]byte{}, ni...), nr...))
				check(t, "SKEYID", SKEYIDPSK(alg, psk, ni, nr), skeyid)

				// SKEYID_d/a/e
				d := mac(std, skeyid, gxy, cky, []byte{0})
				a := mac(std, skeyid, d, gxy, cky, []byte{1})
				e := mac(std, skeyid, a, gxy, cky, []byte{2})
				gd, ga, ge := DeriveSKEYIDs(alg, skeyid, gxy, ckyI, ckyR)
				check(t, "SKEYID_d", gd, d)
				check(t, "SKEYID_a", ga, a)
				check(t, "SKEYID_e", ge, e)

				// Key expansion, Appendix B.
				k1 := mac(std, e, []byte{0})
				k2 := mac(std, e, k1)
				k3 := mac(std, e, k2)
				ka := append(append(append([]byte{}, k1...), k2...), k3...)
				n := 2*alg.Size() + 5
				check(t, "Ka expanded", ExpandKey(alg, e, n), ka[:n])
				check(t, "Ka truncated", ExpandKey(alg, e, 16), e[:16])
				check(t, "Ka exact", ExpandKey(alg, e, len(e)), e)

				// Phase 1 IV.
				check(t, "phase 1 IV", Phase1IV(alg, gxi, gxr, 16), digest(std, gxi, gxr)[:16])

				// HASH_I / HASH_R.
				sai, idii, idir := random(t, 60), random(t, 12), random(t, 9)
				check(t, "HASH_I", HashI(alg, skeyid, gxi, gxr, ckyI, ckyR, sai, idii),
					mac(std, skeyid, gxi, gxr, be64(ckyI), be64(ckyR), sai, idii))
				check(t, "HASH_R", HashR(alg, skeyid, gxi, gxr, ckyI, ckyR, sai, idir),
					mac(std, skeyid, gxr, gxi, be64(ckyR), be64(ckyI), sai, idir))

				// Phase 2 IV.
				last, mid := random(t, 16), binary.BigEndian.Uint32(random(t, 4))
				check(t, "phase 2 IV", Phase2IV(alg, last, mid, 16), digest(std, last, be32b(mid))[:16])

				// Quick Mode and Informational hashes.
				rest := random(t, 80)
				check(t, "HASH(1)", QuickHash1(alg, a, mid, rest), mac(std, a, be32b(mid), rest))
				check(t, "HASH(2)", QuickHash2(alg, a, mid, ni, rest), mac(std, a, be32b(mid), ni, rest))
				check(t, "HASH(3)", QuickHash3(alg, a, mid, ni, nr), mac(std, a, []byte{0}, be32b(mid), ni, nr))
				check(t, "info HASH(1)", InfoHash(alg, a, mid, rest), mac(std, a, be32b(mid), rest))

				// KEYMAT with and without PFS.
				spi := binary.BigEndian.Uint32(random(t, 4))
				for _, qm := range [][]byte{nil, random(t, 32)} {
					seed := append(append(append(append(append([]byte{}, qm...), 3), be32b(spi)...), ni...), nr...)
					km1 := mac(std, d, seed)
					km2 := mac(std, d, km1, seed)
					km3 := mac(std, d, km2, seed)
					km := append(append(append([]byte{}, km1...), km2...), km3...)
					for _, n := range []int{16, alg.Size(), alg.Size() + 1, 2*alg.Size() + 3} {
						check(t, "KEYMAT", KeyMat(alg, d, qm, 3, spi, ni, nr, n), km[:n])
					}
				}
			})
		}
	}
}

func check(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// TestBothSidesAgree derives phase 1 keys on each side of a real exchange.
func TestBothSidesAgree(t *testing.T) {
	i, err := vcrypto.NewDH(vcrypto.DHECP384, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := vcrypto.NewDH(vcrypto.DHECP384, nil)
	if err != nil {
		t.Fatal(err)
	}
	ni, nr := random(t, 32), random(t, 32)
	derive := func(self vcrypto.DH, peer []byte) *Phase1Keys {
		gxy, err := self.SharedSecret(peer)
		if err != nil {
			t.Fatal(err)
		}
		k, err := DerivePhase1PSK(Phase1Params{Hash: SHA384, EncKeyLen: 24, PSK: []byte("secret"),
			Ni: ni, Nr: nr, GXi: i.PublicKey(), GXr: r.PublicKey(), GXY: gxy, CookieI: 1, CookieR: 2})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ki, kr := derive(i, r.PublicKey()), derive(r, i.PublicKey())
	check(t, "SKEYID_a", ki.SKEYIDa, kr.SKEYIDa)
	check(t, "SKEYID_d", ki.SKEYIDd, kr.SKEYIDd)
	check(t, "Ka", ki.EncKey, kr.EncKey)
	check(t, "IV", ki.IV, kr.IV)
	if len(ki.EncKey) != 24 || len(ki.IV) != 16 {
		t.Errorf("key %d bytes, IV %d bytes", len(ki.EncKey), len(ki.IV))
	}
	if bytes.Equal(ki.HashI(nil, nil), ki.HashR(nil, nil)) {
		t.Error("HASH_I equals HASH_R")
	}
}

func TestDerivePhase1Errors(t *testing.T) {
	ok := Phase1Params{Hash: SHA256, EncKeyLen: 16, PSK: []byte("k"), Ni: []byte{1}, Nr: []byte{2}, GXi: []byte{3}, GXr: []byte{4}, GXY: []byte{5}}
	if _, err := DerivePhase1PSK(ok); err != nil {
		t.Fatalf("valid params: %v", err)
	}
	for name, mod := range map[string]func(*Phase1Params){
		"hash":   func(p *Phase1Params) { p.Hash = 2 },
		"keylen": func(p *Phase1Params) { p.EncKeyLen = 20 },
		"psk":    func(p *Phase1Params) { p.PSK = nil },
		"nonce":  func(p *Phase1Params) { p.Nr = nil },
		"ke":     func(p *Phase1Params) { p.GXi = nil },
		"secret": func(p *Phase1Params) { p.GXY = nil },
	} {
		p := ok
		mod(&p)
		if _, err := DerivePhase1PSK(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHashAlg(t *testing.T) {
	for alg, std := range stdHashes {
		if !alg.Valid() || alg.Check() != nil || alg.Size() != std().Size() {
			t.Errorf("%v: valid %v size %d", alg, alg.Valid(), alg.Size())
		}
	}
	for _, bad := range []HashAlg{0, 1, 2, 3, 7} {
		if bad.Valid() || bad.Check() == nil || bad.Size() != 0 {
			t.Errorf("hash %d accepted", bad)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("PRF with an unsupported hash did not panic")
		}
	}()
	HashAlg(2).PRF(nil)
}

func TestNonPositiveLengths(t *testing.T) {
	if ExpandKey(SHA256, []byte{1}, 0) != nil || KeyMat(SHA256, []byte{1}, nil, 3, 1, nil, nil, -1) != nil {
		t.Error("non-positive length returned data")
	}
}
