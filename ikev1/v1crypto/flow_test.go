package v1crypto_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"testing"

	vcrypto "github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev1/v1crypto"
	"github.com/vigil-ipsec/vigil/ikev1/wire"
)

// The test in this file plays both sides of Main Mode, Quick Mode and an
// Informational exchange through the wire codec, checking that the hashes,
// IV chaining and keying material agree.

var _ wire.Cipher = (*v1crypto.CBC)(nil)

func rnd(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

type side struct {
	keys   *v1crypto.Phase1Keys
	phase1 *v1crypto.CBC
}

// send encrypts payloads for an exchange on state c.
func send(h wire.Header, ps []wire.Payload, c *v1crypto.CBC) []byte {
	return wire.AppendEncrypted(nil, h, ps, c)
}

// recv decrypts on a clone of *c and commits the clone only if verify
// accepts the message, as an engine would.
func recv(t *testing.T, b []byte, c **v1crypto.CBC, verify func(*wire.Message) bool) *wire.Message {
	t.Helper()
	trial := (*c).Clone()
	m, err := wire.OpenEncrypted(b, trial)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if !verify(m) {
		t.Fatalf("%v: hash verification failed", m)
	}
	*c = trial
	return m
}

func TestMainQuickInformational(t *testing.T) {
	const hashAlg = v1crypto.SHA256
	psk := []byte("correct horse battery staple")
	ckyI, ckyR := uint64(0x1111222233334444), uint64(0x5555666677778888)

	// Main Mode 1/2: the responder keeps SAi_b as received.
	sai := &wire.SA{Proposals: []wire.Proposal{{Number: 1, Protocol: wire.ProtoISAKMP, Transforms: []wire.Transform{{
		Number: 1, ID: wire.TransformKeyIKE, Attributes: []wire.Attribute{
			wire.BasicAttr(wire.IKEAttrEncryption, wire.IKEEncrAESCBC), wire.BasicAttr(wire.IKEAttrKeyLength, 256),
			wire.BasicAttr(wire.IKEAttrHash, wire.IKEHashSHA256), wire.BasicAttr(wire.IKEAttrAuthMethod, wire.IKEAuthPSK),
			wire.BasicAttr(wire.IKEAttrGroupDescription, wire.GroupMODP2048),
		}}}}}}
	mm1 := (&wire.Message{Header: wire.Header{CookieI: ckyI, Exchange: wire.ExchangeMainMode}, Payloads: []wire.Payload{sai, &wire.VendorID{Data: wire.VendorIDDPD}}}).Append(nil)
	rmm1, err := wire.ParseMessage(mm1)
	if err != nil {
		t.Fatal(err)
	}
	saiB := rmm1.Body(0)
	if !bytes.Equal(saiB, wire.AppendBody(nil, sai)) {
		t.Fatal("SAi_b as received differs from what the initiator hashes")
	}

	// Main Mode 3/4: DH and nonces.
	dhI, _ := vcrypto.NewDH(vcrypto.DHMODP2048, nil)
	dhR, _ := vcrypto.NewDH(vcrypto.DHMODP2048, nil)
	ni, nr := rnd(t, 32), rnd(t, 32)
	derive := func(self vcrypto.DH, peer []byte) side {
		gxy, err := self.SharedSecret(peer)
		if err != nil {
			t.Fatal(err)
		}
		k, err := v1crypto.DerivePhase1PSK(v1crypto.Phase1Params{Hash: hashAlg, EncKeyLen: 32, PSK: psk,
			Ni: ni, Nr: nr, GXi: dhI.PublicKey(), GXr: dhR.PublicKey(), GXY: gxy, CookieI: ckyI, CookieR: ckyR})
		if err != nil {
			t.Fatal(err)
		}
		c, err := k.Cipher()
		if err != nil {
			t.Fatal(err)
		}
		return side{k, c}
	}
	ini, res := derive(dhI, dhR.PublicKey()), derive(dhR, dhI.PublicKey())

	// Main Mode 5 (initiator, encrypted): IDii, HASH_I.
	mmHdr := wire.Header{CookieI: ckyI, CookieR: ckyR, Exchange: wire.ExchangeMainMode}
	idii := wire.NewAddrID(netip.MustParseAddr("192.0.2.1"))
	idii.Protocol, idii.Port = 17, 500
	mm5 := send(mmHdr, []wire.Payload{idii, &wire.Hash{Data: ini.keys.HashI(saiB, wire.AppendBody(nil, idii))},
		&wire.Notification{DOI: wire.DOIIPsec, Protocol: wire.ProtoISAKMP, SPI: wire.CookieSPI(ckyI, ckyR), Type: wire.NotifyInitialContact}}, ini.phase1)
	// A forged copy is rejected without disturbing the responder's IV.
	forged := bytes.Clone(mm5)
	forged[len(forged)-20] ^= 1
	if m, err := wire.OpenEncrypted(forged, res.phase1.Clone()); err == nil {
		if m.Hash() != nil && bytes.Equal(m.Hash().Data, res.keys.HashI(saiB, m.Body(0))) {
			t.Fatal("forged MM5 verified")
		}
	}
	recv(t, mm5, &res.phase1, func(m *wire.Message) bool {
		i := m.Index(wire.PayloadID)
		return i >= 0 && m.Hash() != nil && bytes.Equal(m.Hash().Data, res.keys.HashI(saiB, m.Body(i)))
	})

	// Main Mode 6 (responder): IDir, HASH_R.
	idir := &wire.ID{Type: wire.IDFQDN, Data: []byte("gw.example.org")}
	mm6 := send(mmHdr, []wire.Payload{idir, &wire.Hash{Data: res.keys.HashR(saiB, wire.AppendBody(nil, idir))}}, res.phase1)
	recv(t, mm6, &ini.phase1, func(m *wire.Message) bool {
		return bytes.Equal(m.Hash().Data, ini.keys.HashR(saiB, m.Body(0)))
	})
	if !bytes.Equal(ini.phase1.IV(), res.phase1.IV()) || !bytes.Equal(ini.phase1.IV(), mm6[len(mm6)-16:]) {
		t.Fatal("phase 1 IV is not the last block of MM6 on both sides")
	}
	p1IV := ini.phase1.IV()

	// Quick Mode with PFS.
	mid := binary.BigEndian.Uint32(rnd(t, 4))
	qmHdr := wire.Header{CookieI: ckyI, CookieR: ckyR, Exchange: wire.ExchangeQuickMode, MessageID: mid}
	qi, err := ini.keys.ExchangeCipher(ini.phase1, mid)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := res.keys.ExchangeCipher(res.phase1, mid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(qi.IV(), v1crypto.Phase2IV(hashAlg, p1IV, mid, 16)) {
		t.Fatal("Quick Mode IV")
	}
	qdhI, _ := vcrypto.NewDH(vcrypto.DHECP256, nil)
	qdhR, _ := vcrypto.NewDH(vcrypto.DHECP256, nil)
	nqi, nqr := rnd(t, 24), rnd(t, 24)
	spiI, spiR := uint32(0xc0000001), uint32(0xc0000002)
	esp := func(spi uint32) *wire.SA {
		return &wire.SA{Proposals: []wire.Proposal{{Number: 1, Protocol: wire.ProtoESP, SPI: binary.BigEndian.AppendUint32(nil, spi),
			Transforms: []wire.Transform{{Number: 1, ID: wire.TransformESPAESGCM16, Attributes: []wire.Attribute{
				wire.BasicAttr(wire.IPsecAttrEncapsulation, wire.EncapTunnel), wire.BasicAttr(wire.IPsecAttrKeyLength, 256),
				wire.BasicAttr(wire.IPsecAttrGroupDescription, wire.GroupECP256)}}}}}}
	}
	ci, _ := wire.NewSubnetID(netip.MustParsePrefix("10.1.0.0/16"))
	cr, _ := wire.NewSubnetID(netip.MustParsePrefix("10.2.0.0/16"))

	rest1 := []wire.Payload{esp(spiI), &wire.Nonce{Data: nqi}, &wire.KE{Data: qdhI.PublicKey()}, ci, cr}
	qm1 := send(qmHdr, append([]wire.Payload{&wire.Hash{Data: ini.keys.QuickHash1(mid, wire.AppendPayloads(nil, rest1))}}, rest1...), qi)
	var niB []byte
	rqm1 := recv(t, qm1, &qr, func(m *wire.Message) bool {
		return m.Index(wire.PayloadHash) == 0 && bytes.Equal(m.Hash().Data, res.keys.QuickHash1(mid, m.After(0)))
	})
	niB = rqm1.Body(rqm1.Index(wire.PayloadNonce))

	rest2 := []wire.Payload{esp(spiR), &wire.Nonce{Data: nqr}, &wire.KE{Data: qdhR.PublicKey()}, ci, cr}
	qm2 := send(qmHdr, append([]wire.Payload{&wire.Hash{Data: res.keys.QuickHash2(mid, niB, wire.AppendPayloads(nil, rest2))}}, rest2...), qr)
	rqm2 := recv(t, qm2, &qi, func(m *wire.Message) bool {
		return bytes.Equal(m.Hash().Data, ini.keys.QuickHash2(mid, nqi, m.After(0)))
	})
	nrB := rqm2.Body(rqm2.Index(wire.PayloadNonce))

	qm3 := send(qmHdr, []wire.Payload{&wire.Hash{Data: ini.keys.QuickHash3(mid, nqi, nrB)}}, qi)
	recv(t, qm3, &qr, func(m *wire.Message) bool {
		return len(m.Payloads) == 1 && bytes.Equal(m.Hash().Data, res.keys.QuickHash3(mid, niB, nqr))
	})

	// KEYMAT: each side's inbound SA equals the other's outbound SA.
	gI, err := qdhI.SharedSecret(qdhR.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	gR, err := qdhR.SharedSecret(qdhI.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	const n = 36 // AES-256-GCM key + salt
	inI := ini.keys.KeyMat(gI, uint8(wire.ProtoESP), spiI, nqi, nrB, n)
	outR := res.keys.KeyMat(gR, uint8(wire.ProtoESP), spiI, niB, nqr, n)
	inR := res.keys.KeyMat(gR, uint8(wire.ProtoESP), spiR, niB, nqr, n)
	if !bytes.Equal(inI, outR) || bytes.Equal(inI, inR) || len(inI) != n {
		t.Fatal("KEYMAT mismatch")
	}

	// Informational DPD, with its own IV, concurrent with nothing.
	imid := mid + 1
	xi, _ := ini.keys.ExchangeCipher(ini.phase1, imid)
	xr, _ := res.keys.ExchangeCipher(res.phase1, imid)
	dpd := wire.NewDPD(wire.NotifyRUThere, ckyI, ckyR, 1234)
	info := send(wire.Header{CookieI: ckyI, CookieR: ckyR, Exchange: wire.ExchangeInformational, MessageID: imid},
		[]wire.Payload{&wire.Hash{Data: ini.keys.InfoHash(imid, wire.AppendPayloads(nil, []wire.Payload{dpd}))}, dpd}, xi)
	rinfo := recv(t, info, &xr, func(m *wire.Message) bool {
		return bytes.Equal(m.Hash().Data, res.keys.InfoHash(imid, m.After(0)))
	})
	if seq, ok := rinfo.Notification(wire.NotifyRUThere).DPDSequence(); !ok || seq != 1234 {
		t.Fatal("DPD sequence")
	}

	// Phase 2 exchanges leave the phase 1 state alone.
	if !bytes.Equal(ini.phase1.IV(), p1IV) || !bytes.Equal(res.phase1.IV(), p1IV) {
		t.Fatal("phase 1 IV moved during phase 2")
	}
}

// TestStrongSwanPadding opens messages padded the way strongSwan's
// encrypt_v1 does: 1 to 16 zero bytes without a pad length byte, a full
// block when the plaintext is already aligned.
func TestStrongSwanPadding(t *testing.T) {
	key, iv := rnd(t, 16), rnd(t, 16)
	for _, hashLen := range []int{32, 40} { // 56 and 64 bytes of payloads
		ps := []wire.Payload{&wire.Hash{Data: rnd(t, hashLen)}, wire.NewDeleteESP(7)}
		plain := wire.AppendPayloads(nil, ps)
		padded := append(bytes.Clone(plain), make([]byte, 16-len(plain)%16)...)
		b, _ := aes.NewCipher(key)
		ct := make([]byte, len(padded))
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, padded)
		h := wire.Header{CookieI: 1, CookieR: 2, NextPayload: wire.PayloadHash, Version: wire.Version,
			Exchange: wire.ExchangeInformational, Flags: wire.FlagEncryption, MessageID: 9, Length: uint32(wire.HeaderLen + len(ct))}
		c, _ := v1crypto.NewCBC(key, iv)
		m, err := wire.OpenEncrypted(append(h.Append(nil), ct...), c)
		if err != nil {
			t.Fatalf("%d bytes of payloads: %v", len(plain), err)
		}
		if len(m.Payloads) != 2 || !bytes.Equal(m.After(0), wire.AppendPayloads(nil, ps[1:])) {
			t.Fatalf("payloads %v", m)
		}
		if !bytes.Equal(c.IV(), ct[len(ct)-16:]) {
			t.Fatal("IV not advanced")
		}
	}
}
