package memory

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// BuildUDP returns an IPv4 or IPv6 UDP packet from src to dst carrying payload, with valid
// checksums. Both addresses must be of the same family.
func BuildUDP(src, dst netip.AddrPort, payload []byte) ([]byte, error) {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4() {
		return nil, errors.New("memory: BuildUDP needs two addresses of the same family")
	}
	ul := 8 + len(payload)
	if ul > 0xffff-40 {
		return nil, errors.New("memory: BuildUDP payload too large")
	}
	var pkt []byte
	var udp []byte
	if s.Is4() {
		pkt = make([]byte, 20+ul)
		pkt[0] = 0x45
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		pkt[6] = 0x40 // DF
		pkt[8] = 64
		pkt[9] = 17
		a, b := s.As4(), d.As4()
		copy(pkt[12:16], a[:])
		copy(pkt[16:20], b[:])
		binary.BigEndian.PutUint16(pkt[10:], ^checksum(pkt[:20], 0))
		udp = pkt[20:]
	} else {
		pkt = make([]byte, 40+ul)
		pkt[0] = 0x60
		binary.BigEndian.PutUint16(pkt[4:], uint16(ul))
		pkt[6] = 17
		pkt[7] = 64
		a, b := s.As16(), d.As16()
		copy(pkt[8:24], a[:])
		copy(pkt[24:40], b[:])
		udp = pkt[40:]
	}
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(ul))
	copy(udp[8:], payload)
	var sum uint32
	if s.Is4() {
		sum = pseudo(pkt[12:20], 17, ul)
	} else {
		sum = pseudo(pkt[8:40], 17, ul)
	}
	c := ^checksum(udp, sum)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	return pkt, nil
}

func pseudo(addrs []byte, proto uint8, l int) uint32 {
	var s uint32
	for i := 0; i+1 < len(addrs); i += 2 {
		s += uint32(addrs[i])<<8 | uint32(addrs[i+1])
	}
	return s + uint32(proto) + uint32(l)
}

func checksum(b []byte, sum uint32) uint16 {
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
