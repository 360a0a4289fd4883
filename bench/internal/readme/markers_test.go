package readme

import (
	"errors"
	"strings"
	"testing"
)

const doc = `# Title

Intro text.

<!-- bench:setup:begin -->
    setup vigil median 1.53ms (n=20)
<!-- bench:setup:end -->

Between the sections.

<!-- bench:recovery:begin -->
old recovery lines
<!-- bench:recovery:end -->
Trailing text without a final line break`

func TestReplace(t *testing.T) {
	got, err := Replace([]byte(doc), "setup", "new line 1\nnew line 2")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(doc, "    setup vigil median 1.53ms (n=20)\n", "new line 1\nnew line 2\n", 1)
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestReplaceLeavesOtherTextUntouched(t *testing.T) {
	got, err := Replace([]byte(doc), "recovery", "X\n")
	if err != nil {
		t.Fatal(err)
	}
	begin, end := Markers("recovery")
	before, _, _ := strings.Cut(doc, begin)
	_, after, _ := strings.Cut(doc, end)
	if want := before + begin + "\nX\n" + end + after; string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	// The other section, with its indentation, is byte for byte as it was.
	if !strings.Contains(string(got), "<!-- bench:setup:begin -->\n    setup vigil median 1.53ms (n=20)\n<!-- bench:setup:end -->\n") {
		t.Fatal("setup section changed")
	}
}

func TestReplaceEmptiesAndRefills(t *testing.T) {
	empty, err := Replace([]byte(doc), "setup", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(empty), "<!-- bench:setup:begin -->\n<!-- bench:setup:end -->\n") {
		t.Fatalf("empty block:\n%s", empty)
	}
	back, err := Replace(empty, "setup", "    setup vigil median 1.53ms (n=20)\n")
	if err != nil || string(back) != doc {
		t.Fatalf("refilled:\n%s\n%v", back, err)
	}
}

func TestReplaceIsIdempotent(t *testing.T) {
	block := Block("setup vigil median 1.53ms\nratio strongswan/vigil 2.5\n", "bench/setup.sh", when, "0123456789ab")
	once, err := Replace([]byte(doc), "setup", block)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Replace(once, "setup", block)
	if err != nil || string(twice) != string(once) {
		t.Fatalf("second Replace changed the document (%v):\n%s\nthen\n%s", err, once, twice)
	}
}

func TestReplaceKeepsCRLFOutsideTheBlock(t *testing.T) {
	crlf := "a\r\n<!-- bench:x:begin -->\r\nold\r\n<!-- bench:x:end -->\r\nb\r\n"
	got, err := Replace([]byte(crlf), "x", "new\n")
	if want := "a\r\n<!-- bench:x:begin -->\r\nnew\n<!-- bench:x:end -->\r\nb\r\n"; err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func TestReplaceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, section, block string
		want                      error // nil: any error will do
	}{
		{"no markers", "# Title\n", "setup", "x", ErrMissingMarker},
		{"no begin", "<!-- bench:setup:end -->\n", "setup", "x", ErrMissingMarker},
		{"no end", "<!-- bench:setup:begin -->\n", "setup", "x", ErrMissingMarker},
		{"other section only", doc, "throughput", "x", ErrMissingMarker},
		{"begin twice", "<!-- bench:s:begin -->\n<!-- bench:s:begin -->\n<!-- bench:s:end -->\n", "s", "x", ErrDuplicateMarker},
		{"end twice", "<!-- bench:s:begin -->\n<!-- bench:s:end -->\n<!-- bench:s:end -->\n", "s", "x", ErrDuplicateMarker},
		{"whole section twice", doc + "\n" + "<!-- bench:setup:begin -->\n<!-- bench:setup:end -->\n", "setup", "x", ErrDuplicateMarker},
		{"end before begin", "<!-- bench:s:end -->\n<!-- bench:s:begin -->\n", "s", "x", ErrMisplacedMarker},
		{"marker inside a line", "See <!-- bench:s:begin --> here\n<!-- bench:s:end -->\n", "s", "x", ErrMisplacedMarker},
		{"both markers on one line", "<!-- bench:s:begin --><!-- bench:s:end -->\n", "s", "x", ErrMisplacedMarker},
		{"bad section name", doc, "Setup", "x", nil},
		{"empty section name", doc, "", "x", nil},
		{"block holding a marker", doc, "setup", "<!-- bench:setup:end -->", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Replace([]byte(tc.doc), tc.section, tc.block)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Replace = %q, %v; want an error wrapping %v", got, err, tc.want)
			}
		})
	}
}

// FuzzReplace: whatever the document, Replace either fails or keeps everything outside the
// section's marker lines, puts the block between them, and changes nothing the second time.
func FuzzReplace(f *testing.F) {
	f.Add(doc, "setup", "new\n")
	f.Add("<!-- bench:s:begin -->\r\nx\r\n<!-- bench:s:end -->", "s", "")
	f.Add("<!-- bench:s:end -->\n<!-- bench:s:begin -->\n", "s", "y")
	f.Fuzz(func(t *testing.T, d, section, block string) {
		got, err := Replace([]byte(d), section, block)
		if err != nil {
			return
		}
		begin, end := Markers(section)
		before, rest, ok1 := strings.Cut(d, begin)
		_, after, ok2 := strings.Cut(rest, end)
		if !ok1 || !ok2 {
			t.Fatalf("Replace accepted %q without both markers", d)
		}
		if block != "" && !strings.HasSuffix(block, "\n") {
			block += "\n"
		}
		// The rest of the begin marker's line (blanks, line break) is kept as it was.
		nl := rest[:strings.IndexByte(rest, '\n')+1]
		if !strings.HasPrefix(string(got), before+begin) || !strings.HasSuffix(string(got), end+after) ||
			!strings.Contains(string(got), begin+nl+block) {
			t.Fatalf("Replace(%q, %q, %q) = %q", d, section, block, got)
		}
		again, err := Replace(got, section, block)
		if err != nil || string(again) != string(got) {
			t.Fatalf("second Replace: %q, %v", again, err)
		}
	})
}
