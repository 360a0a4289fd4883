package crypto

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

var (
	kdfNi   = seq(0x10, 0x30)
	kdfNr   = seq(0x30, 0x50)
	kdfGir  = seq(0x80, 0xa0)
	kdfSKd  = seq(0xc0, 0xe0)
	kdfSPIi = uint64(0x0102030405060708)
	kdfSPIr = uint64(0x1112131415161718)
)

func spis(i, r uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, i)
	return binary.BigEndian.AppendUint64(b, r)
}

func TestDeriveIKEKeysAEAD(t *testing.T) {
	s := Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}
	k, err := DeriveIKEKeys(s, kdfNi, kdfNr, kdfGir, kdfSPIi, kdfSPIr)
	if err != nil {
		t.Fatal(err)
	}
	// Step by step from RFC 7296 section 2.14 with crypto/hmac.
	skeyseed := refHMAC(sha256.New, append(append([]byte{}, kdfNi...), kdfNr...), kdfGir)
	if hex.EncodeToString(skeyseed) != "5f306bc5fc1b25af8daad384581d16d7d6080928e12e5510d2ad3ef83d3bf541" {
		t.Fatalf("reference SKEYSEED %x differs from the Python-computed value", skeyseed)
	}
	km := refPlus(sha256.New, skeyseed, bytes.Join([][]byte{kdfNi, kdfNr, spis(kdfSPIi, kdfSPIr)}, nil), 3*32+2*20)
	want := IKEKeys{SKd: km[0:32], SKai: []byte{}, SKar: []byte{}, SKei: km[32:52], SKer: km[52:72], SKpi: km[72:104], SKpr: km[104:136]}
	checkIKEKeys(t, k, want)
	// Known answers computed independently with Python's hmac module.
	checkHex(t, "SK_d", k.SKd, "9b16c6ce2bf3995c2d4aafe1072bd03ea743ad602c296b109c7fc962e21ed004")
	checkHex(t, "SK_er", k.SKer, "2b79b7c98037d9f636963516f3e5df488d263766")
	checkHex(t, "SK_pr", k.SKpr, "d526a983f2966469a94e5a23ade2a240bdf344f308f8ec9e11925f6b5f77d8cd")
}

func TestDeriveIKEKeysCBC(t *testing.T) {
	s := Suite{Encr: EncrAESCBC, EncrKeyBits: 256, PRF: PRFHMACSHA384, Integ: IntegHMACSHA384192, DH: DHECP384}
	k, err := DeriveIKEKeys(s, kdfNi, kdfNr, kdfGir, kdfSPIi, kdfSPIr)
	if err != nil {
		t.Fatal(err)
	}
	skeyseed := refHMAC(sha512.New384, append(append([]byte{}, kdfNi...), kdfNr...), kdfGir)
	km := refPlus(sha512.New384, skeyseed, bytes.Join([][]byte{kdfNi, kdfNr, spis(kdfSPIi, kdfSPIr)}, nil), 3*48+2*48+2*32)
	off := 0
	next := func(n int) []byte { b := km[off : off+n]; off += n; return b }
	want := IKEKeys{SKd: next(48), SKai: next(48), SKar: next(48), SKei: next(32), SKer: next(32), SKpi: next(48), SKpr: next(48)}
	checkIKEKeys(t, k, want)
	checkHex(t, "SK_d", k.SKd, "fe173067154959727f4432dbf0f9b1653122008ab9abf0bf2757b184081bc40340986f626784aea32302cc1c3840bf61")
	checkHex(t, "SK_ar", k.SKar, "52d27cd675d129149926f86a23781c47df51bc15e5f622f4eddb61269f80f00dd4251f46c75556301320977fb34a0652")
	checkHex(t, "SK_ei", k.SKei, "7aa8b99dc341e0f1cc31ced3d6a48219bfae26865a92e0a2e688663ef683c92e")
	checkHex(t, "SK_pr", k.SKpr, "04e505bc887dad195fa2e86ca9f01e2fdb60a2f7694e46cba06517784b013a1eabb6a350ca5045deee8c32c8c5a65049")
}

