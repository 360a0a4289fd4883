package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// incTunnel renders [tunnel.NAME] with an inline psk and subnets of its own (n picks them),
// in 6 lines.
func incTunnel(name string, n int) string {
	return fmt.Sprintf("[tunnel.%s]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk = \"0123456789abcdef\"\n"+
		"local_subnets = [\"10.%d.1.0/24\"]\nremote_subnets = [\"10.%d.2.0/24\"]\n", name, n, n)
}

// old is a modification time well before any test's load, so that files written by a test
// are not "racily clean" (see racyWindow); tests that rewrite a file step it on explicitly.
var old = time.Now().Add(-time.Hour).Truncate(time.Second)

// tree writes files (path relative to dir: content) of mode 0600 modified at old, creating
// directories as needed, and returns dir.
func writeTree(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		writeAt(t, filepath.Join(dir, name), content, 0o600, old)
	}
	return dir
}

// writeAt writes a file of the given mode and modification time.
func writeAt(t *testing.T, path, content string, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to the umask
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// names returns the names of c's tunnels in order.
func names(c *Config) []string {
	var out []string
	for i := range c.Tunnels {
		out = append(out, c.Tunnels[i].Name)
	}
	return out
}

// TestIncludeOrder: the main file's tunnels come first, then each pattern's matches sorted by
// name, in pattern order; a file matched twice (or the main file matched) is read once; a
// pattern that matches nothing is fine. Every tunnel knows its file and line, and is found
// by name.
func TestIncludeOrder(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"tunnels.d/*.toml\", \"extra/x.toml\", \"tunnels.d/a.toml\", \"none.d/*.toml\", \"*.toml\"]\n" +
			"[global]\nike_port = 500\n" + incTunnel("main", 1),
		"tunnels.d/b.toml": incTunnel("b1", 2) + incTunnel("b2", 3),
		"tunnels.d/a.toml": incTunnel("a1", 4),
		"tunnels.d/c.txt":  "not included",
		"extra/x.toml":     "# a comment first\n" + incTunnel("x1", 5),
	})
	main := filepath.Join(dir, "vigil.toml")
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(c), []string{"main", "a1", "b1", "b2", "x1"}; !slices.Equal(got, want) {
		t.Errorf("tunnels %v, want %v", got, want)
	}
	wantFiles := []string{filepath.Join(dir, "tunnels.d/a.toml"), filepath.Join(dir, "tunnels.d/b.toml"), filepath.Join(dir, "extra/x.toml")}
	if !slices.Equal(c.Includes, wantFiles) {
		t.Errorf("Includes = %v, want %v", c.Includes, wantFiles)
	}
	for name, want := range map[string]struct {
		file string
		line int
	}{"main": {main, 4}, "a1": {wantFiles[0], 1}, "b2": {wantFiles[1], 7}, "x1": {wantFiles[2], 2}} {
		tun := c.Tunnel(name)
		if tun == nil || tun.File != want.file || tun.Line != want.line {
			t.Errorf("tunnel %s at %+v, want %s:%d", name, tun, want.file, want.line)
		}
	}
	// Parse follows the includes too, relative to the file name it is given.
	data, _ := os.ReadFile(main)
	p, err := Parse(main, data)
	if err != nil || !slices.Equal(names(p), names(c)) || p.Loader() != nil {
		t.Errorf("Parse: %v, tunnels %v, loader %p", err, names(p), p.Loader())
	}
	if c.Loader() == nil {
		t.Error("a loaded Config does not know its Loader")
	}
}

