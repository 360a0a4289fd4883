package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Small formatting helpers shared by the table writers.

// table aligns tab-separated cells into columns two spaces apart (text/tabwriter) and writes the
// result to out on Flush, without trailing blanks.
type table struct {
	out io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

// newTable returns an empty table writing to w.
func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

// Write adds tab-separated text.
func (t *table) Write(p []byte) (int, error) { return t.tw.Write(p) }

// Flush aligns everything written so far and writes it out.
func (t *table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out []byte
	for line := range strings.Lines(t.buf.String()) {
		out = append(out, strings.TrimRight(line, " \n")...)
		out = append(out, '\n')
	}
	t.buf.Reset()
	_, err := t.out.Write(out)
	return err
}

// row writes cells as one tab-separated table line.
func row(tw io.Writer, cells ...string) {
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// humanDuration renders d with its two most significant units: "1h2m", "45s", "2d3h", "350ms".
// Zero is "0s"; negative durations get a leading "-".
func humanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + humanDuration(-d)
	}
	if d < time.Second {
		if d%time.Millisecond == 0 || d >= time.Millisecond {
			return fmt.Sprintf("%dms", d/time.Millisecond)
		}
		return d.String()
	}
	type unit struct {
		d    time.Duration
		name string
	}
	units := []unit{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		if d < u.d {
			continue
		}
		s := fmt.Sprintf("%d%s", d/u.d, u.name)
		if i+1 < len(units) {
			next := units[i+1]
			if r := (d % u.d) / next.d; r > 0 {
				s += fmt.Sprintf("%d%s", r, next.name)
			}
		}
		return s
	}
	return d.String()
}

// humanBytes renders n with binary prefixes: "0 B", "512 B", "1.5 KiB", "3.2 GiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// clock is an event's time of day with milliseconds, in loc.
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("15:04:05.000")
}

// stamp is a date and time to the second, in loc.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// since renders how long ago t was, or "-" for the zero time.
func since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return humanDuration(now.Sub(t))
}

// rekeyIn renders a rekey countdown; 0 means no rekey is scheduled.
func rekeyIn(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	if d < 0 {
		return "overdue"
	}
	return humanDuration(d)
}

// dash returns s, or "-" if it is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// list joins ss with ", ", or "-" if empty.
func list(ss []string) string {
	return dash(strings.Join(ss, ", "))
}

// yesNo renders an optional boolean.
func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

// plural renders "1 tunnel", "2 tunnels".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
