package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/scaleplan"
)

const (
	// debugAddr is where vigild serves pprof with -profile, on each namespace's loopback.
	debugAddr = "127.0.0.1:6060"
	// settleTimeout bounds the wait for B to count the tunnels A already counts up.
	settleTimeout = 30 * time.Second
	// leftoverTimeout bounds the wait for half-open IKE SAs to expire (vigild's half-open
	// timeout is 30 s).
	leftoverTimeout = 45 * time.Second
	// logTail is how many lines of each daemon's log an error shows.
	logTail = 30
)

// vigil measures Vigil↔Vigil (with noDHReuse, both with dh_reuse = "0s"): B (every tunnel start_action "none") is launched and its idle
// RSS read, then A (every tunnel start_action "start") is launched and its status polled
// until TunnelsUp reaches n. The time runs from A's launch, so it includes A loading its
// configuration.
func (b *bench) vigil(cl *rig.Cleanup, tp *netns.Topo, dir string, plan []scaleplan.Tunnel, r *result, noDHReuse bool) error {
	ctx, n := b.ctx, len(plan)
	ca, cb := scaleplan.VigilConfs(plan, "start")
	if noDHReuse {
		ca.Global = append(ca.Global, `dh_reuse = "0s"`)
		cb.Global = append(cb.Global, `dh_reuse = "0s"`)
	}
	fa, err := rig.WriteVigilConf(filepath.Join(dir, "a"), "vgs-a", ca)
	if err != nil {
		return err
	}
	// B, whose reload is measured, has its tunnels in included files as configuration
	// management would write them (see measureReload).
	fb, err := rig.WriteVigilConfSplit(filepath.Join(dir, "b"), "vgs-b", cb, tunnelsPerFile)
	if err != nil {
		return err
	}
	opts := rig.VigilOptions{Ready: b.o.timeout}
	if b.o.profile != "" {
		opts.Args = []string{"--debug-addr", debugAddr}
	}

	start := time.Now()
	vb, err := rig.LaunchVigil(ctx, cl, tp.GwB, b.vigild, fb, opts)
	if err != nil {
		return err
	}
	r.load = time.Since(start)
	// Idle memory is read once the daemon has settled: it returns start-up's garbage to the
	// system a few seconds after it answers, and logs that.
	if err := waitSettled(ctx, vb); err != nil {
		return err
	}
	if r.idleB, err = rig.RSS(vb.PID()); err != nil {
		return err
	}
	// A initiates as soon as it runs: its RSS before any tunnel is up is not observable, so
	// B's idle figure (the same configuration size) stands in for it.
	r.baseA = r.idleB
	cpuB, err := rig.StartCPU(vb.PID())
	if err != nil {
		return err
	}
	sys := sysVigil
	if noDHReuse {
		sys = sysVigilDH0
	}
	prof := b.newVigilProfiles(tp, sys, n)
	defer prof.stop(ctx) // on failure; on success they end when all are up
	prof.start("b")

	t0 := time.Now()
	va, err := rig.LaunchVigil(ctx, cl, tp.GwA, b.vigild, fa, opts)
	if err != nil {
		return err
	}
	prof.start("a")
	what := fmt.Sprintf("vigil n=%d", n)
	r.up, r.took, err = waitUp(ctx, what, t0, t0.Add(b.o.timeout), n, va.Exited(), func(ctx context.Context) (int, error) {
		s, err := va.Client.Status(ctx)
		return s.TunnelsUp, err
	})
	// CPU and memory at the moment all were seen up (or at the timeout).
	cpuA, cerr := rig.CPUTime(va.PID())
	usedB, berr := cpuB.Stop()
	if err = errors.Join(err, cerr, berr); err != nil {
		return vigilFailed(err, va, vb)
	}
	r.cpu = cpuA + usedB[0]
	if r.rssA, err = rig.RSS(va.PID()); err != nil {
		return err
	}
	if r.up < n {
		fmt.Fprintf(os.Stderr, "# %s: timeout; last lines of A's log:\n%s\n", what, rig.Tail(va.Log(), logTail))
		r.rssB, _ = rig.RSS(vb.PID())
		return nil
	}
	if err := settle(ctx, n, vb); err != nil {
		return vigilFailed(err, va, vb)
	}
	if r.rssB, err = rig.RSS(vb.PID()); err != nil {
		return err
	}
	prof.stop(ctx)
	prof.heap(ctx)
	for _, v := range []*rig.Vigil{va, vb} {
		if err := checkCounts(ctx, v, n); err != nil {
			return vigilFailed(err, va, vb)
		}
	}
	for i, wait := range []time.Duration{0, idleLater - idleWindow} {
		if r.idleCPU[i][0], r.idleCPU[i][1], err = idleCPU(ctx, wait, va.PID(), vb.PID()); err != nil {
			return vigilFailed(fmt.Errorf("idle CPU: %w", err), va, vb)
		}
	}
	if r.reload, err = measureReload(ctx, vb, fb, cb, n); err != nil {
		return vigilFailed(fmt.Errorf("reload of one tunnel: %w", err), va, vb)
	}
	return nil
}

