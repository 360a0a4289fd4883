package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/readme"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// System names as printed.
const (
	sysVigil    = "vigil"
	sysVigilAPI = "vigil-api"
	sysSwan     = "strongswan"
)

var allSystems = []string{sysVigil, sysSwan}

// options are the command-line settings.
type options struct {
	n       int
	systems []string
	keep    bool
	readme  readme.Target
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 20, "measured runs per system (after one warm-up run)")
	quick := fs.Bool("quick", false, "smoke run: 5 runs per system (overrides -n)")
	systems := fs.String("systems", strings.Join(allSystems, ","), "comma-separated systems to measure")
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
	if *quick {
		o.n = 5
	}
	if o.n < 1 || o.n > 10000 {
		return o, fmt.Errorf("-n %d: want 1 to 10000", o.n)
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
	return o, nil
}

func main() { os.Exit(run()) }

func run() int {
	return rig.Main("setup", func() (options, error) { return parseFlags(os.Args[1:]) }, bench)
}

// bench runs the measurements and prints the result lines; it returns the exit code.
func bench(ctx context.Context, cl *rig.Cleanup, o options) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	if err := netns.Available(); err != nil {
		return fail(err)
	}
	work, err := rig.WorkDir(cl, "vgb-setup-", o.keep)
	if err != nil {
		return fail(err)
	}
	var vigild string
	if slices.Contains(o.systems, sysVigil) {
		fmt.Fprintln(os.Stderr, "# building vigild")
		if vigild, err = rig.BuildVigild(ctx, work); err != nil {
			return fail(err)
		}
	}
	tp, err := rig.NewTopo(cl, "vgb")
	if err != nil {
		return fail(err)
	}

	// The result lines go to stdout and, with -readme, into the README block.
	var printed bytes.Buffer
	out := io.MultiWriter(os.Stdout, &printed)
	summaries := map[string]rig.Summary{}
	code := 0
	report := func(sys string, xs []time.Duration) {
		if len(xs) == 0 {
			return
		}
		s := rig.Summarize(xs)
		summaries[sys] = s
		fmt.Fprintf(out, "setup %s median %s p90 %s min %s max %s (n=%d)\n",
			sys, rig.Ms(s.Median), rig.Ms(s.P90), rig.Ms(s.Min), rig.Ms(s.Max), s.N)
	}
	for _, sys := range o.systems {
		if ctx.Err() != nil {
			return 1
		}
		fmt.Fprintf(os.Stderr, "# %s\n", sys)
		r := &runner{ctx: ctx, tp: tp, dir: work + "/" + sys, n: o.n}
		var err error
		switch sys {
		case sysVigil:
			err = r.vigil(vigild)
		case sysSwan:
			err = r.strongswan()
		}
		if err != nil && ctx.Err() != nil {
			return 1 // interrupted: no error line, no ratios
		}
		if sys == sysVigil {
			report(sysVigil, r.samples)
			report(sysVigilAPI, r.apiSamples)
		} else {
			report(sys, r.samples)
		}
		if err != nil {
			fmt.Fprintf(out, "setup %s error: %v\n", sys, oneLine(err))
			fmt.Fprintf(os.Stderr, "setup: %s: %v\n", sys, err)
			code = 1
		}
	}
	for _, v := range []string{sysVigil, sysVigilAPI} {
		sw, ok1 := summaries[sysSwan]
		vs, ok2 := summaries[v]
		if ok1 && ok2 && vs.Median > 0 {
			fmt.Fprintf(out, "ratio %s/%s %.1f\n", sysSwan, v, float64(sw.Median)/float64(vs.Median))
		}
	}
	if code == 0 && ctx.Err() == nil {
		if err := o.readme.Write(printed.String(), readme.Command("bench/setup.sh", os.Args[1:])); err != nil {
			return fail(err)
		}
	}
	return code
}

// oneLine flattens a multi-line error for the result line (details go to stderr).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
