package ike

import (
	"errors"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// Diffie-Hellman values, reused for a short time (RFC 7296 section 2.12).
//
// Every IKE SA, IKE SA rekey and Child SA with PFS needs a DH value of ours. Making one costs
// a fixed-base scalar multiplication (Curve25519: ~40 us here, a third of a set-up's DH cost),
// so during a mass set-up (a gateway or a hub restarting with thousands of tunnels, or an
// IKE_SA_INIT flood) the engine hands the same value to every exchange that asks for one of
// the same group within DHReuse (default 1 s), and makes a new one after that.
//
// What this gives up: perfect forward secrecy is per window instead of per exchange. An
// attacker who reads the gateway's memory at time t learns the private values of the last
// window, so the keys of exchanges made in it -- which are then live SAs, whose keys are in
// that memory anyway, unless they were deleted within that second. A private value is wiped
// once its window has passed and no exchange that took it still waits for its peer's value
// (see dhShare); nothing keeps it longer than such an exchange would keep its own value.
//
// Why it is safe to reuse: every peer value is validated before use, as RFC 6989 requires of
// implementations that reuse: MODP-2048 (a safe prime) is checked to lie in 1 < y < p-1, the
// ECP groups' points by crypto/ecdh, and Curve25519's all-zero result of a low-order point is
// refused (crypto.DH.SharedSecret). The shared secret with each peer is different, and
// SKEYSEED and KEYMAT also mix in both nonces, so no two SAs share keys.
//
// The peer's side: a peer that reuses its values too (another Vigil, say a hub and its spokes
// restarting together) sends the same value in many exchanges of a window, and the shared
// secret of our value and that one is then the same as well. RFC 7296 2.12 allows an
// implementation that reuses to remember the other side's value and skip the second half of
// the calculation: a shared value keeps the secrets it computed with the last few peer values
// (dhSecretCache), and an exchange that brings one of them again gets the secret without a
// scalar multiplication. The secret is what the computation would give (nothing an attacker
// sends can change it), a hit only tells that the same public value -- visible on the wire --
// came within the window, and the secrets are wiped with the value. Against a peer that makes
// a new value per exchange nothing hits and the cache stays at dhSecretCache entries.
//
// DHReuse < 0 turns reuse off: every exchange then makes its own value.

// DefaultDHReuse is how long a DH value is handed out when Config.DHReuse is 0.
const DefaultDHReuse = time.Second

// dhShare is one DH value of ours that exchanges share.
type dhShare struct {
	dh      crypto.DH
	group   uint16
	refs    int  // leases not yet released
	retired bool // no new lease; wiped when refs drops to 0
	stats   *Stats
	// secrets: shared secrets computed with this value, by the peer's value (at most
	// dhSecretCache; only successes, so only validated peer values).
	secrets map[string][]byte
}

// dhSecretCache is how many peer values a shared value remembers the secrets of. A Vigil peer
// needs one (two across its window's end); more would only hold copies for peers that never
// send a value twice.
const dhSecretCache = 4

// wipe zeroes the value and the secrets it computed.
func (s *dhShare) wipe() {
	crypto.WipeDH(s.dh)
	for k, z := range s.secrets {
		clear(z)
		delete(s.secrets, k)
	}
}

// dhLease is an exchange's use of a shared value. It is a crypto.DH; crypto.WipeDH on it
// releases it (the protocols wipe their DH value when they are done with it).
type dhLease struct {
	s        *dhShare
	released bool
}

var errDHReleased = errors.New("ike: Diffie-Hellman value already released")

func (l *dhLease) Group() uint16     { return l.s.group }
func (l *dhLease) PublicKey() []byte { return l.s.dh.PublicKey() }

func (l *dhLease) SharedSecret(peer []byte) ([]byte, error) {
	if l.released {
		return nil, errDHReleased
	}
	s := l.s
	if z, ok := s.secrets[string(peer)]; ok {
		s.stats.DHSecretsReused++
		return append([]byte(nil), z...), nil // the caller may clear its copy
	}
	z, err := s.dh.SharedSecret(peer)
	if err != nil {
		return nil, err
	}
	s.stats.DHSecrets++
	if len(s.secrets) < dhSecretCache {
		if s.secrets == nil {
			s.secrets = make(map[string][]byte, dhSecretCache)
		}
		s.secrets[string(peer)] = append([]byte(nil), z...)
	}
	return z, nil
}

// Wipe releases the lease; the last release of a retired value wipes it.
func (l *dhLease) Wipe() {
	if l.released {
		return
	}
	l.released = true
	l.s.refs--
	if l.s.retired && l.s.refs == 0 {
		l.s.wipe()
	}
}

// NewDH returns a DH value of group for an exchange (loop only): a fresh one, or with reuse
// on, the group's current shared value. The caller wipes it (crypto.WipeDH) when done.
func (e *Engine) NewDH(group uint16) (crypto.DH, error) {
	if e.cfg.DHReuse < 0 {
		e.stats.DHValues++
		return crypto.NewDH(group, e.rand)
	}
	s := e.dhShares[group]
	if s == nil {
		dh, err := crypto.NewDH(group, e.rand)
		if err != nil {
			return nil, err
		}
		s = &dhShare{dh: dh, group: group, stats: &e.stats}
		if e.dhShares == nil {
			e.dhShares = map[uint16]*dhShare{}
		}
		e.dhShares[group] = s
		e.stats.DHValues++
		e.After(e.cfg.DHReuse, func() { e.retireDH(s) })
	} else {
		e.stats.DHReused++
	}
	s.refs++
	return &dhLease{s: s}, nil
}

// retireDH ends s's window: no exchange gets it any more, and it is wiped now if no exchange
// holds it, or else when the last one releases it.
func (e *Engine) retireDH(s *dhShare) {
	if e.dhShares[s.group] == s {
		delete(e.dhShares, s.group)
	}
	s.retired = true
	if s.refs == 0 {
		s.wipe()
	}
}

// retireAllDH ends every window (when the loop stops).
func (e *Engine) retireAllDH() {
	for _, s := range e.dhShares {
		e.retireDH(s)
	}
}
