package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/scaleplan"
	"github.com/vigil-ipsec/vigil/internal/swan"
)

// swanLogLevel is charon's log level for every subsystem: 1 logs each SA's establishment in a
// line or two, as vigild does at level info (internal/swan's default, 2, writes dozens).
const swanLogLevel = 1

// charonOptions are the strongswan.conf settings that make charon a fair peer for n tunnels
// within timeout (see strongswan.conf(5)): its limits are sized for a handful of tunnels
// (5 half-open IKE SAs per peer address, an IKE SA table of 1 bucket) and would throttle it,
// so they are raised until they cannot; everything else stays at strongSwan's defaults, as
// vigild runs with its own.
func charonOptions(n int, timeout time.Duration) [][2]string {
	const unlimited = "1000000"
	return [][2]string{
		// The IKE SA table has 1 bucket by default: every lookup walks all IKE SAs. Size
		// it to the next power of two at or above n (charon rounds up to one anyway) ...
		{"ikesa_table_size", strconv.Itoa(tableSize(n))},
		// ... and lock it in 32 segments instead of 1, so that the worker threads do not
		// queue on one lock.
		{"ikesa_table_segments", "32"},
		// Worker threads: the default 16 already exceeds the 2 cores; kept explicit.
		{"threads", "16"},
		// Half-open IKE SAs from one address before IKE_SA_INITs are dropped: default 5,
		// and every IKE SA comes from side A's few addresses.
		{"block_threshold", unlimited},
		// Dropping IKE_SA_INITs by the number of half-open SAs or of queued jobs: off (the
		// defaults).
		{"init_limit_half_open", "0"},
		{"init_limit_job_load", "0"},
		// Half-open IKE SAs before a COOKIE is demanded: default 30 in all and 3 per address.
		// Off: with cookies charon's initiator loses IKE SAs for good when a COOKIE answer
		// and a retransmission cross (with 1,000 tunnels and a threshold of 500, 77 failed
		// with AUTHENTICATION_FAILED: it signed the request carrying the cookie while the
		// responder had answered the one without), and keyingtries does not retry that.
		{"cookie_threshold", unlimited},
		{"cookie_threshold_ip", unlimited},
		// Seconds a responder keeps an IKE SA that is not established: default 30; under
		// this load the IKE_AUTH may come later, so it is the measurement's bound.
		{"half_open_timeout", strconv.Itoa(int(max(timeout/time.Second, 30)))},
	}
}

// tableSize is the IKE SA table size for n tunnels: the next power of two ≥ n, at least 1024
// and at most 2^20.
func tableSize(n int) int {
	s := 1024
	for s < n && s < 1<<20 {
		s <<= 1
	}
	return s
}

