package main

import (
	"fmt"
	"strings"
	"time"
)

// result is one system's measurement for one tunnel count.
type result struct {
	sys      string
	n, peers int
	// up is how many tunnels side A reported up at the end; took is the time from starting
	// A (Vigil: launching vigild; strongSwan: the first initiate request) until all were up,
	// or until the timeout.
	up   int
	took time.Duration
	// load is how long side B took to load its n tunnels before it answered (Vigil: from
	// launch until the control API answers; strongSwan: `swanctl --load-all`).
	load time.Duration
	// idleB is B's RSS with all tunnels configured and none up; baseA is A's before it
	// initiated anything (for Vigil, which initiates as soon as it runs, B's idle figure:
	// the same configuration size); rssA and rssB are their RSS when all were up.
	idleB, baseA, rssA, rssB int64
	// cpu is the CPU time A and B used during the setup (A's from its start).
	cpu time.Duration
	// idleCPU: Vigil only, the CPU each daemon (A, B) used in idleWindow with all tunnels up
	// and no traffic, right after the last came up ([0]: each tunnel's first liveness and
	// probe checks fall in it) and idleLater after that ([1]: the steady state).
	idleCPU [2][2]time.Duration
	// reload: Vigil only, B's reload changing one tunnel once all were up.
	reload reloadResult
	// note says why a run that ended without error is incomplete; "" means the timeout of
	// bringing the tunnels up.
	note string
	// err is set when the run failed (not for a timeout).
	err error
}

// complete reports whether all tunnels came up.
func (r result) complete() bool { return r.err == nil && r.up == r.n && r.n > 0 }

// perTunnel is x divided over the tunnels that came up (0 if none did).
func (r result) perTunnel(x float64) float64 {
	if r.up == 0 {
		return 0
	}
	return x / float64(r.up)
}

// rate is tunnels per second.
func (r result) rate() float64 {
	if r.took <= 0 {
		return 0
	}
	return float64(r.up) / r.took.Seconds()
}

// rssPerTunnel is the RSS growth per established tunnel of A and B.
func (r result) rssPerTunnel() (a, b float64) {
	return r.perTunnel(float64(r.rssA - r.baseA)), r.perTunnel(float64(r.rssB - r.idleB))
}

// cpuPerTunnel is the CPU time per established tunnel, of A and B together.
func (r result) cpuPerTunnel() time.Duration { return time.Duration(r.perTunnel(float64(r.cpu))) }

// prefix is the start of every line about sys and n, with the system name padded so that
// the figures of both systems line up.
func prefix(sys string, n, peers int) string {
	return fmt.Sprintf("scale n=%d peers=%d %-*s", n, peers, len(sysSwan)+1, sys+":")
}

// line is the result line, e.g.
//
//	scale n=10000 peers=1 vigil:      10000/10000 up in 3.21 s = 3115 tunnels/s  RSS/tunnel A 7.9 KiB B 7.6 KiB  idle B 21.3 MiB (2.2 KiB/tunnel)  CPU 0.61 ms/tunnel  load B 0.45 s
func (r result) line() string {
	var b strings.Builder
	b.WriteString(prefix(r.sys, r.n, r.peers))
	if r.err != nil && r.up == 0 {
		fmt.Fprintf(&b, " error: %s", oneLine(r.err))
		return b.String()
	}
	if r.complete() {
		fmt.Fprintf(&b, " %d/%d up in %s = %.0f tunnels/s", r.up, r.n, secs(r.took), r.rate())
	} else {
		fmt.Fprintf(&b, " %d/%d up after %s", r.up, r.n, secs(r.took))
		switch {
		case r.err != nil:
		case r.note != "":
			fmt.Fprintf(&b, " (%s)", r.note)
		default:
			b.WriteString(" (timeout)")
		}
	}
	// Per-tunnel figures only for complete runs: a few tunnels up would carry the cost of
	// all the attempts. An incomplete run shows the totals.
	switch {
	case r.complete():
		a, bb := r.rssPerTunnel()
		fmt.Fprintf(&b, "  RSS/tunnel A %s B %s (all up: A %s B %s)", size(a), size(bb), size(float64(r.rssA)), size(float64(r.rssB)))
	case r.rssA != 0 || r.rssB != 0:
		fmt.Fprintf(&b, "  RSS growth A %s B %s", size(float64(r.rssA-r.baseA)), size(float64(r.rssB-r.idleB)))
	}
	fmt.Fprintf(&b, "  idle B %s (%s/tunnel)", size(float64(r.idleB)), size(float64(r.idleB)/float64(r.n)))
	switch {
	case r.complete():
		fmt.Fprintf(&b, "  CPU %.2f ms/tunnel", float64(r.cpuPerTunnel())/float64(time.Millisecond))
	case r.cpu > 0:
		fmt.Fprintf(&b, "  CPU %s", secs(r.cpu))
	}
	fmt.Fprintf(&b, "  load B %s", secs(r.load))
	if r.idleCPU != [2][2]time.Duration{} {
		pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(idleWindow) }
		c := r.idleCPU
		fmt.Fprintf(&b, "  idle CPU (all up, no traffic; %% of a core over %s) first A %.1f%% B %.1f%%, after %s A %.1f%% B %.1f%%",
			secs(idleWindow), pct(c[0][0]), pct(c[0][1]), secs(idleLater), pct(c[1][0]), pct(c[1][1]))
	}
	if rr := r.reload; rr.sample > 0 {
		fmt.Fprintf(&b, "  reload B (1 tunnel changed) %s", ms(rr.took))
		if rr.daemon > 0 {
			fmt.Fprintf(&b, " (vigild: %s)", ms(rr.daemon))
		}
		fmt.Fprintf(&b, ", %d/%d others kept their SAs, changed one up again in %s", rr.kept, rr.sample, secs(rr.back))
	}
	if r.err != nil {
		fmt.Fprintf(&b, "  error: %s", oneLine(r.err))
	}
	return b.String()
}

