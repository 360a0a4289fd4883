package crypto

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
)

// RFC 5903 section 8 test vectors and RFC 7748 section 6.1.
var dhVectors = []struct {
	name         string
	group        uint16
	i, gi, r, gr string
	gir          string
}{
	{
		name:  "ECP-256 (RFC 5903 8.1)",
		group: DHECP256,
		i:     "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
		gi: "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180" +
			"5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
		r: "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
		gr: "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63" +
			"56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
		gir: "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
	},
	{
		name:  "ECP-384 (RFC 5903 8.2)",
		group: DHECP384,
		i:     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
		gi: "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA" +
			"9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
		r: "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
		gr: "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571" +
			"DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
		gir: "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746",
	},
	{
		name:  "X25519 (RFC 7748 6.1)",
		group: DHCurve25519,
		i:     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
		gi:    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
		r:     "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
		gr:    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
		gir:   "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
	},
}

func TestDHKnownAnswers(t *testing.T) {
	for _, v := range dhVectors {
		t.Run(v.name, func(t *testing.T) {
			ini, err := newDHWithPrivate(v.group, unhex(t, v.i))
			if err != nil {
				t.Fatal(err)
			}
			res, err := newDHWithPrivate(v.group, unhex(t, v.r))
			if err != nil {
				t.Fatal(err)
			}
			if ini.Group() != v.group {
				t.Errorf("Group() = %d", ini.Group())
			}
			if !bytes.Equal(ini.PublicKey(), unhex(t, v.gi)) {
				t.Errorf("g^i = %x", ini.PublicKey())
			}
			if !bytes.Equal(res.PublicKey(), unhex(t, v.gr)) {
				t.Errorf("g^r = %x", res.PublicKey())
			}
			if len(ini.PublicKey()) != KELen(v.group) {
				t.Errorf("public key %d bytes, KELen %d", len(ini.PublicKey()), KELen(v.group))
			}
			z1, err := ini.SharedSecret(unhex(t, v.gr))
			if err != nil {
				t.Fatal(err)
			}
			z2, err := res.SharedSecret(unhex(t, v.gi))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(z1, unhex(t, v.gir)) || !bytes.Equal(z2, z1) {
				t.Errorf("g^ir = %x / %x, want %s", z1, z2, v.gir)
			}
		})
	}
}

func TestMODP2048Prime(t *testing.T) {
	if modp2048P.BitLen() != 2048 || !modp2048P.ProbablyPrime(8) {
		t.Fatal("MODP-2048 modulus is not a 2048-bit prime")
	}
	q := new(big.Int).Rsh(modp2048P, 1)
	if !q.ProbablyPrime(8) {
		t.Fatal("MODP-2048 modulus is not a safe prime")
	}
}

