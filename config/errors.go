package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a configuration file.
type Error struct {
	File string // name of the configuration file
	Line int    // 1-based line number; 0 when the problem concerns the whole file
	Msg  string // description of the problem
}

// Error formats the problem as "file:line: msg" (or "file: msg" without a line).
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Errors returns the individual problems contained in err, as returned by
// [Load] or [Parse]: err itself if it is an *Error, the *Error values it
// joins otherwise. It returns nil when err holds no *Error.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := (*Error)(nil); errors.As(err, &e) {
			out = append(out, e)
		}
	}
	walk(err)
	return out
}

// errList collects the problems found while loading one file.
type errList struct {
	file    string
	errs    []*Error
	secrets [][]byte // values scrubbed from every message, defence in depth
}

// add records a problem at line.
func (l *errList) add(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// empty reports whether no problem has been recorded.
func (l *errList) empty() bool { return len(l.errs) == 0 }

// err returns nil, the only problem, or all problems joined, in line order.
func (l *errList) err() error { return joinErrors(l) }

// sorted returns the problems in line order, scrubbed.
func (l *errList) sorted() []*Error {
	sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
	for _, e := range l.errs {
		l.scrub(e)
	}
	return l.errs
}

// joinErrors returns nil, the only problem, or all problems joined: each list's in line
// order, one list after the other (the main file's, then each included file's).
func joinErrors(lists ...*errList) error {
	var all []error
	for _, l := range lists {
		for _, e := range l.sorted() {
			all = append(all, e)
		}
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	return errors.Join(all...)
}

// minScrubLen is the shortest secret scrubbed from messages: shorter values
// would garble unrelated text and are not valid keys anyway.
const minScrubLen = 4

// scrub replaces any known secret appearing in e.Msg.
func (l *errList) scrub(e *Error) {
	for _, s := range l.secrets {
		if len(s) >= minScrubLen && strings.Contains(e.Msg, string(s)) {
			e.Msg = strings.ReplaceAll(e.Msg, string(s), redacted)
		}
	}
}

// suggest returns ` (did you mean "x"?)` when a candidate is within edit
// distance 2 of got, or "" otherwise.
func suggest(got string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(got, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, or limit when it
// is at least limit (long inputs are not compared in full).
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	if prev[len(rb)] > limit {
		return limit
	}
	return prev[len(rb)]
}