// skippedLine says that sys was not run for n because it did not bring up a smaller count.
func skippedLine(sys string, n, peers, failedAt int) string {
	return fmt.Sprintf("%s skipped (did not bring n=%d up)", prefix(sys, n, peers), failedAt)
}

// ratioLine compares Vigil with strongSwan for one count; each figure is "above 1: Vigil
// better" (tunnels/s of Vigil over strongSwan's, costs of strongSwan over Vigil's). It returns
// false when either system was not measured.
func ratioLine(v, s result) (string, bool) {
	if v.sys == "" || s.sys == "" {
		return "", false
	}
	head := fmt.Sprintf("ratio n=%d peers=%d strongswan/vigil", v.n, v.peers)
	switch {
	case !v.complete() && !s.complete():
		return head + ": none (neither brought all tunnels up)", true
	case !s.complete():
		return fmt.Sprintf("%s: none (strongswan: %d of %d up)", head, s.up, s.n), true
	case !v.complete():
		return fmt.Sprintf("%s: none (vigil: %d of %d up)", head, v.up, v.n), true
	}
	va, vb := v.rssPerTunnel()
	sa, sb := s.rssPerTunnel()
	return fmt.Sprintf("%s time %s  RSS/tunnel A %s B %s  idle B %s  CPU/tunnel %s",
		head, ratio(s.took.Seconds(), v.took.Seconds()), ratio(sa, va), ratio(sb, vb),
		ratio(float64(s.idleB), float64(v.idleB)), ratio(float64(s.cpu), float64(v.cpu))), true
}

// ratio formats x/y, or "-" when either is not positive (a memory figure within noise).
func ratio(x, y float64) string {
	if x <= 0 || y <= 0 {
		return "-"
	}
	switch r := x / y; {
	case r < 10:
		return fmt.Sprintf("%.2f", r)
	case r < 100:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// secs formats d in seconds with three significant digits, e.g. "3.21 s", "42.1 s", "300 s".
func secs(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	case s < 100:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.0f s", s)
	}
}

// ms formats d in milliseconds, e.g. "85 ms", "1240 ms".
func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// size formats a byte count in binary units with one decimal, e.g. "7.9 KiB", "21.3 MiB";
// negative counts (memory returned to the system) keep their sign.
func size(b float64) string {
	sign := ""
	if b < 0 {
		sign, b = "-", -b
	}
	for _, u := range []string{"B", "KiB", "MiB"} {
		if b < 1024 {
			if u == "B" {
				return fmt.Sprintf("%s%.0f %s", sign, b, u)
			}
			return fmt.Sprintf("%s%.1f %s", sign, b, u)
		}
		b /= 1024
	}
	return fmt.Sprintf("%s%.2f GiB", sign, b)
}

// oneLine flattens a multi-line error for the result line (details go to stderr).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
