package tunudp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/dataplane/sad/espsa"
)

// Counters are the dataplane's global counters (see sad.Counters).
type Counters = sad.Counters

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("tunudp: dataplane closed")

// Dataplane is the TUN + UDP/raw-ESP dataplane. It implements dataplane.Dataplane.
type Dataplane struct {
	cfg   Config
	log   *slog.Logger
	db    *sad.DB
	stats *sad.Stats
	h     dataplane.IKEHandler
	ns    *netnsHandle

	tun      tun.Device
	tunName  string
	tunIndex int

	socks atomic.Pointer[sockSet]

	mu     sync.Mutex             // guards the fields below and serialises Listen and route changes
	routes map[netip.Prefix]int32 // routes the policies need, with their number of users
	rt     *router                // applies the route changes (nil in unit tests)
	closed bool

	wg sync.WaitGroup

	failed   chan error // buffered: the first worker failure
	failOnce sync.Once
}

var _ dataplane.Dataplane = (*Dataplane)(nil)

// Open creates the TUN device and sockets in the calling thread's network namespace and
// starts the workers. h receives IKE messages; it is called synchronously from the socket
// goroutines (the NAT-T one also carries ESP), so it should copy the message and return quickly.
func Open(cfg Config, h dataplane.IKEHandler) (*Dataplane, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ns, err := currentNetns()
	if err != nil {
		return nil, err
	}
	d := &Dataplane{cfg: cfg, log: cfg.Logger, h: h, ns: ns,
		routes: map[netip.Prefix]int32{}, failed: make(chan error, 1)}
	d.socks.Store(&sockSet{ike: map[netip.Addr]*sock{}, natt: map[netip.Addr]*sock{}, raw: map[netip.Addr]*sock{}})
	d.db, err = sad.New(sad.Config{Provider: espsa.Provider{}, UnknownSPI: cfg.UnknownSPI,
		QueueLen: cfg.QueueLen, Flush: d.flush})
	if err != nil {
		ns.close()
		return nil, err
	}
	d.stats = d.db.Stats()
	err = ns.do(func() error {
		dev, err := tun.CreateTUN(cfg.TUNName, cfg.MTU)
		if err != nil {
			return fmt.Errorf("tunudp: create TUN %q: %w", cfg.TUNName, err)
		}
		d.tun = dev
		if d.tunName, err = dev.Name(); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(d.tunName)
		if err != nil {
			return fmt.Errorf("tunudp: %w", err)
		}
		d.tunIndex = ifi.Index
		for _, p := range cfg.TUNAddrs {
			if err := addrAdd(d.tunIndex, p); err != nil {
				return fmt.Errorf("tunudp: %w", err)
			}
		}
		if err := linkUp(d.tunIndex); err != nil {
			return fmt.Errorf("tunudp: %w", err)
		}
		return nil
	})
	if err != nil {
		if d.tun != nil {
			d.tun.Close()
		}
		d.db.Close()
		ns.close()
		return nil, err
	}
	if d.rt, err = startRouter(ns, d.tunIndex, d.log); err != nil {
		d.tun.Close()
		d.db.Close()
		ns.close()
		return nil, err
	}
	go func() { // the TUN library reports link events; nobody needs them
		for range d.tun.Events() {
		}
	}()
	for _, a := range cfg.Addrs {
		if err := d.Listen(a); err != nil {
			d.Close()
			return nil, err
		}
	}
	d.wg.Add(1)
	go d.tunLoop()
	return d, nil
}

// Name returns the TUN device name.
func (d *Dataplane) Name() string { return d.tunName }

// MTU returns the TUN device MTU.
func (d *Dataplane) MTU() int { return d.cfg.MTU }

// Counters returns the global counters.
func (d *Dataplane) Counters() Counters { return d.stats.Snapshot() }

// SAs lists the installed SAs with their counters (for metrics).
func (d *Dataplane) SAs() []sad.SAInfo { return d.db.SAs() }

// AddSA installs one direction of a Child SA.
func (d *Dataplane) AddSA(c dataplane.SAConfig) error {
	if err := d.checkOpen(); err != nil {
		return err
	}
	return d.db.AddSA(c)
}

// DeleteSA removes an SA.
func (d *Dataplane) DeleteSA(r dataplane.SARef) error { return d.db.DeleteSA(r) }

// SAStats reports counters of an installed SA.
func (d *Dataplane) SAStats(r dataplane.SARef) (dataplane.Stats, bool) { return d.db.SAStats(r) }

// WatchSA asks for an EventActive with the SA's next packet.
func (d *Dataplane) WatchSA(r dataplane.SARef, since time.Time) (bool, error) {
	return d.db.WatchSA(r, since)
}

// UpdateRemote changes the outer remote address of a Child SA's SAs (NAT rebinding).
func (d *Dataplane) UpdateRemote(child uint64, remote netip.AddrPort) error {
	return d.db.UpdateRemote(child, remote)
}