// TestIncludeErrors: every problem in an included file is reported with that file and line,
// after the main file's, each file's in line order; problems across files name both places.
func TestIncludeErrors(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "vigil.toml")
	a, b := filepath.Join(dir, "t/a.toml"), filepath.Join(dir, "t/b.toml")
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // FILE:LINE: fragment, in order; FILE is main, a or b
	}{
		{"bad values", map[string]string{
			"vigil.toml": "include = [\"t/*.toml\"]\n[global]\nike_port = 0\n",
			"t/a.toml":   incTunnel("a1", 1) + strings.Replace(incTunnel("a2", 2), "192.0.2.1", "nonsense", 1),
			"t/b.toml":   "\n\n" + strings.Replace(incTunnel("b1", 3), "10.3.2.0/24", "10.3.2.1/24", 1),
		}, []string{"main:3: global.ike_port: 0 is out of range", `a:8: tunnel.a2.local_addr: "nonsense" is not an IP address`,
			`b:8: tunnel.b1.remote_subnets[0]: "10.3.2.1/24" has host bits set`}},
		{"syntax", map[string]string{
			"vigil.toml": "include = [\"t/*.toml\"]\n",
			"t/a.toml":   incTunnel("a1", 1) + "x = = 1\n",
		}, []string{"a:7: TOML syntax error"}},
		{"duplicate across files", map[string]string{
			"vigil.toml": "include = [\"t/*.toml\"]\n" + incTunnel("dup", 1),
			"t/a.toml":   incTunnel("a1", 2),
			"t/b.toml":   incTunnel("a1", 3) + incTunnel("dup", 4),
		}, []string{`b:1: duplicate tunnel "a1": already defined at ` + a + ":1", `b:7: duplicate tunnel "dup": already defined at ` + main + ":2"}},
		{"overlap across files", map[string]string{
			"vigil.toml": "include = [\"t/*.toml\"]\n",
			"t/a.toml":   incTunnel("a1", 1),
			"t/b.toml":   "\n" + strings.Replace(incTunnel("b1", 2), "10.2.2.0/24", "10.1.2.0/25", 1),
		}, []string{`b:2: tunnel "b1": remote_subnets 10.1.2.0/25 overlaps 10.1.2.0/24 of tunnel "a1" (` + a + ":1)"}},
		{"nested include", map[string]string{
			"vigil.toml": "include = [\"t/a.toml\"]\n",
			"t/a.toml":   "include = [\"b.toml\"]\n" + incTunnel("a1", 1),
			"t/b.toml":   incTunnel("b1", 2),
		}, []string{"a:1: include: an included file cannot include others; list every pattern in the main file " + main}},
		{"global in an included file", map[string]string{
			"vigil.toml": "include = [\"t/a.toml\"]\n",
			"t/a.toml":   incTunnel("a1", 1) + "[global]\nike_port = 600\n",
		}, []string{"a:7: [global] in an included file: it belongs in the main file " + main}},
		{"other keys in an included file", map[string]string{
			"vigil.toml": "include = [\"t/a.toml\"]\n",
			"t/a.toml":   "name = \"x\"\n[other]\n[[tunnel]]\n",
		}, []string{`a:1: unknown top-level key "name": an included file holds [tunnel.NAME] tables only`,
			`a:2: unknown top-level key "other"`, "a:3: tunnel: use [tunnel.NAME] tables, not [[tunnel]]"}},
		{"malformed pattern", map[string]string{
			"vigil.toml": "include = [\n  \"t/*.toml\",\n  \"t/[.toml\",\n  \"\",\n  3,\n]\n",
		}, []string{`main:3: include[1]: malformed pattern "t/[.toml": syntax error in pattern`,
			"main:4: include[2]: must not be empty", "main:5: include[3]: expected a string, got an integer"}},
		{"include not a list", map[string]string{"vigil.toml": "include = \"t/*.toml\"\n"},
			[]string{"main:1: include: expected an array of file patterns"}},
		{"include after a table", map[string]string{"vigil.toml": "[global]\ninclude = [\"t/*.toml\"]\n"},
			[]string{`main:2: global: unknown key "include" (include is a top-level key: put it before the first [table] header)`}},
		{"a directory matched", map[string]string{
			"vigil.toml":      "include = [\"t/*\"]\n",
			"t/d.toml/x.toml": incTunnel("x", 1),
		}, []string{filepath.Join(dir, "t/d.toml") + ": cannot read included file: not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "t")); err != nil {
				t.Fatal(err)
			}
			writeTree(t, dir, tc.files)
			_, err := Load(main)
			list := Errors(err)
			if len(list) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(list), len(tc.want), err)
			}
			files := map[string]string{"main": main, "a": a, "b": b}
			for i, w := range tc.want {
				if f, rest, ok := strings.Cut(w, ":"); ok && files[f] != "" {
					w = files[f] + ":" + rest
				}
				if got := list[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %d: %s\nwant: %s...", i, got, w)
				}
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("an error shows the key: %v", err)
			}
		})
	}
}

