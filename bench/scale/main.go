package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/readme"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/scaleplan"
)

// System names as printed.
const (
	sysVigil = "vigil"
	sysSwan  = "strongswan"
	// sysVigilDH0 is Vigil with dh_reuse = "0s": a new Diffie-Hellman value and shared
	// secret for every exchange, as strongSwan makes them. By default (sysVigil) each side
	// reuses its value for 1 s and remembers the secret of the peer's, which between two
	// Vigils under a mass set-up leaves almost no DH work; this line shows the cost without.
	sysVigilDH0 = "vigil-dh0s"
)

var allSystems = []string{sysVigil, sysVigilDH0, sysSwan}

// options are the command-line settings.
type options struct {
	ns      []int // tunnel counts, ascending
	systems []string
	peers   int
	timeout time.Duration
	profile string // directory for pprof profiles of vigild; "" for none
	keep    bool
	readme  readme.Target
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	ns := fs.String("n", "1000,10000,100000", "comma-separated tunnel counts")
	systems := fs.String("systems", strings.Join(allSystems, ","), "comma-separated systems to measure")
	fs.IntVar(&o.peers, "peers", 1, "IKE addresses of side A, the tunnels spread over them round-robin (a hub with spokes)")
	fs.DurationVar(&o.timeout, "timeout", 300*time.Second, "bound on bringing all tunnels up (and on loading them), per system and count")
	fs.StringVar(&o.profile, "profile", "", "write CPU profiles of both vigild for the setup and heap profiles when all are up into `DIR`")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (configs, daemon logs) and print its path")
	o.readme.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := o.readme.Check(); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.ns, err = parseCounts(*ns); err != nil {
		return o, fmt.Errorf("-n: %w", err)
	}
	for _, s := range strings.Split(*systems, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allSystems, s) {
			return o, fmt.Errorf("-systems: unknown system %q (known: %s)", s, strings.Join(allSystems, ", "))
		}
		if !slices.Contains(o.systems, s) {
			o.systems = append(o.systems, s)
		}
	}
	if o.peers < 1 || o.peers > scaleplan.MaxPeers {
		return o, fmt.Errorf("-peers %d: want 1 to %d", o.peers, scaleplan.MaxPeers)
	}
	if o.timeout < time.Second {
		return o, fmt.Errorf("-timeout %v: want at least 1s", o.timeout)
	}
	if o.profile != "" && !slices.Contains(o.systems, sysVigil) {
		return o, errors.New("-profile profiles vigild: add vigil to -systems")
	}
	return o, nil
}

// parseCounts parses "1000,10000" into ascending distinct counts: a system that fails a count
// is not run for the larger ones.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > scaleplan.MaxTunnels {
			return nil, fmt.Errorf("%q: want counts from 1 to %d", f, scaleplan.MaxTunnels)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func main() { os.Exit(run()) }

func run() int {
	return rig.Main("scale", func() (options, error) { return parseFlags(os.Args[1:]) }, benchAll)
}

// benchAll runs the measurements and prints the result lines; it returns the exit code: 0
// when every run ended with all tunnels up or with a timeout (a result, not a failure), 1 if
// a run failed.
func benchAll(ctx context.Context, cl *rig.Cleanup, o options) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "scale:", err)
		return 1
	}
	if err := netns.Available(); err != nil {
		return fail(err)
	}
	work, err := rig.WorkDir(cl, "vgs-scale-", o.keep)
	if err != nil {
		return fail(err)
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return fail(err)
		}
	}
	b := &bench{ctx: ctx, o: o, work: work}
	if slices.Contains(o.systems, sysVigil) || slices.Contains(o.systems, sysVigilDH0) {
		fmt.Fprintln(os.Stderr, "# building vigild")
		if b.vigild, err = rig.BuildVigild(ctx, work); err != nil {
			return fail(err)
		}
	}

	var printed bytes.Buffer
	out := io.MultiWriter(os.Stdout, &printed)
	failedAt := map[string]int{} // system -> the count it did not bring up
	code := 0
	for _, n := range o.ns {
		byID := map[string]result{}
		for _, sys := range o.systems {
			if ctx.Err() != nil {
				return 1
			}
			if at, ok := failedAt[sys]; ok {
				fmt.Fprintln(out, skippedLine(sys, n, o.peers, at))
				continue
			}
			fmt.Fprintf(os.Stderr, "# %s n=%d peers=%d\n", sys, n, o.peers)
			r := b.measure(sys, n)
			if r.err != nil && ctx.Err() != nil {
				return 1 // interrupted: no error line
			}
			fmt.Fprintln(out, r.line())
			if r.err != nil {
				fmt.Fprintf(os.Stderr, "scale: %s n=%d: %v\n", sys, n, r.err)
				code = 1
			}
			if !r.complete() {
				failedAt[sys] = n
			}
			byID[sys] = r
		}
		if l, ok := ratioLine(byID[sysVigil], byID[sysSwan]); ok {
			fmt.Fprintln(out, l)
		}
	}
	if code == 0 && ctx.Err() == nil {
		if err := o.readme.Write(printed.String(), readme.Command("bench/scale.sh", os.Args[1:])); err != nil {
			return fail(err)
		}
	}
	return code
}
