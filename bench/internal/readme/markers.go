package readme

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Errors from Replace (and so from Update and Target.Check) wrap one of these.
var (
	// ErrMissingMarker: the file lacks the begin or the end marker of the section.
	ErrMissingMarker = errors.New("bench marker missing")
	// ErrDuplicateMarker: a marker occurs more than once, so the section is ambiguous.
	ErrDuplicateMarker = errors.New("bench marker duplicated")
	// ErrMisplacedMarker: a marker shares its line with other text, or the end marker comes
	// before the begin marker.
	ErrMisplacedMarker = errors.New("bench marker misplaced")
)

// sectionName is what a section may be called: it ends up inside an HTML comment and in
// make recipes, so plain lower-case words and dashes only.
var sectionName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// markerPrefix starts every marker; a block must not contain it, or the next run would find
// the section's markers twice.
const markerPrefix = "<!-- bench:"

// Markers returns the begin and end marker lines of section, without line breaks.
func Markers(section string) (begin, end string) {
	return markerPrefix + section + ":begin -->", markerPrefix + section + ":end -->"
}

// CheckSection reports whether section is a usable section name.
func CheckSection(section string) error {
	if !sectionName.MatchString(section) {
		return fmt.Errorf("section name %q: want lower-case letters, digits and single dashes", section)
	}
	return nil
}

// Replace returns a copy of doc in which the lines between the begin and end marker lines of
// section are replaced by block (a final line break is added if block lacks one). The marker
// lines themselves and everything outside them are kept as they are. Each marker must occur
// exactly once, alone on its line, begin before end.
func Replace(doc []byte, section, block string) ([]byte, error) {
	if err := CheckSection(section); err != nil {
		return nil, err
	}
	if strings.Contains(block, markerPrefix) {
		return nil, fmt.Errorf("section %s: the block contains %q", section, markerPrefix)
	}
	begin, end := Markers(section)
	_, bodyStart, err := markerLine(doc, begin)
	if err != nil {
		return nil, err
	}
	bodyEnd, _, err := markerLine(doc, end)
	if err != nil {
		return nil, err
	}
	if bodyEnd < bodyStart {
		return nil, fmt.Errorf("%s comes before %s: %w", end, begin, ErrMisplacedMarker)
	}
	if block != "" && !strings.HasSuffix(block, "\n") {
		block += "\n"
	}
	out := make([]byte, 0, len(doc)-(bodyEnd-bodyStart)+len(block))
	out = append(out, doc[:bodyStart]...)
	out = append(out, block...)
	return append(out, doc[bodyEnd:]...), nil
}

// markerLine finds the one line of doc that holds marker and returns where that line starts
// and where the next one starts (len(doc) for a last line without a line break).
func markerLine(doc []byte, marker string) (start, next int, err error) {
	switch n := bytes.Count(doc, []byte(marker)); {
	case n == 0:
		return 0, 0, fmt.Errorf("%s: %w", marker, ErrMissingMarker)
	case n > 1:
		return 0, 0, fmt.Errorf("%s occurs %d times: %w", marker, n, ErrDuplicateMarker)
	}
	at := bytes.Index(doc, []byte(marker))
	start = bytes.LastIndexByte(doc[:at], '\n') + 1
	next = len(doc)
	if i := bytes.IndexByte(doc[at:], '\n'); i >= 0 {
		next = at + i + 1
	}
	if line := bytes.TrimSpace(doc[start:next]); string(line) != marker {
		return 0, 0, fmt.Errorf("%s shares its line with other text (%q): %w", marker, line, ErrMisplacedMarker)
	}
	return start, next, nil
}
