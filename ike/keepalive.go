package ike

import (
	"net/netip"
	"time"
)

// KeepaliveInterval is how often a NAT keepalive (RFC 3948 2.3) goes out when we are behind
// a NAT, so that the NAT keeps the UDP mapping of our ESP-in-UDP flow.
const KeepaliveInterval = 20 * time.Second

// ScheduleKeepalive starts NAT keepalives for sa if we are behind a NAT.
func (e *Engine) ScheduleKeepalive(sa *IKESA) {
	if !sa.NATLocal {
		return
	}
	var tick func()
	tick = func() {
		if sa.State != IKEEstablished && sa.State != IKEDeleting {
			return
		}
		local := netip.AddrPortFrom(sa.Local.Addr(), e.cfg.NATTPort)
		e.dp.SendKeepalive(local, sa.Remote)
		e.After(KeepaliveInterval, tick)
	}
	e.After(KeepaliveInterval, tick)
}