func TestMODP2048RoundTrip(t *testing.T) {
	a, err := NewDH(DHMODP2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDH(DHMODP2048, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.PublicKey()) != 256 || KELen(DHMODP2048) != 256 {
		t.Fatalf("public value %d bytes", len(a.PublicKey()))
	}
	if bytes.Equal(a.PublicKey(), b.PublicKey()) {
		t.Fatal("two key pairs have the same public value")
	}
	za, err := a.SharedSecret(b.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	zb, err := b.SharedSecret(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(za, zb) || len(za) != 256 {
		t.Fatalf("shared secrets differ or wrong size (%d)", len(za))
	}
}

func TestMODP2048FixedKeyPadding(t *testing.T) {
	// x = 2: g^x = 4, which must be left-padded to 256 bytes.
	d, err := newDHWithPrivate(DHMODP2048, []byte{2})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 256)
	want[255] = 4
	if !bytes.Equal(d.PublicKey(), want) {
		t.Fatalf("public value not padded: %x", d.PublicKey()[250:])
	}
	// peer y = 3: 3^2 = 9
	peer := make([]byte, 256)
	peer[255] = 3
	z, err := d.SharedSecret(peer)
	if err != nil || len(z) != 256 || z[255] != 9 || !allZero(z[:255]) {
		t.Fatalf("shared secret %x, %v", z, err)
	}
	for _, bad := range [][]byte{{0}, {1}, modp2048P.Bytes()} {
		if _, err := newDHWithPrivate(DHMODP2048, bad); err == nil {
			t.Errorf("private exponent %x accepted", bad)
		}
	}
}

func TestDHRejectsBadPeerValues(t *testing.T) {
	pad := func(x *big.Int) []byte { return x.FillBytes(make([]byte, 256)) }
	pMinus1 := new(big.Int).Sub(modp2048P, big.NewInt(1))
	modp, _ := NewDH(DHMODP2048, nil)
	for name, peer := range map[string][]byte{
		"zero":  pad(big.NewInt(0)),
		"one":   pad(big.NewInt(1)),
		"p-1":   pad(pMinus1),
		"p":     pad(modp2048P),
		"short": make([]byte, 255),
		"long":  append([]byte{0}, pad(big.NewInt(5))...),
		"empty": nil,
	} {
		if _, err := modp.SharedSecret(peer); err == nil {
			t.Errorf("MODP peer %s accepted", name)
		}
	}

	p256, _ := NewDH(DHECP256, nil)
	offCurve := unhex(t, dhVectors[0].gr)
	offCurve[63] ^= 1
	for name, peer := range map[string][]byte{
		"off curve":     offCurve,
		"zero point":    make([]byte, 64),
		"with 04":       append([]byte{4}, unhex(t, dhVectors[0].gr)...),
		"p384 on p256":  unhex(t, dhVectors[1].gr),
		"x only":        unhex(t, dhVectors[0].gr)[:32],
		"empty":         nil,
		"too long by 1": append(unhex(t, dhVectors[0].gr), 0),
	} {
		if _, err := p256.SharedSecret(peer); err == nil {
			t.Errorf("ECP-256 peer %s accepted", name)
		}
	}

	x, _ := NewDH(DHCurve25519, nil)
	// Low-order points give an all-zero shared secret (RFC 7748 section 6.1).
	lowOrder := [][]byte{
		make([]byte, 32),
		append([]byte{1}, make([]byte, 31)...),
		unhex(t, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	}
	for _, peer := range lowOrder {
		if _, err := x.SharedSecret(peer); err == nil {
			t.Errorf("X25519 low-order peer %x accepted", peer)
		}
	}
	if _, err := x.SharedSecret(make([]byte, 31)); err == nil {
		t.Error("X25519 short peer accepted")
	}
}

func TestNewDHGroups(t *testing.T) {
	for _, g := range []uint16{DHMODP2048, DHECP256, DHECP384, DHCurve25519} {
		a, err := NewDH(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewDH(g, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if a.Group() != g || len(a.PublicKey()) != KELen(g) {
			t.Errorf("group %d: Group %d, public %d bytes", g, a.Group(), len(a.PublicKey()))
		}
		za, err1 := a.SharedSecret(b.PublicKey())
		zb, err2 := b.SharedSecret(a.PublicKey())
		if err1 != nil || err2 != nil || !bytes.Equal(za, zb) {
			t.Errorf("group %d: no agreement (%v, %v)", g, err1, err2)
		}
		// PublicKey returns a copy.
		pk := a.PublicKey()
		pk[0] ^= 0xff
		if bytes.Equal(pk, a.PublicKey()) {
			t.Errorf("group %d: PublicKey exposes internal state", g)
		}
	}
	for _, g := range []uint16{0, 1, 2, 5, 15, 21, 32} {
		if _, err := NewDH(g, nil); err == nil {
			t.Errorf("NewDH(%d) succeeded", g)
		}
		if KELen(g) != 0 {
			t.Errorf("KELen(%d) = %d", g, KELen(g))
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errFailingReader }

var errFailingReader = bytes.ErrTooLarge

func TestNewDHRandFailure(t *testing.T) {
	if _, err := NewDH(DHMODP2048, failingReader{}); err == nil {
		t.Error("MODP key generation ignored a failing random source")
	}
}

func TestWipeDH(t *testing.T) {
	d, err := NewDH(14, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := NewDH(14, nil)
	if _, err := d.SharedSecret(peer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	x := d.(*modpDH).x
	words := x.Bits()[:cap(x.Bits())]
	WipeDH(d)
	for _, w := range words {
		if w != 0 {
			t.Fatal("MODP private exponent not zeroed")
		}
	}
	if _, err := d.SharedSecret(peer.PublicKey()); err == nil {
		t.Error("SharedSecret works with a wiped key")
	}
	e, _ := NewDH(DHECP256, nil)
	WipeDH(e) // ecdh keys cannot be zeroed: no effect, no panic
	WipeDH(nil)
}
