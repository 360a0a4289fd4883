package rig

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Summary is the distribution of a sample of durations.
type Summary struct {
	N                     int
	Min, Median, P90, Max time.Duration
}

// Summarize returns the summary of xs; the zero Summary if xs is empty. Median averages
// the two middle values of an even-sized sample; P90 is the nearest-rank 90th percentile.
func Summarize(xs []time.Duration) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9 n), 1-based
	return Summary{N: n, Min: s[0], Median: med, P90: s[rank-1], Max: s[n-1]}
}

// Ms formats d in milliseconds with adaptive precision, e.g. "1.93ms", "12.4ms".
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.0fms", ms)
	}
}

// Tail returns the last n lines of s, for error messages carrying a daemon's log.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if n <= 0 || len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return "...\n" + strings.Join(lines[len(lines)-n:], "\n")
}
