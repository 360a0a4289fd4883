package ike

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

func runEngineWith(t *testing.T, cfg Config) (*Engine, func()) {
	e := New(cfg, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return e, func() { cancel(); <-done }
}

// peerValue is a Curve25519 public value of a peer.
func peerValue(t *testing.T) []byte {
	t.Helper()
	p, err := crypto.NewDH(crypto.DHCurve25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.PublicKey()
}

// usable reports whether d can still compute a shared secret (it is not wiped or released).
func usable(t *testing.T, d crypto.DH) bool {
	t.Helper()
	_, err := d.SharedSecret(peerValue(t))
	return err == nil
}

// passWindow lets DefaultDHReuse of fake time pass and the engine run the timers due.
func passWindow(e *Engine) {
	time.Sleep(DefaultDHReuse)
	synctest.Wait()
	e.Call(func() {})
}

// TestDHReusedWithinWindow: exchanges within DHReuse of each other get the same value; the
// first one after it a new one; the counters say so.
func TestDHReusedWithinWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		var a, b, c crypto.DH
		e.Call(func() { a, _ = e.NewDH(crypto.DHCurve25519) })
		time.Sleep(DefaultDHReuse - time.Millisecond)
		e.Call(func() { b, _ = e.NewDH(crypto.DHCurve25519) })
		time.Sleep(time.Millisecond)
		synctest.Wait()
		e.Call(func() { c, _ = e.NewDH(crypto.DHCurve25519) })
		if a == nil || b == nil || c == nil {
			t.Fatal("NewDH failed")
		}
		if !bytes.Equal(a.PublicKey(), b.PublicKey()) {
			t.Error("two exchanges within the window got different values")
		}
		if bytes.Equal(a.PublicKey(), c.PublicKey()) {
			t.Error("an exchange after the window got the old value")
		}
		e.Call(func() {
			if s := e.stats; s.DHValues != 2 || s.DHReused != 1 {
				t.Errorf("DHValues %d, DHReused %d; want 2 and 1", s.DHValues, s.DHReused)
			}
		})
	})
}

// TestDHWipedWhenRetiredAndReleased: a value is wiped once its window has passed and every
// exchange that took it has released it -- not before either.
func TestDHWipedWhenRetiredAndReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		var a, b crypto.DH
		e.Call(func() {
			a, _ = e.NewDH(crypto.DHCurve25519)
			b, _ = e.NewDH(crypto.DHCurve25519)
		})
		share := a.(*dhLease).s
		crypto.WipeDH(a) // a's exchange is done; b's still waits for its peer
		if !usable(t, b) {
			t.Fatal("releasing one lease broke the other's value")
		}
		passWindow(e)
		if !share.retired {
			t.Fatal("value not retired after its window")
		}
		if !usable(t, b) {
			t.Fatal("a retired value was wiped while an exchange still holds it")
		}
		if usable(t, a) {
			t.Error("a released lease still computes")
		}
		crypto.WipeDH(b)
		crypto.WipeDH(b) // twice is harmless
		if _, err := share.dh.SharedSecret(peerValue(t)); err == nil {
			t.Error("the retired value was not wiped when its last lease was released")
		}
		if share.refs != 0 {
			t.Errorf("refs = %d after all releases", share.refs)
		}
	})
}

// TestDHUnusedValueWipedAtWindowEnd: a value no exchange holds any more is wiped when its
// window ends, without waiting for the next exchange; and when the engine stops.
func TestDHUnusedValueWipedAtWindowEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		var a crypto.DH
		e.Call(func() { a, _ = e.NewDH(crypto.DHCurve25519) })
		share := a.(*dhLease).s
		crypto.WipeDH(a)
		if _, err := share.dh.SharedSecret(peerValue(t)); err != nil {
			t.Fatal("value wiped inside its window")
		}
		passWindow(e)
		if _, err := share.dh.SharedSecret(peerValue(t)); err == nil {
			t.Error("value not wiped at the end of its window")
		}

		var b crypto.DH
		e.Call(func() { b, _ = e.NewDH(crypto.DHCurve25519) })
		crypto.WipeDH(b)
		stop()
		if _, err := b.(*dhLease).s.dh.SharedSecret(peerValue(t)); err == nil {
			t.Error("value not wiped when the engine stopped")
		}
	})
}

