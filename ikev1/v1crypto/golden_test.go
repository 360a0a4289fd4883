package v1crypto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

// pattern returns the deterministic test input testdata/golden.py calls
// pattern(seed, n).
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(7*i)
	}
	return b
}

var hashNames = map[HashAlg]string{SHA256: "sha256", SHA384: "sha384", SHA512: "sha512"}

// Inputs shared with testdata/golden.py.
var (
	gPSK       = []byte("vigil golden pre-shared key")
	gNi        = pattern(1, 32)
	gNr        = pattern(2, 32)
	gGXi       = pattern(3, 256)
	gGXr       = pattern(4, 256)
	gGXY       = pattern(5, 256)
	gGQM       = pattern(6, 64)
	gCkyI      = uint64(0x0102030405060708)
	gCkyR      = uint64(0xF1F2F3F4F5F6F7F8)
	gSAiB      = pattern(7, 52)
	gIDiiB     = pattern(8, 8)
	gIDirB     = pattern(9, 12)
	gLastBlock = pattern(10, 16)
	gMID       = uint32(0x9ABCDEF0)
	gRest      = pattern(11, 100)
	gSPI       = uint32(0xC0FFEE01)
	gInfo      = pattern(12, 40)
)

// computeGolden evaluates every formula with the package's functions.
func computeGolden(h HashAlg) map[string][]byte {
	out := map[string][]byte{}
	skeyid := SKEYIDPSK(h, gPSK, gNi, gNr)
	d, a, e := DeriveSKEYIDs(h, skeyid, gGXY, gCkyI, gCkyR)
	out["skeyid"], out["skeyid_d"], out["skeyid_a"], out["skeyid_e"] = skeyid, d, a, e
	out["ka80"] = ExpandKey(h, e, 80)
	out["ka32"] = ExpandKey(h, e, 32)
	out["iv1"] = Phase1IV(h, gGXi, gGXr, BlockSize)
	out["hash_i"] = HashI(h, skeyid, gGXi, gGXr, gCkyI, gCkyR, gSAiB, gIDiiB)
	out["hash_r"] = HashR(h, skeyid, gGXi, gGXr, gCkyI, gCkyR, gSAiB, gIDirB)
	out["iv2"] = Phase2IV(h, gLastBlock, gMID, BlockSize)
	out["qm_hash1"] = QuickHash1(h, a, gMID, gRest)
	out["qm_hash2"] = QuickHash2(h, a, gMID, gNi, gRest)
	out["qm_hash3"] = QuickHash3(h, a, gMID, gNi, gNr)
	out["info_hash"] = InfoHash(h, a, gMID, gInfo)
	out["keymat"] = KeyMat(h, d, nil, 3, gSPI, gNi, gNr, 100)
	out["keymat_pfs"] = KeyMat(h, d, gGQM, 3, gSPI, gNi, gNr, 100)
	out["natd4"] = NATDHash(h, gCkyI, gCkyR, netip.MustParseAddrPort("192.0.2.1:4500"))
	out["natd6"] = NATDHash(h, gCkyI, gCkyR, netip.MustParseAddrPort("[2001:db8::1]:500"))
	return out
}

func TestGolden(t *testing.T) {
	n := 0
	for h, hn := range hashNames {
		for name, got := range computeGolden(h) {
			want, ok := golden[name+"/"+hn]
			if !ok {
				t.Errorf("no golden value for %s/%s", name, hn)
				continue
			}
			n++
			if hex.EncodeToString(got) != want {
				t.Errorf("%s/%s = %x, want %s", name, hn, got, want)
			}
		}
	}
	if n != len(golden) {
		t.Errorf("checked %d of %d golden values", n, len(golden))
	}
}

// TestGoldenPython re-runs the independent Python computation and checks
// that the frozen values still match it.
func TestGoldenPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	out, err := exec.Command(py, "testdata/golden.py").Output()
	if err != nil {
		t.Fatalf("golden.py: %v", err)
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			t.Fatalf("bad line %q", sc.Text())
		}
		key := f[0] + "/" + f[1]
		if golden[key] != f[2] {
			t.Errorf("frozen %s = %s, python says %s", key, golden[key], f[2])
		}
		seen++
	}
	if seen != len(golden) {
		t.Errorf("python produced %d values, %d frozen", seen, len(golden))
	}
}

// TestDerivePhase1Golden checks that the bundled derivation and its
// methods agree with the golden values.
func TestDerivePhase1Golden(t *testing.T) {
	for h, hn := range hashNames {
		k, err := DerivePhase1PSK(Phase1Params{
			Hash: h, EncKeyLen: 32, PSK: gPSK, Ni: gNi, Nr: gNr,
			GXi: gGXi, GXr: gGXr, GXY: gGXY, CookieI: gCkyI, CookieR: gCkyR,
		})
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string][]byte{
			"skeyid":    k.SKEYID,
			"skeyid_d":  k.SKEYIDd,
			"skeyid_a":  k.SKEYIDa,
			"skeyid_e":  k.SKEYIDe,
			"ka32":      k.EncKey,
			"iv1":       k.IV,
			"hash_i":    k.HashI(gSAiB, gIDiiB),
			"hash_r":    k.HashR(gSAiB, gIDirB),
			"qm_hash1":  k.QuickHash1(gMID, gRest),
			"qm_hash2":  k.QuickHash2(gMID, gNi, gRest),
			"qm_hash3":  k.QuickHash3(gMID, gNi, gNr),
			"info_hash": k.InfoHash(gMID, gInfo),
			"keymat":    k.KeyMat(nil, 3, gSPI, gNi, gNr, 100),
		} {
			if hex.EncodeToString(got) != golden[name+"/"+hn] {
				t.Errorf("Phase1Keys %s/%s = %x, want %s", name, hn, got, golden[name+"/"+hn])
			}
		}
		p1, err := NewCBC(k.EncKey, gLastBlock)
		if err != nil {
			t.Fatal(err)
		}
		x, err := k.ExchangeCipher(p1, gMID)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(x.IV()) != golden["iv2/"+hn] {
			t.Errorf("ExchangeCipher IV %x, want %s", x.IV(), golden["iv2/"+hn])
		}
		if !bytes.Equal(p1.IV(), gLastBlock) {
			t.Error("ExchangeCipher changed the phase 1 state")
		}
	}
}
