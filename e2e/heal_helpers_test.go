package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/probe"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// Helpers of the heal tests (heal_test.go): Vigil recovers when it, not its peer, lost the
// state (cause "child-lost-here": its Child SA is gone, the IKE SA lives; cause
// "restart-heal": vigild restarted and has no IKE SA at all).

// healTunnel is Vigil's side (gwA) of the standard topology as a responder (start_action
// none): it initiates nothing unless it heals.
func (iv ikeVersion) healTunnel(extra ...string) vigiltest.Tunnel {
	tv := sideA("site")
	tv.StartAction = "none"
	tv.Extra = append(tv.Extra, extra...)
	return iv.tunnel(tv)
}

// healSwanConf is strongSwan's side (gwB), the initiator: it starts the connection as soon as
// it is loaded, so start Vigil first.
func (iv ikeVersion) healSwanConf() swan.Conf {
	sc := iv.swanConf()
	sc.StartAction = "start"
	return sc
}

// healPair starts Vigil (responder, gwA) and then strongSwan (initiator, gwB) and waits for one
// Child SA pair on both sides.
func healPair(t *testing.T, ctx context.Context, prefix string, iv ikeVersion, sc swan.Conf, extra ...string) (*netns.Topo, *vigiltest.Vigil, *swan.Charon, api.ChildSA, swan.IKESA) {
	t.Helper()
	topo := netns.NewSiteToSite(t, prefix)
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{iv.healTunnel(extra...)}})
	ch := swan.StartT(t, topo.GwB, sc)
	vc, ss := bothUp(t, ctx, v, ch)
	return topo, v, ch, vc, ss
}

// startProbesFromB runs a 1 ms UDP probe stream hostB -> hostA (strongSwan's side sends, hostA
// echoes) and waits until it flows.
func startProbesFromB(t *testing.T, ctx context.Context, topo *netns.Topo) *probe.Stream {
	t.Helper()
	return startProbeStream(t, ctx, topo.HostB, topo.HostA, netns.HostAAddr, 9997)
}

// kindCause is a WaitEvent condition.
func kindCause(kind, cause string) func(api.Event) bool {
	return func(ev api.Event) bool { return ev.Kind == kind && ev.Cause == cause }
}

// waitEventWithin is WaitEvent bounded by d.
func waitEventWithin(ctx context.Context, v *vigiltest.Vigil, since uint64, d time.Duration, cond func(api.Event) bool) (api.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return v.WaitEvent(ctx, since, cond)
}

// checkTimeline asserts that evs hold, in this order, a detect, an action and a recovered
// event with cause, all for tunnel "site".
func checkTimeline(t *testing.T, evs []api.Event, cause string) {
	t.Helper()
	want := []string{"detect", "action", "recovered"}
	i := 0
	for _, ev := range evs {
		if i < len(want) && ev.Kind == want[i] && ev.Cause == cause {
			if ev.Tunnel != "site" {
				t.Errorf("%s/%s event for tunnel %q, want site", ev.Kind, ev.Cause, ev.Tunnel)
			}
			i++
		}
	}
	if i < len(want) {
		t.Errorf("timeline lacks %s with cause %s (want detect, action, recovered in order):\n%s", want[i], cause, eventList(evs))
	}
}

func eventList(evs []api.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  #%d %s %s %s/%s peer %s spi %v: %s\n", ev.Seq, ev.Time.Format("15:04:05.000"), ev.Tunnel, ev.Kind, ev.Cause, ev.Peer, ev.SPI, ev.Message)
	}
	return b.String()
}

