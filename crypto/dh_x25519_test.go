package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

// ladder runs x25519Ladder on slices (the tests' inputs are 32 bytes).
func ladder(t testing.TB, k, u []byte) []byte {
	t.Helper()
	if len(k) != 32 || len(u) != 32 {
		t.Fatalf("ladder input of %d and %d bytes", len(k), len(u))
	}
	var out [32]byte
	x25519Ladder(&out, (*[32]byte)(k), (*[32]byte)(u))
	return out[:]
}

// ecdhX25519 is the reference: crypto/ecdh's X25519(k, u), with its error for an all-zero
// result.
func ecdhX25519(t testing.TB, k, u []byte) ([]byte, error) {
	t.Helper()
	priv, err := ecdh.X25519().NewPrivateKey(k)
	if err != nil {
		t.Fatalf("ecdh private key %x: %v", k, err)
	}
	pub, err := ecdh.X25519().NewPublicKey(u)
	if err != nil {
		t.Fatalf("ecdh public key %x: %v", u, err)
	}
	return priv.ECDH(pub)
}

// ourX25519 is X25519(k, u) through the DH interface, as IKE uses it.
func ourX25519(t testing.TB, k, u []byte) ([]byte, error) {
	t.Helper()
	d, err := newDHWithPrivate(DHCurve25519, k)
	if err != nil {
		t.Fatalf("private key %x: %v", k, err)
	}
	return d.SharedSecret(u)
}

// RFC 7748 section 5.2: the two single test vectors (the second u has its top bit set,
// which must be ignored) and the iterated one.
func TestX25519RFC7748Vectors(t *testing.T) {
	for _, v := range []struct{ k, u, want string }{
		{
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
		},
		{
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
		},
	} {
		k, u, want := unhex(t, v.k), unhex(t, v.u), unhex(t, v.want)
		if got := ladder(t, k, u); !bytes.Equal(got, want) {
			t.Errorf("X25519(%s, %s) = %x, want %s", v.k, v.u, got, v.want)
		}
		got, err := ourX25519(t, k, u)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("SharedSecret(%s) = %x, %v; want %s", v.u, got, err, v.want)
		}
	}

	// k = u = 9; then k, u = X25519(k, u), k.
	k := make([]byte, 32)
	k[0] = 9
	u := bytes.Clone(k)
	checks := map[int]string{
		1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
		1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
	}
	for i := 1; i <= 1000; i++ {
		k, u = ladder(t, k, u), k
		if want, ok := checks[i]; ok && !bytes.Equal(k, unhex(t, want)) {
			t.Errorf("after %d iterations k = %x, want %s", i, k, want)
		}
	}
}

// RFC 7748 section 6.1: Alice's and Bob's public values and their shared secret.
func TestX25519RFC7748DH(t *testing.T) {
	alicePriv := unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	alicePub := unhex(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	bobPriv := unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	bobPub := unhex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
	shared := unhex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")

	alice, err := newDHWithPrivate(DHCurve25519, alicePriv)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := newDHWithPrivate(DHCurve25519, bobPriv)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := alice.(*x25519DH); !ok {
		t.Fatalf("group 31 is a %T, want *x25519DH", alice)
	}
	if !bytes.Equal(alice.PublicKey(), alicePub) || !bytes.Equal(bob.PublicKey(), bobPub) {
		t.Errorf("public values %x, %x", alice.PublicKey(), bob.PublicKey())
	}
	// The base-point ladder must agree with the Edwards fixed-base path.
	nine := make([]byte, 32)
	nine[0] = 9
	if got := ladder(t, alicePriv, nine); !bytes.Equal(got, alicePub) {
		t.Errorf("ladder X25519(a, 9) = %x", got)
	}
	za, errA := alice.SharedSecret(bobPub)
	zb, errB := bob.SharedSecret(alicePub)
	if errA != nil || errB != nil || !bytes.Equal(za, shared) || !bytes.Equal(zb, shared) {
		t.Errorf("shared secrets %x (%v), %x (%v), want %x", za, errA, zb, errB, shared)
	}
}

// randomU returns a u value of one of the kinds RFC 7748 section 5 says to accept: a
// random one, one with the top bit set, or a non-canonical one (2^255-19 .. 2^255-1, with
// or without the top bit).
func randomU(r *mrand.Rand, kind int) []byte {
	u := make([]byte, 32)
	for i := range u {
		u[i] = byte(r.Uint32())
	}
	switch kind {
	case 0:
		u[31] &= 0x7f
	case 1:
		u[31] |= 0x80
	case 2:
		// p + n for n in 0..18: 0xed + n in the low byte, then 0xff..., then 0x7f.
		u[0] = byte(0xed + r.IntN(19))
		for i := 1; i < 31; i++ {
			u[i] = 0xff
		}
		u[31] = 0x7f | byte(r.IntN(2))<<7
	}
	return u
}

// Our ladder and key generation agree with crypto/ecdh on random inputs, errors included.
func TestX25519AgreesWithECDH(t *testing.T) {
	r := mrand.New(mrand.NewChaCha8([32]byte{'v', 'i', 'g', 'i', 'l'}))
	for i := range 300 {
		k := make([]byte, 32)
		for j := range k {
			k[j] = byte(r.Uint32())
		}
		u := randomU(r, i%3)
		want, wantErr := ecdhX25519(t, k, u)
		got, err := ourX25519(t, k, u)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("X25519(%x, %x) = %x, %v; crypto/ecdh %x, %v", k, u, got, err, want, wantErr)
		}

		ours, err := newDHWithPrivate(DHCurve25519, k)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := ecdh.X25519().NewPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours.PublicKey(), ref.PublicKey().Bytes()) {
			t.Fatalf("public value of %x: %x, crypto/ecdh %x", k, ours.PublicKey(), ref.PublicKey().Bytes())
		}
	}
}

