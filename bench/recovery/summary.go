package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// outcome is one run's sample or the error that spoiled it.
type outcome struct {
	sample
	err error
}

// describe summarises the runs of one side of a line, e.g. "median 3.1ms max 4.0ms (n=5)"
// or "no recovery in 240 s (n=5)". Runs that did not recover within limit count as longer
// than limit; runs that failed are left out of n and counted as errors.
func describe(outs []outcome, limit time.Duration) string {
	return describeBy(outs, limit, false)
}

// describeSinceBack is describe for the restart-here lines: the outage counted from the moment
// the restarted daemon was started again (sample.back) to the first echo after, then the whole
// outage, e.g. "since back median 15.1ms max 16.0ms, total median 31.0ms max 33.2ms (n=5)".
func describeSinceBack(outs []outcome, limit time.Duration) string {
	return describeBy(outs, limit, true)
}

func describeBy(outs []outcome, limit time.Duration, sinceBack bool) string {
	var total, back []time.Duration
	var missed, errs int
	var firstErr error
	for _, o := range outs {
		switch {
		case o.err != nil:
			errs++
			if firstErr == nil {
				firstErr = o.err
			}
		case o.recovered:
			total = append(total, o.outage)
			back = append(back, o.sinceBack())
		default:
			missed++
		}
	}
	n := len(total) + missed
	capText := "no recovery in " + seconds(limit)
	var b strings.Builder
	switch {
	case n == 0 && errs == 0:
		return "not run"
	case n == 0:
		return fmt.Sprintf("error: %s (%d of %d runs failed)", firstLine(firstErr), errs, len(outs))
	case len(total) == 0:
		fmt.Fprintf(&b, "%s (n=%d", capText, n)
	default:
		if sinceBack {
			fmt.Fprintf(&b, "since back %s, total %s (n=%d", stats(back, missed, limit), stats(total, missed, limit), n)
		} else {
			fmt.Fprintf(&b, "%s (n=%d", stats(total, missed, limit), n)
		}
		if missed > 0 {
			fmt.Fprintf(&b, ", %d %s", missed, capText)
		}
	}
	if errs > 0 {
		fmt.Fprintf(&b, ", %d failed", errs)
	}
	b.WriteString(")")
	return b.String()
}

// stats is "median X max Y" of the recovered runs' durations xs plus missed runs, which sort
// after every recovered one (as longer than limit).
func stats(xs []time.Duration, missed int, limit time.Duration) string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	med, medOK := medianWithMissing(xs, missed)
	medText, maxText := "> "+seconds(limit), "> "+seconds(limit)
	if medOK {
		medText = formatDuration(med)
	}
	if missed == 0 {
		maxText = formatDuration(xs[len(xs)-1])
	}
	return fmt.Sprintf("median %s max %s", medText, maxText)
}

// medianWithMissing is the median of the sorted recovered outages xs plus missed runs that
// count as infinitely long; ok is false when the median falls on a missed run. An even count
// averages the two middle values.
func medianWithMissing(xs []time.Duration, missed int) (time.Duration, bool) {
	n := len(xs) + missed
	at := func(i int) (time.Duration, bool) {
		if i < len(xs) {
			return xs[i], true
		}
		return 0, false
	}
	if n%2 == 1 {
		return at(n / 2)
	}
	lo, ok1 := at(n/2 - 1)
	hi, ok2 := at(n / 2)
	if !ok1 || !ok2 {
		return 0, false
	}
	return (lo + hi) / 2, true
}

// formatDuration prints an outage with about three significant digits: "0.84ms", "3.1ms",
// "412ms", "3.21s", "171.4s".
func formatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.2fs", ms/1000)
	default:
		return fmt.Sprintf("%.1fs", ms/1000)
	}
}

// seconds prints a cap as "240 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// line is the output line of a scenario.
func line(sc scenario, vigil []outcome, bl baseline, base []outcome, limit time.Duration) string {
	d := describe
	if sc.sinceBack {
		d = describeSinceBack
	}
	return fmt.Sprintf("recovery %-18s %-19s %s | %s %s", sc.fault, sc.pair, d(vigil, limit), bl.pair, d(base, limit))
}

// selectScenarios returns, in their usual order, the scenarios named in only: comma-separated
// ids, or fault names such as "peer-restart" for all lines of that fault. Empty means all.
func selectScenarios(all []scenario, only string) ([]scenario, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	names := strings.Split(only, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	for _, name := range names {
		if !slices.ContainsFunc(all, func(sc scenario) bool { return sc.id == name || sc.fault == name }) {
			ids := make([]string, len(all))
			for i, sc := range all {
				ids[i] = sc.id
			}
			return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(ids, ", "))
		}
	}
	var out []scenario
	for _, sc := range all {
		if slices.Contains(names, sc.id) || slices.Contains(names, sc.fault) {
			out = append(out, sc)
		}
	}
	return out, nil
}
