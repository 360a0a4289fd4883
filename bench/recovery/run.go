package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/probe"
)

const (
	// setupTimeout bounds bringing a run's tunnel up (before the fault).
	setupTimeout = 60 * time.Second
	// flowProbes is how many echoes must arrive after the fault took effect before the
	// tunnel counts as recovered: more than can be in flight at 1 ms spacing, so stragglers
	// sent before the fault do not count as recovery.
	flowProbes = 50
	// probePort is the UDP port of the echo receiver on hostB.
	probePort = 9999
	// logTail is how many lines of each daemon's log an error report carries.
	logTail = 40
)

// env is what every run shares.
type env struct {
	ctx    context.Context // ends on Ctrl-C
	work   string          // working directory of the whole program
	cap    time.Duration   // longest wait for a recovery
	vigild string          // vigild binary
	// childLife is strongSwan B's Child SA hard lifetime in the silent-child-loss scenarios.
	childLife time.Duration
}

// daemonLog names a daemon's log for error reports.
type daemonLog struct {
	name string
	log  func() string
}

// run is one measurement in its own topology.
type run struct {
	env   *env
	label string
	dir   string
	cl    *cleanup
	topo  *netns.Topo
	logs  []daemonLog
}

// sample is the result of one run.
type sample struct {
	recovered bool
	outage    time.Duration
	lost      int
	note      string // e.g. what Vigil said recovered the tunnel
	// end is the arrival of the first echo after the outage (zero if none).
	end time.Time
	// back is when the restarted daemon was started again (restart lines; zero elsewhere).
	back time.Time
}

// sinceBack is the part of the outage after the restarted daemon was back: from back to the
// first echo after the fault (0 when back was not recorded).
func (s sample) sinceBack() time.Duration {
	if s.back.IsZero() || s.end.IsZero() {
		return 0
	}
	return s.end.Sub(s.back)
}

// newRun creates the run's directory and topology; close undoes both.
func newRun(e *env, label string) (*run, error) {
	r := &run{env: e, label: label, cl: &cleanup{}}
	liveRuns.add(r.cl)
	dir, err := os.MkdirTemp(e.work, strings.NewReplacer("/", "-", " ", "-").Replace(label)+"-")
	if err != nil {
		r.close()
		return nil, err
	}
	r.dir = dir
	if r.topo, err = newTopo(r.cl); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// close stops everything the run started and removes its namespaces.
func (r *run) close() {
	r.cl.run()
	liveRuns.remove(r.cl)
}

// failure returns err with the tail of every daemon's log.
func (r *run) failure(err error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", err)
	for _, l := range r.logs {
		fmt.Fprintf(&b, "\n--- %s log (last %d lines) ---\n%s", l.name, logTail, tail(l.log(), logTail))
	}
	return errors.New(b.String())
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o700) }

// setupCtx bounds the part of a run before the fault.
func (r *run) setupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.env.ctx, setupTimeout)
}

// startProbes starts the 1 ms echo stream hostA -> hostB and waits until it flows.
func (r *run) startProbes(ctx context.Context) (*probe.Stream, error) {
	s, err := probe.Start(r.topo.HostA, r.topo.HostB, netns.HostBAddr, probePort, time.Millisecond, setupTimeout+r.env.cap+time.Minute)
	if err != nil {
		return nil, err
	}
	r.cl.push("probe stream", func() error { s.Stop(); return nil })
	if err := s.WaitFlowing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// measure waits until traffic flows again after a fault at time fault, at most until
// fault+cap. Call it once the fault has certainly taken effect, with base = s.Arrived() at
// that moment. The outage is the probe stream's gap spanning the fault.
func (r *run) measure(s *probe.Stream, fault time.Time, base int) (sample, error) {
	ctx, cancel := context.WithDeadline(r.env.ctx, fault.Add(r.env.cap))
	defer cancel()
	for s.Arrived()-base < flowProbes {
		if err := s.WaitFlowing(ctx); err != nil {
			if r.env.ctx.Err() != nil {
				return sample{}, r.env.ctx.Err()
			}
			return sample{}, nil // not recovered within the cap
		}
	}
	res := s.Result(fault)
	smp := sample{recovered: true, outage: res.Outage, lost: res.Lost}
	if !res.GapStart.IsZero() {
		smp.end = res.GapStart.Add(res.Outage)
	}
	return smp, nil
}

// runOnce runs fn in a fresh topology and always cleans up.
func runOnce(e *env, label string, fn func(*run) (sample, error)) (sample, error) {
	r, err := newRun(e, label)
	if err != nil {
		return sample{}, err
	}
	defer r.close()
	smp, err := fn(r)
	if err != nil && e.ctx.Err() == nil {
		return smp, r.failure(err)
	}
	return smp, err
}
