package readme

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDoc puts doc into a fresh directory as README.md with mode 0640.
func writeDoc(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(doc), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

// onlyFile fails unless path is the only entry of its directory (no temporary file left).
func onlyFile(t *testing.T, path string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %q, want only %s", names, filepath.Base(path))
	}
}

func TestUpdateReplacesTheFileAtomically(t *testing.T) {
	path := writeDoc(t)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Update(path, "setup", "new\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := Replace([]byte(doc), "setup", "new\n"); string(got) != string(want) {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// A new inode means the content was renamed into place, not rewritten in the old file.
	if os.SameFile(before, after) {
		t.Error("file was rewritten in place, not replaced")
	}
	if after.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", after.Mode().Perm())
	}
	onlyFile(t, path)
}

func TestUpdateTwiceChangesNothing(t *testing.T) {
	path := writeDoc(t)
	block := Block("setup vigil median 1.53ms\n", "bench/setup.sh", when, "0123456789ab")
	if err := Update(path, "setup", block); err != nil {
		t.Fatal(err)
	}
	first, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Update(path, "setup", block); err != nil {
		t.Fatal(err)
	}
	second, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || !os.SameFile(first, second) {
		t.Fatal("second Update with the same block rewrote the file")
	}
	onlyFile(t, path)
}

func TestUpdateErrorLeavesFileAlone(t *testing.T) {
	path := writeDoc(t)
	err := Update(path, "throughput", "new\n")
	if !errors.Is(err, ErrMissingMarker) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrMissingMarker naming the file", err)
	}
	if got, _ := os.ReadFile(path); string(got) != doc {
		t.Fatal("file changed")
	}
	onlyFile(t, path)
	if err := Update(filepath.Join(filepath.Dir(path), "missing.md"), "setup", "x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestUpdateThroughSymlink(t *testing.T) {
	path := writeDoc(t)
	link := filepath.Join(t.TempDir(), "link.md")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := Update(link, "setup", "new\n"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced by a file: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), "begin -->\nnew\n<!--") {
		t.Fatalf("target not updated:\n%s", got)
	}
}
