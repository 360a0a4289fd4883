package ike

import (
	"net/netip"
	"time"
)

// keepaliveInterval is how often a NAT keepalive (RFC 3948 2.3) goes out when we are behind
// a NAT, so that the NAT keeps the UDP mapping of our ESP-in-UDP flow.
const keepaliveInterval = 20 * time.Second

// keepaliver is implemented by dataplanes that can send NAT keepalives.
type keepaliver interface {
	SendKeepalive(local, remote netip.AddrPort) error
}

// ScheduleKeepalive starts NAT keepalives for sa if we are behind a NAT.
func (e *Engine) ScheduleKeepalive(sa *IKESA) {
	ka, ok := e.dp.(keepaliver)
	if !ok || !sa.NATLocal {
		return
	}
	var tick func()
	tick = func() {
		e.Do(func() {
			if sa.State != IKEEstablished && sa.State != IKEDeleting {
				return
			}
			local := netip.AddrPortFrom(sa.Local.Addr(), e.cfg.NATTPort)
			ka.SendKeepalive(local, sa.Remote)
			time.AfterFunc(keepaliveInterval, tick)
		})
	}
	time.AfterFunc(keepaliveInterval, tick)
}