// strongswan measures strongSwan↔strongSwan the way vigil measures Vigil: B is started with
// every connection loaded and its idle RSS read; then A is started with every connection's
// start_action "start", so that charon initiates each as `swanctl --load-all` loads it, and
// VICI's "stats" is polled until n IKE SAs are established. The time runs from A's start, so
// it includes A loading its connections, as Vigil's includes vigild loading its
// configuration. (Initiating over VICI instead costs charon a scan of every connection per
// request: 7.7 ms each with 1,000 connections.) A final list-sas on both sides checks that
// each IKE SA has its CHILD_SA installed.
func (b *bench) strongswan(cl *rig.Cleanup, tp *netns.Topo, dir string, plan []scaleplan.Tunnel, r *result) error {
	ctx, n := b.ctx, len(plan)
	ca, cb := scaleplan.SwanConfs(plan, "start")
	bulk := func(conns []swan.Conf) swan.BulkConf {
		return swan.BulkConf{Conns: conns, Charon: charonOptions(n, b.o.timeout), LogLevel: swanLogLevel}
	}
	// kernel-libipsec installs a tunnel's route (and with it the CHILD_SA) only with a local
	// address inside the local subnet as the source: each gateway gets one per tunnel.
	t := time.Now()
	for _, side := range []struct {
		ns   *netns.NS
		nets func(scaleplan.Tunnel) netip.Prefix
	}{{tp.GwA, func(t scaleplan.Tunnel) netip.Prefix { return t.ANet }}, {tp.GwB, func(t scaleplan.Tunnel) netip.Prefix { return t.BNet }}} {
		addrs := make([]netip.Addr, n)
		for i, t := range plan {
			addrs[i] = side.nets(t).Addr().Next()
		}
		if err := addLocalAddrs(ctx, dir, side.ns, addrs); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "# strongswan n=%d: %d local addresses added to each gateway in %s\n", n, n, secs(time.Since(t)))

	sb, err := rig.StartCharonBulk(cl, tp.GwB, filepath.Join(dir, "b"), bulk(cb))
	if err != nil {
		return err
	}
	bctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	r.load, err = sb.LoadAll(bctx)
	cancel()
	if err != nil {
		if bctx.Err() != nil && ctx.Err() == nil {
			r.took, r.note = r.load, "timeout loading B"
			return nil
		}
		return swanFailed(err, nil, sb)
	}
	if r.idleB, err = rig.RSS(sb.PID()); err != nil {
		return err
	}
	// As for Vigil, B's idle figure stands for A's RSS before initiating: A initiates while
	// it loads.
	r.baseA = r.idleB
	cpuB, err := rig.StartCPU(sb.PID())
	if err != nil {
		return err
	}

	t0 := time.Now()
	sa, err := rig.StartCharonBulk(cl, tp.GwA, filepath.Join(dir, "a"), bulk(ca))
	if err != nil {
		return err
	}
	actx, stopLoad := context.WithDeadline(ctx, t0.Add(b.o.timeout))
	defer stopLoad()
	type loaded struct {
		took time.Duration
		err  error
	}
	loadA := make(chan loaded, 1)
	go func() {
		d, err := sa.LoadAll(actx)
		loadA <- loaded{d, err}
	}()
	what := fmt.Sprintf("strongswan n=%d", n)
	r.up, r.took, err = waitUp(ctx, what, t0, t0.Add(b.o.timeout), n, sa.Exited(), func(ctx context.Context) (int, error) {
		s, err := sa.Stats(ctx)
		return s.Established(), err
	})
	cpuA, aerr := rig.CPUTime(sa.PID())
	usedB, berr := cpuB.Stop()
	if err = errors.Join(err, aerr, berr); err != nil {
		return swanFailed(err, sa, sb)
	}
	r.cpu = cpuA + usedB[0]
	if r.rssA, err = rig.RSS(sa.PID()); err != nil {
		return err
	}
	if r.rssB, err = rig.RSS(sb.PID()); err != nil {
		return err
	}
	if r.up < n {
		stopLoad()
		if l := <-loadA; l.err != nil {
			fmt.Fprintf(os.Stderr, "# %s: swanctl --load-all on A did not finish: %s\n", what, oneLine(l.err))
		}
		fmt.Fprintf(os.Stderr, "# %s: timeout; last lines of A's log:\n%s\n", what, rig.Tail(sa.Log(), logTail))
		return nil
	}
	// Every connection is up, so every one was loaded: swanctl only has to report it.
	l := <-loadA
	if l.err != nil {
		return swanFailed(fmt.Errorf("loading A: %w", l.err), sa, sb)
	}
	fmt.Fprintf(os.Stderr, "# %s: swanctl --load-all took %s on B, %s on A (while initiating)\n", what, secs(r.load), secs(l.took))
	// Every IKE SA must carry its CHILD_SA: list them all once (slow for many SAs).
	lctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	for _, side := range []struct {
		name string
		c    *swan.Charon
	}{{"A", sa}, {"B", sb}} {
		ike, children, err := side.c.CountSAs(lctx)
		if err == nil && (ike != n || children != n) {
			err = fmt.Errorf("charon %s: %d established IKE SAs with %d installed CHILD_SAs, want %d of each", side.name, ike, children, n)
		}
		if err != nil {
			return swanFailed(err, sa, sb)
		}
	}
	return nil
}

// swanFailed adds the tails of both charons' logs to err.
func swanFailed(err error, sa, sb *swan.Charon) error {
	for _, c := range []struct {
		name string
		c    *swan.Charon
	}{{"A", sa}, {"B", sb}} {
		if c.c != nil {
			err = fmt.Errorf("%w\n--- charon %s ---\n%s", err, c.name, rig.Tail(c.c.Log(), logTail))
		}
	}
	return err
}
