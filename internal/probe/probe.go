// Package probe measures tunnel outages with a stream of small UDP datagrams, one per
// interval, from a host behind one gateway to a host behind the other, which echoes each one
// back (so the tunnel carries traffic both ways, like a real flow). A probe counts when its
// echo arrives. The outage of a fault is the gap between the last probe that made the round
// trip before it and the first one after it.
package probe

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// Stream is a running probe stream.
type Stream struct {
	send, recv *net.UDPConn
	interval   time.Duration
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu       sync.Mutex
	sent     int
	arrivals []time.Time // receive times, in order
	notify   chan struct{}
}

// Start opens a receiver on dst:port inside dstNS and a sender inside srcNS, and sends one
// datagram every interval until Stop. The stream runs for at most maxDuration.
func Start(srcNS, dstNS *netns.NS, dst netip.Addr, port int, interval, maxDuration time.Duration) (*Stream, error) {
	s := &Stream{interval: interval, notify: make(chan struct{}, 1)}
	err := dstNS.Do(func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, uint16(port))))
		s.recv = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("probe receiver: %w", err)
	}
	err = srcNS.Do(func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, uint16(port))))
		s.send = c
		return err
	})
	if err != nil {
		s.recv.Close()
		return nil, fmt.Errorf("probe sender: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration)
	s.cancel = cancel
	s.wg.Add(3)
	go s.sendLoop(ctx)
	go s.echoLoop()
	go s.recvLoop()
	return s, nil
}

func (s *Stream) sendLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	var b [16]byte
	for seq := uint64(0); ; seq++ {
		binary.BigEndian.PutUint64(b[:], seq)
		s.send.Write(b[:])
		s.mu.Lock()
		s.sent++
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// echoLoop returns every probe to its sender.
func (s *Stream) echoLoop() {
	defer s.wg.Done()
	var b [64]byte
	for {
		n, from, err := s.recv.ReadFromUDPAddrPort(b[:])
		if err != nil {
			return
		}
		s.recv.WriteToUDPAddrPort(b[:n], from)
	}
}

// recvLoop records the echoes.
func (s *Stream) recvLoop() {
	defer s.wg.Done()
	var b [64]byte
	for {
		if _, err := s.send.Read(b[:]); err != nil {
			return
		}
		now := time.Now()
		s.mu.Lock()
		s.arrivals = append(s.arrivals, now)
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// WaitFlowing waits until a probe sent after the call arrives (traffic passes now).
func (s *Stream) WaitFlowing(ctx context.Context) error {
	start := time.Now()
	for {
		s.mu.Lock()
		n := len(s.arrivals)
		ok := n > 0 && s.arrivals[n-1].After(start.Add(s.interval))
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("probes are not getting through: %w", ctx.Err())
		case <-s.notify:
		}
	}
}

// Stop ends the stream.
func (s *Stream) Stop() {
	s.cancel()
	s.send.Close()
	s.recv.Close()
	s.wg.Wait()
}

// Result summarises the stream.
type Result struct {
	Sent, Received int
	// Outage is the largest gap between consecutive arrivals at or after the fault (the gap
	// that spans the fault counts).
	Outage time.Duration
	// Lost is Sent - Received.
	Lost int
	// GapStart is the arrival time that began the largest gap.
	GapStart time.Time
}

// Result computes the outage caused by a fault at time fault.
func (s *Stream) Result(fault time.Time) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Result{Sent: s.sent, Received: len(s.arrivals), Lost: s.sent - len(s.arrivals)}
	i := sort.Search(len(s.arrivals), func(i int) bool { return s.arrivals[i].After(fault) })
	if i > 0 {
		i-- // the last arrival before the fault
	}
	for j := i + 1; j < len(s.arrivals); j++ {
		if g := s.arrivals[j].Sub(s.arrivals[j-1]); g > r.Outage {
			r.Outage, r.GapStart = g, s.arrivals[j-1]
		}
	}
	return r
}

// Arrived reports how many probes have arrived so far.
func (s *Stream) Arrived() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}
