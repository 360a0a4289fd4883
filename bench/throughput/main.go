package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/readme"
	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// System names, in the order they run.
const (
	sysVigilUDP  = "vigil-udp"
	sysVigilRaw  = "vigil-raw"
	sysSwan      = "strongswan"
	sysWireGuard = "wireguard-go"
)

var allSystems = []string{sysVigilUDP, sysVigilRaw, sysSwan, sysWireGuard}

// streamCounts are the iperf3 -P values measured for every system.
var streamCounts = []int{1, 4}

func main() { os.Exit(run()) }

// options are the command-line settings.
type options struct {
	duration time.Duration
	systems  []string
	keep     bool
	readme   readme.Target
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each iperf3 run")
	quick := fs.Bool("quick", false, "smoke run: 2 s per iperf3 run (overrides -duration)")
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
		o.duration = 2 * time.Second
	}
	if o.duration < time.Second || o.duration > 10*time.Minute {
		return o, fmt.Errorf("-duration %v: want 1s to 10m", o.duration)
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

func run() int {
	return rig.Main("throughput", func() (options, error) { return parseFlags(os.Args[1:]) }, bench)
}

// bench runs the measurements and prints the result lines; it returns the exit code.
func bench(ctx context.Context, cl *rig.Cleanup, o options) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		return 1
	}
	if err := netns.Available(); err != nil {
		return fail(err)
	}
	need := []string{"iperf3", "ss"}
	if slices.Contains(o.systems, sysWireGuard) {
		need = append(need, "wg")
	}
	for _, b := range need {
		if _, err := exec.LookPath(b); err != nil {
			return fail(fmt.Errorf("%s not found (Debian: apt-get install iperf3 iproute2 wireguard-tools): %w", b, err))
		}
	}
	work, err := rig.WorkDir(cl, "vgb-throughput-", o.keep)
	if err != nil {
		return fail(err)
	}
	var vigild, wgBin string
	if slices.ContainsFunc(o.systems, func(s string) bool { return strings.HasPrefix(s, "vigil") }) {
		fmt.Fprintln(os.Stderr, "# building vigild")
		if vigild, err = rig.BuildVigild(ctx, work); err != nil {
			return fail(err)
		}
	}
	if slices.Contains(o.systems, sysWireGuard) {
		if wgBin, err = rig.WireGuardBinary(ctx); err != nil {
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
	results := map[string]map[int]rig.IperfResult{}
	code := 0
	for _, sys := range o.systems {
		if ctx.Err() != nil {
			return 1
		}
		fmt.Fprintf(os.Stderr, "# %s\n", sys)
		// Forget path MTUs learnt through the previous system's tunnel device.
		for _, ns := range []*netns.NS{tp.HostA, tp.GwA, tp.GwB, tp.HostB} {
			if _, err := ns.Run(ctx, "ip", "route", "flush", "cache"); err != nil {
				return fail(err)
			}
		}
		r := &runner{ctx: ctx, tp: tp, dir: filepath.Join(work, sys), dur: o.duration, sys: sys, out: out}
		var err error
		switch sys {
		case sysVigilUDP:
			err = r.vigil(vigild, "udp")
		case sysVigilRaw:
			err = r.vigil(vigild, "raw")
		case sysSwan:
			err = r.strongswan()
		case sysWireGuard:
			err = r.wireguard(wgBin)
		}
		if err != nil && ctx.Err() != nil {
			return 1 // interrupted: no error line, no ratios
		}
		if err != nil {
			fmt.Fprintf(out, "throughput %s error: %v\n", sys, oneLine(err))
			fmt.Fprintf(os.Stderr, "throughput: %s: %v\n", sys, err)
			code = 1
		}
		if len(r.results) > 0 {
			results[sys] = r.results
		}
	}
	printRatios(out, results)
	if code == 0 && ctx.Err() == nil {
		if err := o.readme.Write(printed.String(), readme.Command("bench/throughput.sh", os.Args[1:])); err != nil {
			return fail(err)
		}
	}
	return code
}

// printRatios prints Vigil's throughput relative to each other system measured.
func printRatios(out io.Writer, results map[string]map[int]rig.IperfResult) {
	for _, v := range []string{sysVigilUDP, sysVigilRaw} {
		for _, ref := range []string{sysWireGuard, sysSwan} {
			for _, n := range streamCounts {
				a, ok1 := results[v][n]
				b, ok2 := results[ref][n]
				if !ok1 || !ok2 || b.BitsPerSecond <= 0 {
					continue
				}
				fmt.Fprintf(out, "ratio %s/%s %s %.2f\n", v, ref, streamLabel(n), a.BitsPerSecond/b.BitsPerSecond)
			}
		}
	}
}

func streamLabel(n int) string {
	if n == 1 {
		return "1stream"
	}
	return fmt.Sprintf("%dstreams", n)
}

// oneLine flattens a multi-line error for the result line (details go to stderr).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