func TestDeriveRekeyedIKEKeys(t *testing.T) {
	oldPRF, _ := NewPRF(PRFHMACSHA512)
	s := Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}
	k, err := DeriveRekeyedIKEKeys(s, oldPRF, kdfSKd, kdfGir, kdfNi, kdfNr, kdfSPIi, kdfSPIr)
	if err != nil {
		t.Fatal(err)
	}
	// SKEYSEED = prf_old(SK_d(old), g^ir | Ni | Nr); prf+ uses the new PRF.
	skeyseed := refHMAC(sha512.New, kdfSKd, kdfGir, kdfNi, kdfNr)
	km := refPlus(sha256.New, skeyseed, bytes.Join([][]byte{kdfNi, kdfNr, spis(kdfSPIi, kdfSPIr)}, nil), 3*32+2*20)
	want := IKEKeys{SKd: km[0:32], SKai: []byte{}, SKar: []byte{}, SKei: km[32:52], SKer: km[52:72], SKpi: km[72:104], SKpr: km[104:136]}
	checkIKEKeys(t, k, want)
	checkHex(t, "SK_d", k.SKd, "14297a17274ff830444eba69db2b3ccfd27acaf8fabd0e24da707b7782d19103")
	checkHex(t, "SK_pr", k.SKpr, "8383da8e72755c1c3bd30620ba809a4932077e6606f158a4bfa72cecb8db05cb")

	if _, err := DeriveRekeyedIKEKeys(s, PRF{}, kdfSKd, kdfGir, kdfNi, kdfNr, 1, 2); err == nil {
		t.Error("zero old PRF accepted")
	}
	if _, err := DeriveRekeyedIKEKeys(s, oldPRF, nil, kdfGir, kdfNi, kdfNr, 1, 2); err == nil {
		t.Error("empty old SK_d accepted")
	}
}

func TestDeriveIKEKeysErrors(t *testing.T) {
	good := Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}
	tests := []struct {
		name   string
		s      Suite
		ni, nr []byte
		gir    []byte
	}{
		{"short Ni", good, make([]byte, 15), kdfNr, kdfGir},
		{"long Nr", good, kdfNi, make([]byte, 257), kdfGir},
		{"empty g^ir", good, kdfNi, kdfNr, nil},
		{"no PRF", Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, DH: DHCurve25519}, kdfNi, kdfNr, kdfGir},
		{"bad encr", Suite{Encr: 3, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}, kdfNi, kdfNr, kdfGir},
		{"bad key size", Suite{Encr: EncrAESCBC, EncrKeyBits: 64, PRF: PRFHMACSHA256, Integ: IntegHMACSHA256128, DH: DHCurve25519}, kdfNi, kdfNr, kdfGir},
		{"CBC without integ", Suite{Encr: EncrAESCBC, EncrKeyBits: 128, PRF: PRFHMACSHA256, DH: DHCurve25519}, kdfNi, kdfNr, kdfGir},
		{"AEAD with integ", Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256, Integ: IntegHMACSHA256128, DH: DHCurve25519}, kdfNi, kdfNr, kdfGir},
		{"no DH", Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, PRF: PRFHMACSHA256}, kdfNi, kdfNr, kdfGir},
	}
	for _, tt := range tests {
		if _, err := DeriveIKEKeys(tt.s, tt.ni, tt.nr, tt.gir, 1, 2); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	// Boundary nonce sizes are fine.
	if _, err := DeriveIKEKeys(good, make([]byte, 16), make([]byte, 256), kdfGir, 1, 2); err != nil {
		t.Errorf("16/256-byte nonces rejected: %v", err)
	}
}

