package sad

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// IP protocol numbers used by the packet path.
const (
	ProtoICMP    = 1
	ProtoTCP     = 6
	ProtoUDP     = 17
	ProtoICMPv6  = 58
	ProtoSCTP    = 132
	ProtoUDPLite = 136
)

// Flow is what policy lookup needs to know about an inner IP packet.
type Flow struct {
	Src, Dst netip.Addr
	Proto    uint8 // transport protocol after IPv6 extension headers
	// SrcPort and DstPort are the transport ports; for ICMP/ICMPv6 both hold type<<8|code
	// (RFC 7296 section 3.13.1). Valid only when HasPorts is set.
	SrcPort, DstPort uint16
	// HasPorts is false for protocols without ports and for non-first fragments; such flows
	// only match selectors covering all ports (RFC 4301 "OPAQUE").
	HasPorts bool
}

// ErrShortPacket and ErrBadPacket are returned by ParseFlow.
var (
	ErrShortPacket = errors.New("sad: packet too short")
	ErrBadPacket   = errors.New("sad: not a valid IPv4/IPv6 packet")
)

// ParseFlow classifies an IPv4 or IPv6 packet. It does not allocate.
func ParseFlow(pkt []byte) (Flow, error) {
	var f Flow
	if len(pkt) < 1 {
		return f, ErrShortPacket
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return f, ErrShortPacket
		}
		ihl := int(pkt[0]&0x0f) * 4
		if ihl < 20 || len(pkt) < ihl {
			return f, ErrBadPacket
		}
		if tl := int(binary.BigEndian.Uint16(pkt[2:4])); tl < ihl || tl > len(pkt) {
			return f, ErrBadPacket
		}
		f.Src = netip.AddrFrom4([4]byte(pkt[12:16]))
		f.Dst = netip.AddrFrom4([4]byte(pkt[16:20]))
		f.Proto = pkt[9]
		fragOff := binary.BigEndian.Uint16(pkt[6:8]) & 0x1fff
		if fragOff == 0 {
			f.ports(pkt[ihl:])
		}
		return f, nil
	case 6:
		if len(pkt) < 40 {
			return f, ErrShortPacket
		}
		if 40+int(binary.BigEndian.Uint16(pkt[4:6])) > len(pkt) {
			return f, ErrBadPacket
		}
		f.Src = netip.AddrFrom16([16]byte(pkt[8:24]))
		f.Dst = netip.AddrFrom16([16]byte(pkt[24:40]))
		next := pkt[6]
		off := 40
		for range 8 {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(pkt) < off+8 {
					return f, ErrShortPacket
				}
				next = pkt[off]
				off += (int(pkt[off+1]) + 1) * 8
				continue
			case 51: // AH
				if len(pkt) < off+8 {
					return f, ErrShortPacket
				}
				next = pkt[off]
				off += (int(pkt[off+1]) + 2) * 4
				continue
			case 44: // fragment
				if len(pkt) < off+8 {
					return f, ErrShortPacket
				}
				first := binary.BigEndian.Uint16(pkt[off+2:off+4])&0xfff8 == 0
				next = pkt[off]
				off += 8
				if !first {
					f.Proto = next
					return f, nil
				}
				continue
			}
			break
		}
		if off > len(pkt) {
			return f, ErrShortPacket
		}
		f.Proto = next
		f.ports(pkt[off:])
		return f, nil
	}
	return f, ErrBadPacket
}

func (f *Flow) ports(l4 []byte) {
	switch f.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoUDPLite:
		if len(l4) >= 4 {
			f.SrcPort = binary.BigEndian.Uint16(l4[0:2])
			f.DstPort = binary.BigEndian.Uint16(l4[2:4])
			f.HasPorts = true
		}
	case ProtoICMP, ProtoICMPv6:
		if len(l4) >= 2 {
			v := uint16(l4[0])<<8 | uint16(l4[1])
			f.SrcPort, f.DstPort = v, v
			f.HasPorts = true
		}
	}
}
