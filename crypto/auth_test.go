package crypto

import (
	"bytes"
	"crypto/sha512"
	"testing"
)

func TestPSKAuth(t *testing.T) {
	prf, _ := NewPRF(PRFHMACSHA256)
	psk := []byte("correct horse battery staple")
	got := PSKAuth(prf, psk, []byte("signed octets"))
	// prf(prf(psk, "Key Pad for IKEv2"), signed octets), computed with Python's hmac.
	checkHex(t, "AUTH", got, "3a6f56da2b14d5186d7d5850bec52f2df5af34a5766c1fe032e228cc9acd2476")

	prf384, _ := NewPRF(PRFHMACSHA384)
	so := []byte("another message")
	want := refHMAC(sha512.New384, refHMAC(sha512.New384, psk, []byte("Key Pad for IKEv2")), so)
	if !bytes.Equal(PSKAuth(prf384, psk, so), want) {
		t.Error("HMAC-SHA-384 PSK AUTH mismatch")
	}
	if bytes.Equal(PSKAuth(prf, []byte("other"), so), PSKAuth(prf, psk, so)) {
		t.Error("AUTH does not depend on the PSK")
	}
}

func TestSignedOctets(t *testing.T) {
	prf, _ := NewPRF(PRFHMACSHA512)
	msg, nonce, skp, id := []byte("IKE_SA_INIT message"), seq(0, 32), seq(32, 96), []byte{2, 0, 0, 0, 'v', 'p', 'n'}
	got := SignedOctets(prf, msg, nonce, skp, id)
	want := bytes.Join([][]byte{msg, nonce, refHMAC(sha512.New, skp, id)}, nil)
	if !bytes.Equal(got, want) {
		t.Errorf("SignedOctets = %x, want %x", got, want)
	}
}