// TestIncludeKeyFileRules: the rule for inline keys holds per file (an included file with an
// inline psk must be 0600 or stricter, the main file need not be when it holds none), and a
// psk_file of an included file is found relative to that file.
func TestIncludeKeyFileRules(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "vigil.toml")
	inline, withFile := filepath.Join(dir, "t/inline.toml"), filepath.Join(dir, "t/file.toml")
	writeAt(t, main, "include = [\"t/*.toml\"]\n", 0o644, old)
	writeAt(t, inline, incTunnel("in", 1), 0o644, old)
	pskFile := strings.Replace(incTunnel("pf", 2), `psk = "0123456789abcdef"`, `psk_file = "keys/pf.psk"`, 1)
	writeAt(t, withFile, pskFile, 0o644, old)
	writeAt(t, filepath.Join(dir, "t/keys/pf.psk"), "included-file-secret-01\n", 0o600, old)

	_, err := Load(main)
	list := Errors(err)
	if len(list) != 1 || list[0].File != inline || list[0].Line != 4 ||
		!strings.Contains(list[0].Msg, "mode 0644") || !strings.Contains(list[0].Msg, "chmod 600 "+inline) {
		t.Fatalf("inline psk in an included file of mode 0644: %v", err)
	}
	if err := os.Chmod(inline, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(main)
	if err != nil {
		t.Fatalf("inline psk in a 0600 included file, psk_file in a 0644 one: %v", err)
	}
	if got := string(c.Tunnel("pf").PSK.Bytes()); got != "included-file-secret-01" {
		t.Errorf("psk_file relative to the included file: psk %q", got)
	}
	// Relative to the included file, not to the main file.
	writeAt(t, filepath.Join(dir, "keys/pf.psk"), "main-dir-secret-0123456\n", 0o600, old)
	if err := os.Remove(filepath.Join(dir, "t/keys/pf.psk")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(main)
	if list := Errors(err); len(list) != 1 || list[0].File != withFile || !strings.Contains(list[0].Msg, filepath.Join(dir, "t/keys/pf.psk")) {
		t.Errorf("psk_file resolved against the main file's directory? %v", err)
	}
}

// gens returns the generation of each of c's tunnels by name.
func gens(c *Config) map[string]uint64 {
	m := map[string]uint64{}
	for i := range c.Tunnels {
		m[c.Tunnels[i].Name] = c.Tunnels[i].Gen
	}
	return m
}

// TestLoaderReusesUnchangedFiles: a Loader reuses the tunnels of an included file that did
// not change (same generation); a rewrite of the file or of a psk_file it uses makes a new
// one; the main file's tunnels get a new generation on every load.
func TestLoaderReusesUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n" + incTunnel("m", 1),
		"t/a.toml":   incTunnel("a1", 2) + incTunnel("a2", 3),
		"t/b.toml":   strings.Replace(incTunnel("b1", 4), `psk = "0123456789abcdef"`, `psk_file = "b.psk"`, 1),
		"t/b.psk":    "first-secret-0123456\n",
	})
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	g1 := gens(c1)
	if g1["a1"] == 0 || g1["a1"] != g1["a2"] || g1["a1"] == g1["b1"] || g1["m"] == g1["a1"] {
		t.Fatalf("generations %v: want non-zero, one per file", g1)
	}
	if c1.Loader() != l {
		t.Error("Config.Loader is not the Loader that loaded it")
	}

	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	g2 := gens(c2)
	if g2["a1"] != g1["a1"] || g2["a2"] != g1["a2"] || g2["b1"] != g1["b1"] {
		t.Errorf("untouched files: generations %v, were %v", g2, g1)
	}
	if g2["m"] == g1["m"] || g2["m"] == 0 {
		t.Errorf("main file's tunnel kept generation %d", g2["m"])
	}
	if !c2.Tunnel("a1").Equal(c1.Tunnel("a1")) {
		t.Error("reused tunnel differs")
	}

	// A rewrite of the same size: only the times tell (set explicitly, no waiting).
	writeAt(t, filepath.Join(dir, "t/a.toml"), incTunnel("a1", 2)+incTunnel("a3", 3), 0o600, old.Add(time.Minute))
	c3, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	g3 := gens(c3)
	if g3["a1"] == g2["a1"] || g3["a3"] != g3["a1"] || c3.Tunnel("a2") != nil || g3["b1"] != g1["b1"] {
		t.Errorf("after rewriting a.toml: generations %v (were %v), tunnels %v", g3, g2, names(c3))
	}

	// A new key in b's psk_file: b is read again, and its tunnel has the new key.
	writeAt(t, filepath.Join(dir, "t/b.psk"), "second-secret-012345\n", 0o600, old.Add(time.Minute))
	c4, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	g4 := gens(c4)
	if g4["b1"] == g3["b1"] || g4["a1"] != g3["a1"] {
		t.Errorf("after changing b.psk: generations %v, were %v", g4, g3)
	}
	if got := string(c4.Tunnel("b1").PSK.Bytes()); got != "second-secret-012345" {
		t.Errorf("b1 has psk %q", got)
	}
	// The earlier Configs are untouched by later loads.
	if c1.Tunnel("a2") == nil || string(c3.Tunnel("b1").PSK.Bytes()) != "first-secret-0123456" {
		t.Error("a later load changed an earlier Config")
	}
}

