package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/scaleplan"
)

// progressEvery is how often a waiting run reports its progress on stderr.
const progressEvery = 5 * time.Second

// bench holds what every run shares.
type bench struct {
	ctx    context.Context
	o      options
	work   string
	vigild string
}

// measure runs sys with n tunnels in a topology of its own, removed (with the daemons and,
// unless -keep, their files) before it returns.
func (b *bench) measure(sys string, n int) result {
	r := result{sys: sys, n: n, peers: b.o.peers}
	var cl rig.Cleanup
	defer cl.Run()
	dir := filepath.Join(b.work, fmt.Sprintf("%s-%d", sys, n))
	if !b.o.keep {
		cl.Push("run directory", func() error { return os.RemoveAll(dir) })
	}
	plan, err := scaleplan.New(n, b.o.peers)
	if err != nil {
		r.err = err
		return r
	}
	tp, err := rig.NewTopo(&cl, "vgs")
	if err == nil {
		err = addPeers(b.ctx, dir, tp, b.o.peers)
	}
	if err != nil {
		r.err = err
		return r
	}
	switch sys {
	case sysVigil:
		r.err = b.vigil(&cl, tp, dir, plan, &r, false)
	case sysVigilDH0:
		r.err = b.vigil(&cl, tp, dir, plan, &r, true)
	case sysSwan:
		r.err = b.strongswan(&cl, tp, dir, plan, &r)
	}
	return r
}

// addPeers gives gwA peers-1 more IKE addresses (scaleplan.PeerAddr) on its WAN interface
// and routes them from gwB, with one `ip -batch` run.
func addPeers(ctx context.Context, dir string, tp *netns.Topo, peers int) error {
	if peers <= 1 {
		return nil
	}
	var batch strings.Builder
	for k := 1; k < peers; k++ {
		fmt.Fprintf(&batch, "address add %s/32 dev %s\n", scaleplan.PeerAddr(k), netns.WANIf)
	}
	if err := ipBatch(ctx, dir, tp.GwA, batch.String()); err != nil {
		return fmt.Errorf("adding %d addresses to gwA: %w", peers-1, err)
	}
	return tp.GwB.AddRoute(scaleplan.PeerNet, netns.GwAWAN)
}

// addrsPerLink is how many addresses addLocalAddrs puts on one interface: the kernel walks a
// device's address list for every address added, so 100,000 on one device take many minutes,
// spread over devices of 512 a few seconds.
const addrsPerLink = 512

// addLocalAddrs adds addrs as /32s to ns, on veth pairs created for them ("vsl<k>", the
// kernel here has no dummy interfaces), with one `ip -batch` run.
func addLocalAddrs(ctx context.Context, dir string, ns *netns.NS, addrs []netip.Addr) error {
	var batch strings.Builder
	for i, a := range addrs {
		k := i / addrsPerLink
		if i%addrsPerLink == 0 {
			fmt.Fprintf(&batch, "link add vsl%d type veth peer name vsp%d\nlink set vsl%d up\n", k, k, k)
		}
		fmt.Fprintf(&batch, "address add %s/32 dev vsl%d\n", a, k)
	}
	return ipBatch(ctx, dir, ns, batch.String())
}

// ipBatch runs the ip commands in batch (one a line) in ns.
func ipBatch(ctx context.Context, dir string, ns *netns.NS, batch string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	file := filepath.Join(dir, "batch-"+ns.Name+".ip")
	if err := os.WriteFile(file, []byte(batch), 0o600); err != nil {
		return err
	}
	defer os.Remove(file)
	if _, err := ns.Run(ctx, "ip", "-batch", file); err != nil {
		return fmt.Errorf("ip -batch in %s: %w", ns.Name, err)
	}
	return nil
}

// pollInterval is how often the up count is read for n tunnels: n×10 µs, from 20 ms to
// 200 ms, as each read costs the daemon time proportional to n.
func pollInterval(n int) time.Duration {
	return min(max(time.Duration(n)*10*time.Microsecond, 20*time.Millisecond), 200*time.Millisecond)
}

// waitUp reads count every pollInterval(n) until it reports n, the deadline passes or the
// daemon exits. It returns the last count and the time since t0 at which it was read.
// A failed read (a daemon too busy to answer in time) is retried; only the daemon's exit or
// the end of ctx is an error.
func waitUp(ctx context.Context, what string, t0, deadline time.Time, n int, exited <-chan struct{},
	count func(context.Context) (int, error)) (int, time.Duration, error) {
	tick := time.NewTicker(pollInterval(n))
	defer tick.Stop()
	up, lastErr := 0, error(nil)
	at := time.Duration(0)
	nextReport := t0.Add(progressEvery)
	for {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		c, err := count(cctx)
		cancel()
		if err == nil {
			up, at = c, time.Since(t0)
		} else {
			lastErr = err
		}
		if up >= n {
			return up, at, nil
		}
		now := time.Now()
		if now.After(nextReport) {
			note := ""
			if err != nil {
				note = fmt.Sprintf(" (the last count failed: %v)", err)
			}
			fmt.Fprintf(os.Stderr, "# %s: %d of %d up after %s%s\n", what, up, n, secs(now.Sub(t0)), note)
			nextReport = now.Add(progressEvery)
		}
		if !now.Before(deadline) {
			if lastErr != nil && up == 0 {
				fmt.Fprintf(os.Stderr, "# %s: last count failed: %v\n", what, lastErr)
			}
			return up, time.Since(t0), nil
		}
		select {
		case <-ctx.Done():
			return up, time.Since(t0), ctx.Err()
		case <-exited:
			return up, time.Since(t0), fmt.Errorf("%s: the daemon exited", what)
		case <-tick.C:
		}
	}
}