func TestDeriveChildKeys(t *testing.T) {
	prf, _ := NewPRF(PRFHMACSHA256)

	// No PFS, AES-128-GCM: KEYMAT = prf+(SK_d, Ni | Nr), 20 bytes per direction.
	gcm := Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}
	k := DeriveChildKeys(prf, kdfSKd, nil, kdfNi, kdfNr, gcm)
	km := refPlus(sha256.New, kdfSKd, bytes.Join([][]byte{kdfNi, kdfNr}, nil), 40)
	if !bytes.Equal(k.EncrI, km[:20]) || !bytes.Equal(k.EncrR, km[20:]) || len(k.IntegI) != 0 || len(k.IntegR) != 0 {
		t.Errorf("AEAD child keys mismatch: %x %x", k.EncrI, k.EncrR)
	}
	checkHex(t, "EncrI", k.EncrI, "2d98a9f7677de6de9116d316bb51042c49d726fa")
	checkHex(t, "EncrR", k.EncrR, "b0e3b12fb59b71b71a182ef4b68ff3957801bb42")

	// PFS, AES-256-CBC + HMAC-SHA-256-128: KEYMAT = prf+(SK_d, g^ir | Ni | Nr),
	// order encr_i, integ_i, encr_r, integ_r.
	cbc := Suite{Encr: EncrAESCBC, EncrKeyBits: 256, Integ: IntegHMACSHA256128, DH: DHECP256, ESN: true}
	k = DeriveChildKeys(prf, kdfSKd, kdfGir, kdfNi, kdfNr, cbc)
	km = refPlus(sha256.New, kdfSKd, bytes.Join([][]byte{kdfGir, kdfNi, kdfNr}, nil), 128)
	if !bytes.Equal(k.EncrI, km[0:32]) || !bytes.Equal(k.IntegI, km[32:64]) ||
		!bytes.Equal(k.EncrR, km[64:96]) || !bytes.Equal(k.IntegR, km[96:128]) {
		t.Error("PFS child keys do not follow encr_i, integ_i, encr_r, integ_r")
	}
	checkHex(t, "EncrI", k.EncrI, "2a80dcb4a273b2c1ac1b4f573b5c6b64b6d6f9cd2faa4bb27f34dd4e43924c2a")
	checkHex(t, "IntegI", k.IntegI, "d72a40d04120d2ca99f28eb269572825802ae249e09193559ffdda00c3ed0039")
	checkHex(t, "EncrR", k.EncrR, "04fe5a45d2595de41da400e98c9dbadb6a532558d67646bf5214ff3e47df7dd3")
	checkHex(t, "IntegR", k.IntegR, "65dee7f525c1fb35fa4e2f24558ea94d1ee50479d0099ee8345316cf52f820e8")

	// ChaCha20-Poly1305 takes 36 bytes per direction.
	k = DeriveChildKeys(prf, kdfSKd, nil, kdfNi, kdfNr, Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256})
	if len(k.EncrI) != 36 || len(k.EncrR) != 36 {
		t.Errorf("ChaCha20-Poly1305 key sizes %d/%d", len(k.EncrI), len(k.EncrR))
	}
}

func TestKeysStringHidesSecrets(t *testing.T) {
	s := Suite{Encr: EncrAESCBC, EncrKeyBits: 128, PRF: PRFHMACSHA256, Integ: IntegHMACSHA256128, DH: DHMODP2048}
	k, err := DeriveIKEKeys(s, kdfNi, kdfNr, kdfGir, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	prf, _ := NewPRF(PRFHMACSHA256)
	ck := DeriveChildKeys(prf, k.SKd, nil, kdfNi, kdfNr, s)
	for _, out := range []string{
		k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		ck.String(), fmt.Sprintf("%v %+v %#v %s", ck, ck, ck, ck),
	} {
		for _, key := range [][]byte{k.SKd, k.SKai, k.SKei, k.SKpi, k.SKpr, ck.EncrI, ck.IntegR} {
			if strings.Contains(out, hex.EncodeToString(key)) || strings.Contains(out, fmt.Sprint(key)) ||
				strings.Contains(out, fmt.Sprint(key[:4])[1:8]) {
				t.Fatalf("key material printed: %s", out)
			}
		}
	}
}

func checkIKEKeys(t *testing.T, got, want IKEKeys) {
	t.Helper()
	pairs := []struct {
		name string
		g, w []byte
	}{
		{"SK_d", got.SKd, want.SKd}, {"SK_ai", got.SKai, want.SKai}, {"SK_ar", got.SKar, want.SKar},
		{"SK_ei", got.SKei, want.SKei}, {"SK_er", got.SKer, want.SKer},
		{"SK_pi", got.SKpi, want.SKpi}, {"SK_pr", got.SKpr, want.SKpr},
	}
	for _, p := range pairs {
		if !bytes.Equal(p.g, p.w) {
			t.Errorf("%s = %x, want %x", p.name, p.g, p.w)
		}
	}
}

func checkHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s = %x, want %s", name, got, want)
	}
}

func TestKeysWipe(t *testing.T) {
	s := Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHECP384}
	k, err := DeriveIKEKeys(s, kdfNi, kdfNr, append([]byte(nil), kdfGir...), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	cp := k // copies share the key bytes
	k.Wipe()
	for i, b := range [][]byte{cp.SKd, cp.SKai, cp.SKar, cp.SKei, cp.SKer, cp.SKpi, cp.SKpr} {
		if len(b) == 0 || !bytes.Equal(b, make([]byte, len(b))) {
			t.Errorf("IKE key %d not zeroed (len %d)", i, len(b))
		}
	}
	prf, _ := NewPRF(PRFHMACSHA256)
	ck := DeriveChildKeys(prf, kdfSKd, nil, kdfNi, kdfNr, s)
	cc := ck
	ck.Wipe()
	for i, b := range [][]byte{cc.EncrI, cc.IntegI, cc.EncrR, cc.IntegR} {
		if len(b) == 0 || !bytes.Equal(b, make([]byte, len(b))) {
			t.Errorf("Child key %d not zeroed (len %d)", i, len(b))
		}
	}
}