// TestLoaderFailureKeepsCache: a load that fails keeps nothing of its own: after the fix,
// the files that did not change are still reused.
func TestLoaderFailureKeepsCache(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n",
		"t/a.toml":   incTunnel("a1", 1),
		"t/b.toml":   incTunnel("b1", 2),
	})
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, filepath.Join(dir, "t/b.toml"), incTunnel("a1", 3), 0o600, old.Add(time.Minute)) // a duplicate name
	if _, err := l.Load(); err == nil || !strings.Contains(err.Error(), `duplicate tunnel "a1"`) {
		t.Fatalf("duplicate accepted: %v", err)
	}
	writeAt(t, filepath.Join(dir, "t/b.toml"), incTunnel("b2", 3), 0o600, old.Add(2*time.Minute))
	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if g1, g2 := gens(c1), gens(c2); g2["a1"] != g1["a1"] || g2["b2"] == 0 {
		t.Errorf("generations %v after a failed load, were %v", g2, g1)
	}
	// A broken main file: the load fails, the cache stays.
	writeAt(t, filepath.Join(dir, "vigil.toml"), "include = [\"t/*.toml\"\n", 0o600, old)
	if _, err := l.Load(); err == nil {
		t.Fatal("syntax error accepted")
	}
	writeAt(t, filepath.Join(dir, "vigil.toml"), "include = [\"t/*.toml\"]\n", 0o600, old)
	c3, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if gens(c3)["a1"] != gens(c1)["a1"] {
		t.Error("a failed load of the main file emptied the cache")
	}
}

