package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// Proposals used for Vigil and strongSwan.
const (
	ikeProposal = "aes128gcm16-prfsha256-x25519"
	espProposal = "aes128gcm16"
	tunnelName  = "bench"
)

// upTimeout bounds bringing a tunnel up and the first ping through it.
const upTimeout = 30 * time.Second

// runner measures one system in the shared topology. Daemons it starts are stopped
// before its method returns, so the next system finds the gateways clean.
type runner struct {
	ctx     context.Context
	tp      *netns.Topo
	dir     string
	dur     time.Duration
	sys     string
	out     io.Writer // result lines
	results map[int]rig.IperfResult
}

// vigil measures vigild on both gateways with the given encapsulation.
func (r *runner) vigil(bin, encap string) error {
	var cl rig.Cleanup
	defer cl.Run()
	ta, tb := rig.VigilPair(tunnelName, rig.RandomPSK(), ikeProposal, espProposal, encap)
	ta.StartAction = "start"
	b, err := rig.StartVigil(r.ctx, &cl, r.tp.GwB, bin, r.dir+"/b", "vgb-b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	if err != nil {
		return err
	}
	a, err := rig.StartVigil(r.ctx, &cl, r.tp.GwA, bin, r.dir+"/a", "vgb-a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, upTimeout)
	defer cancel()
	for _, v := range []*rig.Vigil{a, b} {
		if err := v.WaitChild(ctx, tunnelName); err != nil {
			return err
		}
	}
	if err := r.ping(ctx); err != nil {
		return fmt.Errorf("%w\n--- vigild A ---\n%s\n--- vigild B ---\n%s", err, rig.Tail(a.Log(), 40), rig.Tail(b.Log(), 40))
	}
	r.info("vgb-a")
	return r.measure(a.PID(), b.PID())
}

// strongswan measures charon with kernel-libipsec on both gateways.
func (r *runner) strongswan() error {
	var cl rig.Cleanup
	defer cl.Run()
	ca, cb := rig.SwanPair(tunnelName, rig.RandomPSK())
	b, err := rig.StartCharon(&cl, r.tp.GwB, r.dir+"/b", cb)
	if err != nil {
		return err
	}
	a, err := rig.StartCharon(&cl, r.tp.GwA, r.dir+"/a", ca)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, upTimeout)
	defer cancel()
	if err := a.Initiate(tunnelName); err != nil {
		return fmt.Errorf("%w\n--- charon A ---\n%s", err, rig.Tail(a.Log(), 40))
	}
	for _, c := range []*swan.Charon{a, b} {
		if _, err := c.WaitFor(ctx, func(s []swan.IKESA) bool { return rig.Established(s, tunnelName) }); err != nil {
			return err
		}
	}
	if err := r.ping(ctx); err != nil {
		return err
	}
	pa, err := rig.CharonPID(a)
	if err != nil {
		return err
	}
	pb, err := rig.CharonPID(b)
	if err != nil {
		return err
	}
	r.info("ipsec0")
	return r.measure(pa, pb)
}

// wireguard measures wireguard-go on both gateways.
func (r *runner) wireguard(bin string) error {
	var cl rig.Cleanup
	defer cl.Run()
	a, b, err := rig.StartWireGuardPair(r.ctx, &cl, r.tp, bin, r.dir, "wgb")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, upTimeout)
	defer cancel()
	if err := r.ping(ctx); err != nil {
		return err
	}
	r.info(a.Iface)
	return r.measure(a.PID(), b.PID())
}

// ping checks that hostB answers hostA through the tunnel (and warms up ARP and, for
// WireGuard, makes the handshake).
func (r *runner) ping(ctx context.Context) error {
	if err := r.tp.HostA.Ping(ctx, netns.HostBAddr); err != nil {
		return fmt.Errorf("no ping through the tunnel: %w", err)
	}
	return nil
}

// info prints the tunnel device's MTU in gwA to stderr.
func (r *runner) info(dev string) {
	out, err := r.tp.GwA.Run(r.ctx, "cat", "/sys/class/net/"+dev+"/mtu")
	if err == nil {
		fmt.Fprintf(os.Stderr, "# %s: gwA tunnel device %s mtu %s\n", r.sys, dev, strings.TrimSpace(string(out)))
	}
}

// measure runs iperf3 for each stream count, metering the CPU time of the gateway
// daemons pa (gwA) and pb (gwB), and prints a result line per run.
func (r *runner) measure(pa, pb int) error {
	r.results = map[int]rig.IperfResult{}
	for _, n := range streamCounts {
		var cpu []time.Duration
		meter := func() (func() error, error) {
			m, err := rig.StartCPU(pa, pb)
			if err != nil {
				return nil, err
			}
			return func() error {
				var err error
				cpu, err = m.Stop()
				return err
			}, nil
		}
		res, err := rig.Iperf(r.ctx, r.tp.HostA, r.tp.HostB, netns.HostBAddr, r.dur, n, meter)
		if err != nil {
			return fmt.Errorf("%s: iperf3 -P %d: %w", streamLabel(n), n, err)
		}
		r.results[n] = res
		fmt.Fprintf(r.out, "throughput %s %s %.0f Mbit/s cpu A %.1fs B %.1fs retr %d\n",
			r.sys, streamLabel(n), res.Mbps(), cpu[0].Seconds(), cpu[1].Seconds(), res.Retransmits)
	}
	return nil
}
