package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-ipsec/vigil/bench/internal/readme"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // a run failed (its line says "error" or "failed")
	exitUsage       = 2
	exitInterrupted = 130
)

// options are the command-line flags.
type options struct {
	runs       int
	cap        time.Duration
	quick      bool
	only       string
	parallel   int
	noBaseline bool
	keep       bool
	childLife  time.Duration
	readme     readme.Target
}

func main() { os.Exit(realMain(os.Args[1:])) }

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("recovery", flag.ContinueOnError)
	fs.IntVar(&o.runs, "runs", 5, "measured runs per scenario and side")
	fs.DurationVar(&o.cap, "cap", 240*time.Second, "longest wait for a recovery; slower runs print \"no recovery in <cap>\"")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 run per scenario and a 30 s cap (unless -runs or -cap are given)")
	fs.StringVar(&o.only, "only", "", "comma-separated scenario ids or fault names to run (default: all)")
	fs.IntVar(&o.parallel, "parallel", 5, "strongSwan<->strongSwan runs measured at once, each in its own topology")
	fs.BoolVar(&o.noBaseline, "no-baseline", false, "measure only the Vigil side")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (configurations, daemon logs)")
	fs.DurationVar(&o.childLife, "child-life", 6*time.Second, "strongSwan B's Child SA hard lifetime in the silent-child-loss scenarios (whole seconds, >= 3s); it sets the fault's phase against Vigil's child_probe timer")
	o.readme.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["runs"] {
			o.runs = 1
		}
		if !set["cap"] {
			o.cap = 30 * time.Second
		}
	}
	if o.runs < 1 || o.cap <= 0 || o.parallel < 1 {
		return o, errors.New("-runs and -parallel must be at least 1 and -cap positive")
	}
	if o.childLife < 3*time.Second || o.childLife%time.Second != 0 {
		return o, errors.New("-child-life must be a whole number of seconds, at least 3s (the tunnel must come up and carry probes first)")
	}
	if err := o.readme.Check(); err != nil {
		return o, err
	}
	return o, nil
}

func realMain(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "recovery:", err)
		}
		return exitUsage
	}
	sel, err := selectScenarios(scenarios, o.only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		return exitUsage
	}
	if err := netns.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		return exitFailed
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	// prog undoes what the program itself made (working directory, vigild binary), after the
	// runs' own cleanups.
	prog := &cleanup{}
	defer prog.run()
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "# interrupted: stopping the runs and cleaning up (again to exit at once)")
		cancel()
		<-sigs
		liveRuns.runAll()
		prog.run()
		os.Exit(exitInterrupted)
	}()

	work, err := os.MkdirTemp("", "vigil-recovery-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		return exitFailed
	}
	prog.push("working directory", func() error {
		if o.keep {
			fmt.Fprintln(os.Stderr, "# working directory kept:", work)
			return nil
		}
		return os.RemoveAll(work)
	})
	fmt.Fprintln(os.Stderr, "# building vigild")
	prog.push("vigild binary", vigiltest.RemoveBinary)
	bin, err := vigiltest.BinaryPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		return exitFailed
	}
	e := &env{ctx: ctx, work: work, cap: o.cap, vigild: bin, childLife: o.childLife}

	vigil := measureVigil(e, sel, o.runs)
	base := map[string][]outcome{}
	if !o.noBaseline && ctx.Err() == nil {
		base = measureBaselines(e, sel, o.runs, o.parallel)
	}
	liveRuns.runAll() // nothing should be left; this is the backstop after an interrupt
	if ctx.Err() != nil {
		return exitInterrupted
	}
	status := exitOK
	var printed strings.Builder // the result lines, for -readme
	for _, sc := range sel {
		bl, _ := findBaseline(sc.baseline)
		l := line(sc, vigil[sc.id], bl, base[sc.baseline], o.cap)
		fmt.Println(l)
		printed.WriteString(l + "\n")
		for _, outs := range [][]outcome{vigil[sc.id], base[sc.baseline]} {
			for _, out := range outs {
				if out.err != nil {
					status = exitFailed
				}
			}
		}
	}
	if status == exitOK {
		if err := o.readme.Write(printed.String(), readme.Command("bench/recovery.sh", args)); err != nil {
			fmt.Fprintln(os.Stderr, "recovery:", err)
			return exitFailed
		}
	}
	return status
}

// measureVigil runs every selected scenario's Vigil side, one run at a time (so that the runs
// do not disturb each other's timing).
func measureVigil(e *env, sel []scenario, runs int) map[string][]outcome {
	res := map[string][]outcome{}
	for _, sc := range sel {
		for i := 1; i <= runs && e.ctx.Err() == nil; i++ {
			label := fmt.Sprintf("%s %s run %d/%d", sc.fault, sc.pair, i, runs)
			out := measureOne(e, label, sc.id, i, sc.run)
			if e.ctx.Err() == nil {
				res[sc.id] = append(res[sc.id], out)
			}
		}
	}
	return res
}

// measureBaselines runs the strongSwan<->strongSwan baselines the selected scenarios need,
// up to parallel runs at once (each waits up to the cap, mostly idle).
func measureBaselines(e *env, sel []scenario, runs, parallel int) map[string][]outcome {
	type job struct {
		bl baseline
		i  int
	}
	var jobs []job
	seen := map[string]bool{}
	for _, sc := range sel {
		bl, ok := findBaseline(sc.baseline)
		if !ok || seen[bl.key] {
			continue
		}
		seen[bl.key] = true
		for i := 1; i <= runs; i++ {
			jobs = append(jobs, job{bl, i})
		}
	}
	res := map[string][]outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan job)
	for range min(parallel, len(jobs)) {
		wg.Go(func() {
			for j := range ch {
				label := fmt.Sprintf("%s %s run %d/%d", j.bl.key, j.bl.pair, j.i, runs)
				out := measureOne(e, label, j.bl.key, j.i, j.bl.run)
				if e.ctx.Err() == nil {
					mu.Lock()
					res[j.bl.key] = append(res[j.bl.key], out)
					mu.Unlock()
				}
			}
		})
	}
	if len(jobs) > 0 {
		fmt.Fprintf(os.Stderr, "# %d strongSwan<->strongSwan runs, %d at a time; each can wait up to %v\n", len(jobs), min(parallel, len(jobs)), e.cap)
	}
	for _, j := range jobs {
		if e.ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	return res
}

// measureOne runs fn once in a fresh topology and reports progress on stderr.
func measureOne(e *env, label, id string, i int, fn func(*run) (sample, error)) outcome {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "# %s %s: start\n", start.Format("15:04:05"), label)
	smp, err := runOnce(e, fmt.Sprintf("%s-%d", id, i), fn)
	took := time.Since(start).Round(100 * time.Millisecond)
	switch {
	case e.ctx.Err() != nil:
	case err != nil:
		fmt.Fprintf(os.Stderr, "# %s %s: error after %v: %v\n", time.Now().Format("15:04:05"), label, took, err)
	case !smp.recovered:
		fmt.Fprintf(os.Stderr, "# %s %s: no recovery in %s (run took %v)\n", time.Now().Format("15:04:05"), label, seconds(e.cap), took)
	default:
		note := ""
		if smp.note != "" {
			note = "; " + smp.note
		}
		fmt.Fprintf(os.Stderr, "# %s %s: outage %s, %d probes lost (run took %v%s)\n", time.Now().Format("15:04:05"), label, formatDuration(smp.outage), smp.lost, took, note)
	}
	return outcome{smp, err}
}