// TestLoaderGlobalChange: included tunnels take defaults from [global] (local_port follows
// ike_port), so a change there decodes them again.
func TestLoaderGlobalChange(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n[global]\nike_port = 500\n",
		"t/a.toml":   incTunnel("a1", 1),
	})
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, filepath.Join(dir, "vigil.toml"), "include = [\"t/*.toml\"]\n[global]\nike_port = 600\n", 0o600, old)
	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tun := c2.Tunnel("a1"); tun.LocalPort != 600 || tun.Gen == c1.Tunnel("a1").Gen {
		t.Errorf("after ike_port = 600: local_port %d, generation %d (was %d)", tun.LocalPort, tun.Gen, c1.Tunnel("a1").Gen)
	}
}

// TestLoaderRacyFile: a file modified just before it was read is read again by the next load
// even though its status is the same (a second write in the same tick of the file system's
// clock could leave every field as it was: a test cannot make one, so it checks that the
// file is read again); once read well after its modification it is reused.
func TestLoaderRacyFile(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{"vigil.toml": "include = [\"t/*.toml\"]\n"})
	a := filepath.Join(dir, "t/a.toml")
	writeAt(t, a, incTunnel("a1", 1), 0o600, time.Now())
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c2.Tunnel("a1").Gen == c1.Tunnel("a1").Gen {
		t.Error("a file modified just before it was read was reused")
	}
	if err := os.Chtimes(a, old, old); err != nil {
		t.Fatal(err)
	}
	c3, _ := l.Load()
	c4, err := l.Load()
	if err != nil || c4.Tunnel("a1").Gen != c3.Tunnel("a1").Gen {
		t.Errorf("a file modified an hour ago is not reused: %v", err)
	}
	// A psk_file modified just before it was read makes its file racy too.
	writeAt(t, a, strings.Replace(incTunnel("a1", 1), `psk = "0123456789abcdef"`, `psk_file = "a.psk"`, 1), 0o600, old.Add(time.Minute))
	writeAt(t, filepath.Join(dir, "t/a.psk"), "racy-secret-0123456789", 0o600, time.Now())
	c5, _ := l.Load()
	c6, err := l.Load()
	if err != nil || c6.Tunnel("a1").Gen == c5.Tunnel("a1").Gen {
		t.Errorf("a file whose psk_file was modified just before it was read was reused: %v", err)
	}
}