// Low-order u values (and non-canonical or top-bit encodings of them) make the shared
// secret all zero: refused, as crypto/ecdh refuses them.
func TestX25519LowOrderRefused(t *testing.T) {
	lowOrder := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0
		"0100000000000000000000000000000000000000000000000000000000000000", // 1
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
		"0000000000000000000000000000000000000000000000000000000000000080", // 0, top bit
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880", // order 8, top bit
	}
	d, err := NewDH(DHCurve25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := d.(*x25519DH).priv[:]
	for _, s := range lowOrder {
		u := unhex(t, s)
		z, err := d.SharedSecret(u)
		if !errors.Is(err, errX25519AllZero) || z != nil {
			t.Errorf("low-order %s: %x, %v; want the all-zero error", s, z, err)
		}
		if _, err := ecdhX25519(t, k, u); err == nil {
			t.Errorf("low-order %s: crypto/ecdh accepts it, the list is wrong", s)
		}
	}
}

func TestX25519Lengths(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := newDHWithPrivate(DHCurve25519, make([]byte, n)); err == nil {
			t.Errorf("private key of %d bytes accepted", n)
		}
	}
	d, err := NewDH(DHCurve25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := NewDH(DHCurve25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := peer.PublicKey()
	for _, bad := range [][]byte{nil, good[:31], append(bytes.Clone(good), 0)} {
		if _, err := d.SharedSecret(bad); err == nil {
			t.Errorf("peer value of %d bytes accepted", len(bad))
		}
	}
	if _, err := d.SharedSecret(good); err != nil {
		t.Errorf("valid peer value refused: %v", err)
	}
	if _, err := NewDH(DHCurve25519, failingReader{}); !errors.Is(err, errFailingReader) {
		t.Errorf("key generation with a failing random source: %v", err)
	}
	// Two keys from crypto/rand differ (the reader is used, not a constant).
	if bytes.Equal(d.PublicKey(), good) {
		t.Error("two generated keys have the same public value")
	}
}

func TestX25519Wipe(t *testing.T) {
	d, err := NewDH(DHCurve25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := NewDH(DHCurve25519, nil)
	if _, err := d.SharedSecret(peer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	priv := d.(*x25519DH).priv
	if allZero(priv[:]) {
		t.Fatal("private value is zero before the wipe")
	}
	pub := d.PublicKey()
	WipeDH(d)
	if !allZero(priv[:]) {
		t.Errorf("private value not zeroed: %x", priv[:])
	}
	z, err := d.SharedSecret(peer.PublicKey())
	if !errors.Is(err, errX25519Wiped) || z != nil {
		t.Errorf("SharedSecret after WipeDH = %x, %v", z, err)
	}
	if !bytes.Equal(d.PublicKey(), pub) {
		t.Error("WipeDH changed the public value")
	}
	WipeDH(d) // twice: no panic
}

// FuzzX25519AgreesWithECDH: for any scalar and u, our X25519 gives crypto/ecdh's result, and
// both refuse an all-zero one; inputs of a wrong length are refused by both.
func FuzzX25519AgreesWithECDH(f *testing.F) {
	nine := make([]byte, 32)
	nine[0] = 9
	for _, seed := range [][2]string{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"},
		{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
		{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"},
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"0000000000000000000000000000000000000000000000000000000000000000", "0000000000000000000000000000000000000000000000000000000000000000"},
	} {
		f.Add(unhex(f, seed[0]), unhex(f, seed[1]))
	}
	f.Add(nine, nine)
	f.Add([]byte{1, 2, 3}, nine)
	f.Add(nine, []byte{9})
	f.Fuzz(func(t *testing.T, k, u []byte) {
		ours, err := newDHWithPrivate(DHCurve25519, k)
		if _, refErr := ecdh.X25519().NewPrivateKey(k); (err != nil) != (refErr != nil) {
			t.Fatalf("private key of %d bytes: ours %v, crypto/ecdh %v", len(k), err, refErr)
		}
		if err != nil {
			return
		}
		got, err := ours.SharedSecret(u)
		if len(u) != 32 {
			if err == nil {
				t.Fatalf("peer value of %d bytes accepted", len(u))
			}
			return
		}
		want, wantErr := ecdhX25519(t, k, u)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("X25519(%x, %x) = %x, %v; crypto/ecdh %x, %v", k, u, got, err, want, wantErr)
		}
		if err != nil && !errors.Is(err, errX25519AllZero) {
			t.Fatalf("X25519(%x, %x): unexpected error %v", k, u, err)
		}
	})
}

func BenchmarkX25519KeyGen(b *testing.B) {
	b.Run("vigil", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewDH(DHCurve25519, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := ecdh.X25519().GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkX25519Shared(b *testing.B) {
	d, _ := NewDH(DHCurve25519, nil)
	peer, _ := NewDH(DHCurve25519, nil)
	pub := peer.PublicKey()
	b.Run("vigil", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.SharedSecret(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdh", func(b *testing.B) {
		priv, err := ecdh.X25519().NewPrivateKey(d.(*x25519DH).priv[:])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			// What the crypto/ecdh path did per exchange: parse the peer value, then agree.
			pk, err := ecdh.X25519().NewPublicKey(pub)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := priv.ECDH(pk); err != nil {
				b.Fatal(err)
			}
		}
	})
}
