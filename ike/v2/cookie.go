package v2

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/netip"
	"time"
)

// Stateless cookies (RFC 7296 2.6). A cookie is one version octet followed by 16 bytes of
// HMAC-SHA-256(secret, Ni | initiator IP | initiator port | SPIi). The secret is replaced every
// cookieRotate; the previous one stays valid for one more period, so an initiator that got a
// cookie just before a rotation is not sent round again. The version octet says which secret
// made the cookie, as 2.6 suggests.

const cookieRotate = 2 * time.Minute

type cookieJar struct {
	rand    io.Reader
	cur     [32]byte
	prev    [32]byte
	ver     byte
	hasPrev bool
	rotated time.Time
}

func (j *cookieJar) init(r io.Reader, now time.Time) {
	j.rand = r
	io.ReadFull(r, j.cur[:])
	j.rotated = now
}

// rotate replaces the secret when it is older than cookieRotate.
func (j *cookieJar) rotate(now time.Time) {
	if now.Sub(j.rotated) < cookieRotate {
		return
	}
	if now.Sub(j.rotated) >= 2*cookieRotate {
		j.hasPrev = false // the previous secret would be older than its grace period
	} else {
		j.prev, j.hasPrev = j.cur, true
	}
	j.ver++
	io.ReadFull(j.rand, j.cur[:])
	j.rotated = now
}

func cookieMAC(secret *[32]byte, ver byte, ni []byte, remote netip.AddrPort, spii uint64) []byte {
	m := hmac.New(sha256.New, secret[:])
	m.Write(ni)
	m.Write(remote.Addr().AsSlice())
	var b [10]byte
	binary.BigEndian.PutUint16(b[:2], remote.Port())
	binary.BigEndian.PutUint64(b[2:], spii)
	m.Write(b[:])
	return append([]byte{ver}, m.Sum(nil)[:16]...)
}

// make returns the cookie for an initiator with the current secret.
func (j *cookieJar) make(now time.Time, ni []byte, remote netip.AddrPort, spii uint64) []byte {
	j.rotate(now)
	return cookieMAC(&j.cur, j.ver, ni, remote, spii)
}

// valid checks a returned cookie against the current and the previous secret.
func (j *cookieJar) valid(now time.Time, c, ni []byte, remote netip.AddrPort, spii uint64) bool {
	j.rotate(now)
	if len(c) != 17 {
		return false
	}
	switch {
	case c[0] == j.ver:
		return hmac.Equal(c, cookieMAC(&j.cur, j.ver, ni, remote, spii))
	case c[0] == j.ver-1 && j.hasPrev:
		return hmac.Equal(c, cookieMAC(&j.prev, j.ver-1, ni, remote, spii))
	}
	return false
}