// healSettled waits up to within for the settled state after a heal: Vigil has exactly one
// established IKE SA for "site" with exactly one installed Child SA, strongSwan has exactly one
// IKE SA (none half-open or half-deleted) with exactly one installed Child SA, and the SPIs
// pair up. It reports an error (with both sides' SAs) if that never happens.
func healSettled(t *testing.T, ctx context.Context, v *vigiltest.Vigil, ch *swan.Charon, within time.Duration) (api.ChildSA, api.IKESA, swan.IKESA, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	var vsas []api.IKESA
	var ssas []swan.IKESA
	var verr, serr error
	for {
		vsas, verr = v.Client.SAs(ctx, "site")
		ssas, serr = ch.ListSAs()
		if verr == nil && serr == nil {
			var est []api.IKESA
			for _, sa := range vsas {
				if sa.State == "established" {
					est = append(est, sa)
				}
			}
			vc, vok := vigiltest.Child(vsas, "site")
			ss, sok := swanSA(ssas)
			sc := swanChild(ss)
			if len(est) == 1 && vok && sok && swanPresent(ssas) == 1 && uint32(vc.SPIIn) == sc.SPIOut && uint32(vc.SPIOut) == sc.SPIIn {
				return vc, est[0], ss, true
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("not one IKE SA and one Child SA pair on each side within %v (errors: %v, %v)\nVigil: %s\nstrongSwan: %s", within, verr, serr, childList(vsas), swanList(ssas))
	return api.ChildSA{}, api.IKESA{}, swan.IKESA{}, false
}

// swanPresent counts strongSwan's IKE SAs that are not being deleted or destroyed (established,
// connecting, rekeying...).
func swanPresent(sas []swan.IKESA) int {
	n := 0
	for _, sa := range sas {
		if !sa.Gone() {
			n++
		}
	}
	return n
}

func swanList(sas []swan.IKESA) string {
	if len(sas) == 0 {
		return "no SAs"
	}
	var b strings.Builder
	for _, sa := range sas {
		fmt.Fprintf(&b, "[%s #%d %s initiator %v spis %s/%s:", sa.Name, sa.UniqueID, sa.State, sa.Initiator, sa.LocalSPI, sa.RemoteSPI)
		for _, c := range sa.Children {
			fmt.Fprintf(&b, " in %08x out %08x %s;", c.SPIIn, c.SPIOut, c.State)
		}
		b.WriteString("] ")
	}
	return b.String()
}

// ikeInit is an IKE message seen by an ikeListener.
type ikeInit struct {
	at    time.Time
	spiI  uint64
	first bool // an IKEv2 IKE_SA_INIT request or IKEv1 Main/Aggressive Mode message 1
}

// ikeListener receives the datagrams sent to one address and port inside a namespace (a
// stand-in for a peer that is down: it never answers, and unlike a closed port it provokes
// no ICMP error).
type ikeListener struct {
	c    *net.UDPConn
	mu   sync.Mutex
	msgs []ikeInit
	done chan struct{}
}

func listenIKE(t *testing.T, ns *netns.NS, at netip.AddrPort) *ikeListener {
	t.Helper()
	l := &ikeListener{done: make(chan struct{})}
	if err := ns.Do(func() error {
		var err error
		l.c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(at))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.c.Close(); <-l.done })
	go func() {
		defer close(l.done)
		b := make([]byte, 65536)
		for {
			n, err := l.c.Read(b)
			if err != nil {
				return
			}
			m := b[:n]
			if len(m) >= 4 && binary.BigEndian.Uint32(m) == 0 {
				m = m[4:] // non-ESP marker (port 4500)
			}
			if len(m) < 28 {
				continue
			}
			msg := ikeInit{at: time.Now(), spiI: binary.BigEndian.Uint64(m)}
			spiR := binary.BigEndian.Uint64(m[8:])
			version, exch, flags := m[17]>>4, m[18], m[19]
			switch version {
			case 2:
				msg.first = spiR == 0 && exch == 34 && flags&0x20 == 0
			case 1:
				msg.first = spiR == 0 && (exch == 2 || exch == 4)
			}
			l.mu.Lock()
			l.msgs = append(l.msgs, msg)
			l.mu.Unlock()
		}
	}()
	return l
}

// initiations returns how many IKE SAs were initiated towards the listener in [from, to)
// (distinct initiator SPIs of first messages, so retransmissions count once) and how many
// datagrams arrived in all in that interval.
func (l *ikeListener) initiations(from, to time.Time) (sas, datagrams int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[uint64]bool{}
	for _, m := range l.msgs {
		if m.at.Before(from) || !m.at.Before(to) {
			continue
		}
		datagrams++
		if m.first && !seen[m.spiI] {
			seen[m.spiI] = true
			sas++
		}
	}
	return sas, datagrams
}

// espSpoof sends ESP-in-UDP packets (4500 -> 4500, an 8-byte SPI + sequence number header
// with a random, never-zero SPI, then junk) to dst from a raw socket in ns, at rate packets
// per second, packet i from source address src(i), until stop is closed. It returns the count
// of packets sent so far.
func espSpoof(t *testing.T, ns *netns.NS, dst netip.Addr, rate int, src func(i int64) netip.Addr, stop <-chan struct{}) *atomic.Int64 {
	t.Helper()
	return espSend(t, ns, dst, rate, src, false, stop)
}

// espSend is espSpoof; with even, the pacing is exact (a busy loop, no 1 ms batches), so that
// a flood takes every token of a rate limit as soon as it is refilled.
func espSend(t *testing.T, ns *netns.NS, dst netip.Addr, rate int, src func(i int64) netip.Addr, even bool, stop <-chan struct{}) *atomic.Int64 {
	t.Helper()
	var fd int
	if err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sent := &atomic.Int64{}
	done := make(chan struct{})
	t.Cleanup(func() { <-done; unix.Close(fd) })
	go func() {
		defer close(done)
		to := &unix.SockaddrInet4{Addr: dst.As4()}
		pkt := make([]byte, 20+8+8+64)
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		pkt[0], pkt[8], pkt[9] = 0x45, 64, unix.IPPROTO_UDP
		copy(pkt[16:20], to.Addr[:])
		udp := pkt[20:]
		binary.BigEndian.PutUint16(udp[0:], 4500)
		binary.BigEndian.PutUint16(udp[2:], 4500)
		binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
		for i := 16; i < len(udp); i++ {
			udp[i] = byte(rand.Uint32())
		}
		start := time.Now()
		var n int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			due := int64(time.Since(start).Seconds() * float64(rate))
			if n >= due {
				if even {
					runtime.Gosched()
				} else {
					time.Sleep(time.Millisecond) // paced in 1 ms batches
				}
				continue
			}
			s := src(n).As4()
			copy(pkt[12:16], s[:])
			binary.BigEndian.PutUint16(pkt[4:], uint16(n))
			binary.BigEndian.PutUint32(udp[8:], rand.Uint32()|0x100) // SPI: never 0 (non-ESP marker) or reserved
			binary.BigEndian.PutUint32(udp[12:], uint32(n+1))        // sequence number
			if unix.Sendto(fd, pkt, 0, to) == nil {
				sent.Add(1)
			}
			n++
		}
	}()
	return sent
}
