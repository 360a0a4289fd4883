package tunudp

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/esp"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

func nattSock(t *testing.T, d *Dataplane, a netip.Addr) *sock {
	t.Helper()
	s := d.socks.Load().natt[a]
	if s == nil {
		t.Fatalf("no NAT-T socket on %v", a)
	}
	if !s.gro {
		t.Skip("kernel without UDP_GRO")
	}
	return s
}

// TestGRODatagrams sends one UDP_SEGMENT message of ESP packets (the last one shorter) to
// gwB: the kernel queues it whole on gwB's GRO socket and every inner packet must arrive.
func TestGRODatagrams(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	ns := nattSock(t, s.b, netns.GwBWAN)
	peer, err := esp.New(esp.Config{SPI: spiAB, Encr: crypto.EncrAESGCM16, EncrKey: key(1)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 9
	recv := udpIn(t, s.tp.HostB, netip.AddrPortFrom(netns.HostBAddr, 7000))
	c := udpIn(t, s.tp.GwA, netip.AddrPortFrom(netns.GwAWAN, 4501))
	// Whether the kernel hands the batch to the GRO socket whole or segments it on the way
	// depends on timing (a loaded machine may split it): every inner packet must arrive in
	// any case, and at least one of a few batches must come through GRO.
	for attempt := range 5 {
		var msg []byte
		seg := 0
		for i := range n {
			size := 300
			if i == n-1 {
				size = 120
			}
			in := innerUDP(i, size)
			copy(in[12:], netns.HostAAddr.AsSlice())
			copy(in[16:], netns.HostBAddr.AsSlice())
			binary.BigEndian.PutUint16(in[10:], 0)
			binary.BigEndian.PutUint16(in[10:], ^csum(in[:20], 0))
			p, err := peer.Seal(nil, in, 4) // 4: IPv4 inside
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				seg = len(p)
			}
			msg = append(msg, p...)
		}
		oob := segmentCmsg(make([]byte, unix.CmsgSpace(2)), uint16(seg))
		if _, _, err := c.WriteMsgUDPAddrPort(msg, oob, netip.AddrPortFrom(netns.GwBWAN, 4500)); err != nil {
			t.Fatal(err)
		}
		seen := map[uint32]bool{}
		buf := make([]byte, 2000)
		recv.SetReadDeadline(time.Now().Add(5 * time.Second))
		for len(seen) < n {
			k, err := recv.Read(buf)
			if err != nil {
				t.Fatalf("attempt %d: after %d of %d datagrams: %v", attempt, len(seen), n, err)
			}
			if k < 4 {
				t.Fatalf("datagram of %d bytes", k)
			}
			seen[binary.BigEndian.Uint32(buf)] = true
		}
		if ns.groMsgs.Load() >= 1 {
			return
		}
	}
	t.Fatalf("no batch arrived as one GRO message in 5 attempts")
}

// tunRxPackets reads the packet counter of the TUN device vgdp0 in ns: the packets the
// dataplane wrote, after the TUN library merged TCP segments.
func tunRxPackets(t *testing.T, ns *netns.NS) uint64 {
	t.Helper()
	out, err := ns.Run(context.Background(), "ip", "-j", "-s", "link", "show", "dev", "vgdp0")
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		Stats64 struct {
			Rx struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j -s link: %v %s", err, out)
	}
	return links[0].Stats64.Rx.Packets
}

// TestTunnelUDPGRO: TCP through the tunnel arrives at gwB in GRO messages (gwA sends with
// UDP_SEGMENT), and the inner packets written to gwB's TUN device are still merged.
func TestTunnelUDPGRO(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	ns := nattSock(t, s.b, netns.GwBWAN)
	bps := tcpTransfer(t, s.tp, 16<<20/transferDiv)
	st, _ := s.b.SAStats(dataplane.InSA(spiAB))
	rx := tunRxPackets(t, s.tp.GwB)
	t.Logf("%.0f Mbit/s; gwB: %d GRO messages, %d ESP packets, %d TUN writes", bps/1e6, ns.groMsgs.Load(), st.Packets, rx)
	if ns.groMsgs.Load() == 0 {
		t.Fatal("no GRO messages received")
	}
	if rx >= st.Packets {
		t.Fatalf("TUN device got %d packets for %d ESP packets: nothing merged", rx, st.Packets)
	}
}