// TestDHReuseOff: with DHReuse < 0 every exchange makes its own value.
func TestDHReuseOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngineWith(t, Config{DHReuse: -1})
		defer stop()
		var a, b crypto.DH
		e.Call(func() {
			a, _ = e.NewDH(crypto.DHCurve25519)
			b, _ = e.NewDH(crypto.DHCurve25519)
		})
		if bytes.Equal(a.PublicKey(), b.PublicKey()) {
			t.Error("reuse off, yet two exchanges got the same value")
		}
		if _, ok := a.(*dhLease); ok {
			t.Error("reuse off, yet NewDH handed out a shared value")
		}
	})
}

// TestDHReusePerGroup: a value serves only its own group.
func TestDHReusePerGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		var x, p crypto.DH
		e.Call(func() {
			x, _ = e.NewDH(crypto.DHCurve25519)
			p, _ = e.NewDH(crypto.DHECP256)
		})
		if x.Group() != crypto.DHCurve25519 || p.Group() != crypto.DHECP256 {
			t.Errorf("groups %d and %d", x.Group(), p.Group())
		}
		if len(p.PublicKey()) != crypto.KELen(crypto.DHECP256) {
			t.Errorf("ECP-256 value of %d bytes", len(p.PublicKey()))
		}
	})
}

// TestDHSecretRemembered: a shared value remembers the secret it computed with a peer value,
// and gives it again (an independent copy) when the same peer value comes back; it remembers
// at most dhSecretCache of them, and wipes them with the value.
func TestDHSecretRemembered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := runEngine(t)
		defer stop()
		var a, b crypto.DH
		e.Call(func() {
			a, _ = e.NewDH(crypto.DHCurve25519)
			b, _ = e.NewDH(crypto.DHCurve25519)
		})
		peer := peerValue(t)
		z1, err1 := a.SharedSecret(peer)
		want := bytes.Clone(z1)
		clear(z1) // as callers do once the keys are derived
		z2, err2 := b.SharedSecret(peer)
		if err1 != nil || err2 != nil || !bytes.Equal(z2, want) {
			t.Fatalf("second exchange with the same peer value: %x, %v; want %x", z2, errors.Join(err1, err2), want)
		}
		share := a.(*dhLease).s
		if e.stats.DHSecrets != 1 || e.stats.DHSecretsReused != 1 {
			t.Errorf("DHSecrets %d, DHSecretsReused %d; want 1 and 1", e.stats.DHSecrets, e.stats.DHSecretsReused)
		}
		for range 2 * dhSecretCache {
			if _, err := b.SharedSecret(peerValue(t)); err != nil {
				t.Fatal(err)
			}
		}
		if len(share.secrets) != dhSecretCache {
			t.Errorf("%d secrets remembered, want at most %d", len(share.secrets), dhSecretCache)
		}
		if _, err := b.SharedSecret(make([]byte, 32)); err == nil {
			t.Error("an all-zero (low-order) peer value was accepted")
		}
		if _, ok := share.secrets[string(make([]byte, 32))]; ok {
			t.Error("a refused peer value was remembered")
		}
		kept := share.secrets[string(peer)]
		crypto.WipeDH(a)
		crypto.WipeDH(b)
		passWindow(e)
		if len(share.secrets) != 0 || !bytes.Equal(kept, make([]byte, len(kept))) {
			t.Errorf("secrets not wiped with the value: %d left, the first is %x", len(share.secrets), kept)
		}
	})
}
