package crypto

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeafPackage keeps crypto a leaf: its non-test files import only the
// standard library, golang.org/x/crypto and filippo.io/edwards25519 (x25519DH's
// field arithmetic and base-point tables).
func TestLeafPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case !strings.Contains(first, "."): // standard library
			case path == "golang.org/x/crypto" || strings.HasPrefix(path, "golang.org/x/crypto/"):
			case path == "filippo.io/edwards25519" || strings.HasPrefix(path, "filippo.io/edwards25519/"):
			default:
				t.Errorf("%s imports %s: crypto must depend only on the standard library, golang.org/x/crypto and filippo.io/edwards25519", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