// Events delivers dataplane events; it is closed by Close.
func (d *Dataplane) Events() <-chan dataplane.Event { return d.db.Events() }

// Failed delivers the first worker failure: the TUN device or a socket stopped working while
// the dataplane was not being closed. Traffic (or IKE) cannot flow any more.
func (d *Dataplane) Failed() <-chan error { return d.failed }

// fail reports that a worker stopped on err, unless Close is the reason.
func (d *Dataplane) fail(what string, err error) {
	if d.checkOpen() != nil {
		return
	}
	d.failOnce.Do(func() {
		err = fmt.Errorf("tunudp: %s: %w", what, err)
		d.log.Error("dataplane worker stopped", "err", err)
		select {
		case d.failed <- err: // buffered for this one error
		default: // a Dataplane built without Open (tests)
		}
	})
}

func (d *Dataplane) checkOpen() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	return nil
}

// Listen opens the IKE (IKEPort), NAT-T (NATTPort) and, with Config.Raw, raw ESP sockets on
// addr. Listening again on the same address is a no-op.
func (d *Dataplane) Listen(addr netip.Addr) error {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return errors.New("tunudp: Listen: invalid address")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	cur := d.socks.Load()
	if cur.natt[addr] != nil {
		return nil
	}
	var opened []*sock
	err := d.ns.do(func() error {
		for _, k := range []struct {
			kind sockKind
			port uint16
		}{{kindIKE, d.cfg.IKEPort}, {kindNATT, d.cfg.NATTPort}} {
			s, err := openUDP(k.kind, netip.AddrPortFrom(addr, k.port))
			if err != nil {
				return fmt.Errorf("tunudp: listen %v: %w", netip.AddrPortFrom(addr, k.port), err)
			}
			opened = append(opened, s)
		}
		if d.cfg.Raw {
			s, err := openRaw(addr)
			if err != nil {
				return fmt.Errorf("tunudp: raw ESP socket on %v: %w", addr, err)
			}
			opened = append(opened, s)
		}
		return nil
	})
	if err != nil {
		for _, s := range opened {
			s.conn.Close()
		}
		return err
	}
	next := cur.clone()
	for _, s := range opened {
		next.add(s)
		d.wg.Add(1)
		go d.recvLoop(s)
	}
	d.socks.Store(next)
	return nil
}

// SendIKE sends an IKE message from local (whose port selects the IKE or NAT-T socket; with
// the NAT-T port the non-ESP marker is prepended) to remote.
func (d *Dataplane) SendIKE(local, remote netip.AddrPort, msg []byte) error {
	ss := d.socks.Load()
	var s *sock
	var pkt []byte
	switch local.Port() {
	case d.cfg.IKEPort:
		s, pkt = ss.pick(ss.ike, local.Addr()), msg
	case d.cfg.NATTPort:
		s = ss.pick(ss.natt, local.Addr())
		pkt = make([]byte, 4+len(msg))
		copy(pkt[4:], msg)
	default:
		return fmt.Errorf("tunudp: SendIKE from port %d: not the IKE or NAT-T port", local.Port())
	}
	if s == nil {
		return sockErr("IKE", local)
	}
	if _, err := s.udp.WriteToUDPAddrPort(pkt, unmapAP(remote)); err != nil {
		d.stats.Inc(sad.CSendErrors, 1)
		return fmt.Errorf("tunudp: SendIKE to %v: %w", remote, err)
	}
	d.stats.Inc(sad.CIKEOut, 1)
	return nil
}

// SendKeepalive sends a NAT keepalive (RFC 3948: one byte 0xff) from the NAT-T socket on
// local's address to remote.
func (d *Dataplane) SendKeepalive(local, remote netip.AddrPort) error {
	ss := d.socks.Load()
	s := ss.pick(ss.natt, local.Addr())
	if s == nil {
		return sockErr("NAT-T", local)
	}
	if _, err := s.udp.WriteToUDPAddrPort([]byte{0xff}, unmapAP(remote)); err != nil {
		d.stats.Inc(sad.CSendErrors, 1)
		return fmt.Errorf("tunudp: keepalive to %v: %w", remote, err)
	}
	return nil
}

func unmapAP(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// Close removes routes, closes the sockets and the TUN device, and stops the workers.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	var errs []error
	rt := d.rt
	if rt != nil {
		// Take out every route still referenced (the router then stops).
		dels := make([]routeOp, 0, len(d.routes))
		for pf := range d.routes {
			dels = append(dels, routeOp{dst: pf})
		}
		rt.enqueue(dels...)
	}
	clear(d.routes)
	d.mu.Unlock()
	if rt != nil {
		rt.stop() // removes the routes
	}
	if d.tun != nil {
		errs = append(errs, d.tun.Close())
	}
	for _, s := range d.socks.Load().all {
		errs = append(errs, s.conn.Close())
	}
	d.wg.Wait()
	d.db.Close()
	errs = append(errs, d.ns.close())
	return errors.Join(errs...)
}