// settle waits until B, too, reports n tunnels up (it installs each Child SA before A does,
// so this normally holds at once).
func settle(ctx context.Context, n int, vb *rig.Vigil) error {
	t0 := time.Now()
	up, _, err := waitUp(ctx, "vigil B", t0, t0.Add(settleTimeout), n, vb.Exited(), func(ctx context.Context) (int, error) {
		s, err := vb.Client.Status(ctx)
		return s.TunnelsUp, err
	})
	if err == nil && up != n {
		err = fmt.Errorf("B reports %d of %d tunnels up %v after A reported all", up, n, settleTimeout)
	}
	return err
}

// checkCounts waits (up to leftoverTimeout) until v holds exactly n IKE SAs and n Child SAs:
// one of each per tunnel. Right when all tunnels are up a responder may still hold half-open
// IKE SAs of initiations the initiator gave up on; they expire after 30 s.
func checkCounts(ctx context.Context, v *rig.Vigil, n int) error {
	t0 := time.Now()
	tick := time.NewTicker(pollInterval(n))
	defer tick.Stop()
	var last api.Status
	for {
		s, err := v.Client.Status(ctx)
		if err != nil {
			return err
		}
		if s.TunnelsUp == n && s.IKESAs == n && s.ChildSAs == n {
			if extra := last.IKESAs - n; extra > 0 {
				fmt.Fprintf(os.Stderr, "# vigild in %s: %d IKE SAs more than tunnels when all were up, gone after %s\n", v.NS.Name, extra, secs(time.Since(t0)))
			}
			return nil
		}
		if last.Version == "" {
			last = s
		}
		if time.Since(t0) > leftoverTimeout {
			return fmt.Errorf("vigild in %s: %s, want %d of each (at first %s)", v.NS.Name, counts(s), n, counts(last))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func counts(s api.Status) string {
	return fmt.Sprintf("%d tunnels up, %d IKE SAs, %d Child SAs", s.TunnelsUp, s.IKESAs, s.ChildSAs)
}

// vigilFailed adds the tails of both daemons' logs to err.
func vigilFailed(err error, va, vb *rig.Vigil) error {
	return fmt.Errorf("%w\n--- vigild A ---\n%s\n--- vigild B ---\n%s", err, rig.Tail(va.Log(), logTail), rig.Tail(vb.Log(), logTail))
}

// settledMsg is what vigild logs once it has returned start-up's memory (cmd/vigild: settle).
const settledMsg = "start-up settled"

// waitSettled waits (up to a minute) until v logs that start-up has settled.
func waitSettled(ctx context.Context, v *rig.Vigil) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(v.Log(), settledMsg) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("vigild did not log %q: %w", settledMsg, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// idleWindow is how long the daemons' CPU is read with every tunnel up and no traffic: right
// after all came up, when each tunnel's first liveness (dpd_delay, 10 s) and Child SA probe
// (3 s) checks find nothing to do, and again idleLater after all came up, at rest.
const (
	idleWindow = 10 * time.Second
	idleLater  = 20 * time.Second
)

// idleCPU waits wait, then returns the CPU time the two daemons use in idleWindow: what the
// timers of n established tunnels cost when nothing happens.
func idleCPU(ctx context.Context, wait time.Duration, pidA, pidB int) (a, b time.Duration, err error) {
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(wait):
	}
	m, err := rig.StartCPU(pidA, pidB)
	if err != nil {
		return 0, 0, err
	}
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(idleWindow):
	}
	used, err := m.Stop()
	if err != nil {
		return 0, 0, err
	}
	return used[0], used[1], nil
}
