package tunudp

import (
	"encoding/binary"
)

// mustNotFragment reports whether an inner packet larger than limit has to be refused with
// ICMP: IPv4 with DF set, or IPv6 when limit is at least the IPv6 minimum MTU. Otherwise the
// packet is sealed anyway and the kernel fragments the outer packet.
func mustNotFragment(pkt []byte, limit int) bool {
	switch pkt[0] >> 4 {
	case 4:
		return len(pkt) >= 20 && pkt[6]&0x40 != 0 && limit >= 68
	case 6:
		return limit >= 1280
	}
	return false
}

// packetTooBig writes an ICMP "fragmentation needed" (IPv4, type 3 code 4) or ICMPv6 "packet
// too big" back into the TUN device toward the packet's sender, advertising mtu. The error
// appears to come from the packet's destination, which the sender routes through the TUN
// device, so reverse-path filters accept it.
func (d *Dataplane) packetTooBig(pkt []byte, mtu int) {
	msg := buildTooBig(make([]byte, tunWriteOffset, tunWriteOffset+1280), pkt, mtu)
	if msg == nil {
		return
	}
	if _, err := d.tun.Write([][]byte{msg}, tunWriteOffset); err != nil {
		d.log.Debug("tunudp: write ICMP", "err", err)
	}
}

// buildTooBig appends the ICMP error for pkt to b (nil if none must be sent).
func buildTooBig(b, pkt []byte, mtu int) []byte {
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return nil
		}
		ihl := int(pkt[0]&0xf) * 4
		// Never answer ICMP errors, fragments other than the first, or odd sources.
		if ihl < 20 || len(pkt) < ihl || binary.BigEndian.Uint16(pkt[6:8])&0x1fff != 0 {
			return nil
		}
		if pkt[9] == 1 && len(pkt) > ihl && !icmpv4Query(pkt[ihl]) {
			return nil
		}
		if pkt[12] == 0 || pkt[12] >= 224 {
			return nil
		}
		quote := min(len(pkt), 576-28)
		start := len(b)
		b = append(b, make([]byte, 28)...)
		ip := b[start:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(28+quote))
		ip[8] = 64
		ip[9] = 1
		copy(ip[12:16], pkt[16:20])
		copy(ip[16:20], pkt[12:16])
		binary.BigEndian.PutUint16(ip[10:], ^csum(ip[:20], 0))
		ip[20] = 3
		ip[21] = 4
		binary.BigEndian.PutUint16(ip[26:], uint16(mtu))
		b = append(b, pkt[:quote]...)
		icmp := b[start+20:]
		binary.BigEndian.PutUint16(icmp[2:], ^csum(icmp, 0))
		return b
	case 6:
		if len(pkt) < 40 {
			return nil
		}
		if pkt[6] == 58 && len(pkt) > 40 && pkt[40] < 128 { // ICMPv6 error
			return nil
		}
		if pkt[8] == 0xff || isZero(pkt[8:24]) {
			return nil
		}
		quote := min(len(pkt), 1280-48)
		start := len(b)
		b = append(b, make([]byte, 48)...)
		ip := b[start:]
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(8+quote))
		ip[6] = 58
		ip[7] = 64
		copy(ip[8:24], pkt[24:40])
		copy(ip[24:40], pkt[8:24])
		ip[40] = 2
		binary.BigEndian.PutUint32(ip[44:], uint32(mtu))
		b = append(b, pkt[:quote]...)
		ip = b[start:]
		icmp := ip[40:]
		var sum uint32
		for i := 8; i < 40; i += 2 {
			sum += uint32(ip[i])<<8 | uint32(ip[i+1])
		}
		sum += uint32(len(icmp)) + 58
		binary.BigEndian.PutUint16(icmp[2:], ^csum(icmp, sum))
		return b
	}
	return nil
}

func icmpv4Query(typ byte) bool {
	switch typ {
	case 0, 8, 13, 14, 15, 16, 17, 18:
		return true
	}
	return false
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
