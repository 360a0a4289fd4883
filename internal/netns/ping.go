package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// pingInterval is how long Ping waits for a reply before sending the next
// echo request.
const pingInterval = 300 * time.Millisecond

// Ping sends ICMP echo requests from inside the namespace to dst (IPv4) until
// a matching echo reply arrives (nil), an ICMP destination-unreachable for one
// of its requests arrives, or ctx ends. It does not need a ping binary: it
// opens a raw ICMP socket in the namespace.
func (n *NS) Ping(ctx context.Context, dst netip.Addr) error {
	if !dst.Is4() {
		return fmt.Errorf("netns: Ping %v: only IPv4 is supported", dst)
	}
	var conn *icmp.PacketConn
	if err := n.Do(func() error {
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return fmt.Errorf("netns %s: ping socket: %w", n.Name, err)
	}
	defer conn.Close()

	id := int(randUint16())
	payload := []byte("vigil-netns-ping")
	to := &net.IPAddr{IP: dst.AsSlice()}
	buf := make([]byte, 1500)
	for seq := 1; ; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}
		wb, err := msg.Marshal(nil)
		if err != nil {
			return err
		}
		if _, err := conn.WriteTo(wb, to); err != nil {
			return fmt.Errorf("netns %s: ping %v: %w", n.Name, dst, err)
		}
		deadline := time.Now().Add(pingInterval)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			nr, from, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return fmt.Errorf("netns %s: ping %v: %w", n.Name, dst, err)
			}
			done, err := matchReply(buf[:nr], from, dst, id)
			if done {
				if err != nil {
					return fmt.Errorf("netns %s: ping %v: %w", n.Name, dst, err)
				}
				return nil
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("netns %s: ping %v: no reply: %w", n.Name, dst, err)
		}
	}
}

// matchReply reports whether b (an ICMP message from `from`) answers our
// echo requests with identifier id: an echo reply from dst (nil error) or a
// destination-unreachable quoting one of our requests (non-nil error).
func matchReply(b []byte, from net.Addr, dst netip.Addr, id int) (bool, error) {
	m, err := icmp.ParseMessage(1, b)
	if err != nil {
		return false, nil
	}
	switch body := m.Body.(type) {
	case *icmp.Echo:
		src, ok := from.(*net.IPAddr)
		if m.Type == ipv4.ICMPTypeEchoReply && body.ID == id && ok && src.IP.Equal(dst.AsSlice()) {
			return true, nil
		}
	case *icmp.DstUnreach:
		// The quoted datagram is the IPv4 header plus at least 8 bytes of our echo.
		q := body.Data
		if len(q) < ipv4.HeaderLen {
			return false, nil
		}
		hl := int(q[0]&0x0f) * 4
		if len(q) < hl+8 || hl < ipv4.HeaderLen || q[hl] != byte(ipv4.ICMPTypeEcho) {
			return false, nil
		}
		if int(q[hl+4])<<8|int(q[hl+5]) == id && netip.AddrFrom4([4]byte(q[16:20])) == dst {
			return true, fmt.Errorf("destination unreachable (code %d) from %v", m.Code, from)
		}
	}
	return false, nil
}