// TestLoaderRelease: a Config released to its Loader is emptied; every load's Config has
// tunnels of its own, so an earlier Config, released or not, is not changed by later loads.
// A failed load changes nothing; a tunnel added (another shape) runs the checks across files.
func TestLoaderRelease(t *testing.T) {
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n" + incTunnel("m", 1),
		"t/a.toml":   incTunnel("a1", 2) + incTunnel("a2", 3),
		"t/b.toml":   incTunnel("b1", 4),
	})
	a := filepath.Join(dir, "t/a.toml")
	mtime := old
	rewrite := func(content string) {
		mtime = mtime.Add(time.Minute)
		writeAt(t, a, content, 0o600, mtime)
	}
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	gen1 := gens(c1)
	l.Release(c1)
	if len(c1.Tunnels) != 0 || c1.Tunnel("a1") != nil || c1.Loader() != nil {
		t.Fatalf("released Config still has %d tunnels", len(c1.Tunnels))
	}

	// An edit of a setting: the edited file's tunnels are new, the other file's reused.
	rewrite(incTunnel("a1", 2) + strings.Replace(incTunnel("a2", 3), "local_addr", "dpd_delay = \"20s\"\nlocal_addr", 1))
	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(c2); !slices.Equal(got, []string{"m", "a1", "a2", "b1"}) {
		t.Fatalf("tunnels %v", got)
	}
	if g := gens(c2); g["b1"] != gen1["b1"] || g["a1"] == gen1["a1"] || c2.Tunnel("a2").DPDDelay != 20*time.Second || c2.Tunnel("a2").File != a {
		t.Errorf("after the edit: generations %v (were %v), a2 %+v", g, gen1, c2.Tunnel("a2"))
	}

	// Not released: c2 keeps its tunnels.
	rewrite(incTunnel("a1", 2) + incTunnel("a2", 3))
	c3, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if &c3.Tunnels[0] == &c2.Tunnels[0] || c2.Tunnel("a2").DPDDelay != 20*time.Second || c3.Tunnel("a2").DPDDelay == 20*time.Second {
		t.Error("a load wrote into an earlier Config")
	}

	// Released, then a failed load: nothing changes.
	l.Release(c3)
	rewrite(incTunnel("a1", 2) + incTunnel("a2", 3) + "[global]\n")
	if _, err := l.Load(); err == nil {
		t.Fatal("[global] in an included file accepted")
	}
	rewrite(incTunnel("a1", 2) + strings.Replace(incTunnel("a2", 3), "local_addr", "heal = false\nlocal_addr", 1))
	c4, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c4.Tunnel("a2").Heal || !c4.Tunnel("b1").Equal(c2.Tunnel("b1")) || c4.Tunnel("b1").Gen != gen1["b1"] {
		t.Errorf("after a failed load: a2 %+v, b1 %+v", c4.Tunnel("a2"), c4.Tunnel("b1"))
	}

	// Released, then a tunnel added: another shape; the checks across files run.
	l.Release(c4)
	rewrite(incTunnel("a1", 2) + incTunnel("a2", 3) + strings.Replace(incTunnel("a3", 5), "10.5.2.0/24", "10.4.2.0/25", 1))
	if _, err := l.Load(); err == nil || !strings.Contains(err.Error(), `tunnel "b1": remote_subnets 10.4.2.0/24 overlaps 10.4.2.0/25 of tunnel "a3" (`+a+":13)") {
		t.Errorf("overlap across files after a release: %v", err)
	}
	rewrite(incTunnel("a1", 2) + incTunnel("a2", 3) + incTunnel("a3", 5))
	c5, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(c5); !slices.Equal(got, []string{"m", "a1", "a2", "a3", "b1"}) || c5.Tunnel("b1") == nil {
		t.Errorf("tunnels %v", got)
	}
}

// TestIncludeUnreadableDirectory: a directory of included files that cannot be read is an
// error, not a directory without tunnels (a reload would remove them all).
func TestIncludeUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n",
		"t/a.toml":   incTunnel("a1", 1),
	})
	if err := os.Chmod(filepath.Join(dir, "t"), 0o300); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dir, "t"), 0o700)
	_, err := Load(filepath.Join(dir, "vigil.toml"))
	if list := Errors(err); len(list) != 1 || list[0].Line != 1 || !strings.Contains(list[0].Msg, "cannot read directory "+filepath.Join(dir, "t")+": permission denied") {
		t.Errorf("unreadable directory: %v", err)
	}
}

// TestIsRacy: a modification time with a fraction of a second (a fine file system clock) is
// trusted from fineRacyWindow before the read on; a whole second (maybe a coarse clock: ext3,
// FAT) only from racyWindow before it.
func TestIsRacy(t *testing.T) {
	readAt := time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)
	for _, tc := range []struct {
		mtime time.Time
		racy  bool
	}{
		{readAt.Add(-500 * time.Millisecond).Add(123), false},
		{readAt.Add(-50 * time.Millisecond).Add(123), true},
		{readAt.Add(time.Millisecond), true}, // modified after the read began
		{readAt.Add(-time.Second), true},     // whole second: coarse clock possible
		{readAt.Add(-3 * time.Second), false},
	} {
		if got := isRacy(tc.mtime.UnixNano(), readAt); got != tc.racy {
			t.Errorf("isRacy(%v before the read) = %v, want %v", readAt.Sub(tc.mtime), got, tc.racy)
		}
	}
}
