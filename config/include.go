package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A site with 100,000 tunnels has them written by configuration management, which writes
// many files: the main file names them with include patterns,
//
//	include = ["tunnels.d/*.toml"]
//
// and each included file holds [tunnel.NAME] tables only. The checks across tunnels (names,
// overlapping subnets) run over the tunnels of every file; every problem names the file it
// is in. A Loader re-reads only the included files that changed (loader.go).

// includePattern is one element of the main file's include list.
type includePattern struct {
	pattern string // as written
	line    int
	elem    int // index in the list
}

// glob expands a pattern. It is a variable so that the fuzz target can keep it inside its
// own directory.
var glob = filepath.Glob

// include decodes the main file's include list, an array of glob patterns.
func (d *decoder) include(v *value, p keyPath) {
	if v.kind != kindArray {
		d.typeErr(v, p, `an array of file patterns such as ["tunnels.d/*.toml"]`)
		return
	}
	d.eachString(v, p, func(s string, line, i int, ep keyPath) {
		if s == "" {
			d.errs.add(line, "%s: must not be empty", ep)
			return
		}
		d.includes = append(d.includes, includePattern{strings.Clone(s), line, i})
	})
}

// includedFiles expands the include patterns of the main file main (problems go to errs):
// patterns relative to its directory, each pattern's matches sorted by name, the patterns in
// their order. A file matched twice is included once, where it was first matched; the main
// file itself is never included. A pattern that matches nothing is no error: a directory of
// tunnels may be empty.
func includedFiles(main string, pats []includePattern, errs *errList) []string {
	if len(pats) == 0 {
		return nil
	}
	dir := filepath.Dir(main)
	seen := map[string]bool{filepath.Clean(main): true}
	var files []string
	for _, ip := range pats {
		pat := ip.pattern
		if !filepath.IsAbs(pat) {
			pat = filepath.Join(dir, pat)
		}
		m, err := glob(pat)
		if err != nil {
			errs.add(ip.line, "include[%d]: malformed pattern %q: %v", ip.elem, ip.pattern, err)
			continue
		}
		// Glob takes a directory it cannot read for one without matches: a reload would then
		// remove every tunnel of the files there. A missing directory is a directory of no
		// tunnels; one that cannot be read is an error.
		if dir := filepath.Dir(pat); !strings.ContainsAny(dir, `*?[\`) {
			f, err := os.Open(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs.add(ip.line, "include[%d]: %q: cannot read directory %s: %v", ip.elem, ip.pattern, dir, pathErr(err))
				continue
			}
			if err == nil {
				f.Close()
			}
		}
		slices.Sort(m)
		for _, f := range m {
			if !seen[filepath.Clean(f)] {
				seen[filepath.Clean(f)] = true
				files = append(files, f)
			}
		}
	}
	return files
}

// fileResult is what became of one included file in a load.
type fileResult struct {
	path    string
	tunnels []Tunnel
	errs    *errList    // its problems, and those of its tunnels found across files
	entry   *cachedFile // what a Loader may keep of it; nil if nothing
	reused  bool        // entry is the cache's: the file was not read (tunnels is nil)
	snap    *snapshot   // its tunnels' snapshot, when it has no problem
	gen     uint64      // the generation of its tunnels
}

// loadIncluded returns the tunnels of each included file, decoded with the main file's
// global settings g: those prev holds of an unchanged file as they are, the others read and
// decoded, several files at a time.
func loadIncluded(files []string, main string, g *Global, prev *fileCache, readAt time.Time) []fileResult {
	res := make([]fileResult, len(files))
	var todo []int
	for i, f := range files {
		if e := prev.fresh(f); e != nil {
			res[i] = fileResult{path: f, errs: &errList{file: f}, entry: e, reused: true, snap: e.snap, gen: e.snap.gen}
			continue
		}
		todo = append(todo, i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(todo) {
					return
				}
				i := todo[k]
				res[i] = parseIncluded(files[i], main, g, readAt)
			}
		})
	}
	wg.Wait()
	return res
}

// parseIncluded reads and decodes the included file at path. Its tunnels come back even when
// it has problems, for the checks across files; entry is set only when it has none.
func parseIncluded(path, main string, g *Global, readAt time.Time) fileResult {
	r := fileResult{path: path, errs: &errList{file: path}}
	data, st, err := readFile(path, maxConfigSize, true)
	if err != nil {
		r.errs.add(0, "cannot read included file: %v", err)
		return r
	}
	tr := parseTree(data, r.errs)
	if tr == nil {
		return r
	}
	// The rule for inline keys holds for every file Vigil reads, whoever asked.
	d := &decoder{errs: r.errs, dir: filepath.Dir(path), tr: tr, mode: st.Mode(), checkMode: true, psks: map[string]fileStat{}}
	r.tunnels = d.included(g, main)
	gen := newGen()
	r.gen = gen
	for i := range r.tunnels {
		r.tunnels[i].File, r.tunnels[i].Gen = path, gen
	}
	if r.errs.empty() {
		r.snap = newSnapshot(path, gen, r.tunnels)
		r.entry = newCachedFile(st, d.psks, readAt)
	}
	return r
}

// included decodes an included file: [tunnel.NAME] tables and nothing else.
func (d *decoder) included(g *Global, main string) []Tunnel {
	var tunnels *table
	d.keys(&d.tr.tables[0], func(k string, v *value) {
		switch k {
		case "tunnel":
			tunnels = d.tunnelTable(v, keyPath{key: k})
		case "include":
			d.errs.add(int(v.line), "include: an included file cannot include others; list every pattern in the main file %s", main)
		case "global":
			d.errs.add(int(v.line), "[global] in an included file: it belongs in the main file %s (an included file holds [tunnel.NAME] tables only)", main)
		default:
			d.errs.add(int(v.line), "unknown top-level key %q: an included file holds [tunnel.NAME] tables only", k)
		}
	})
	if tunnels == nil {
		return nil
	}
	return d.tunnels(tunnels, g)
}

// build decodes a configuration: the main file (filename, holding data, of the given mode if
// checkMode) and the files it includes, reusing what prev (nil: nothing) holds of included
// files that did not change, and checks it across files. It returns the configuration and
// what a Loader keeps of its included files; on failure, every problem found.
func build(filename string, data []byte, mode fs.FileMode, checkMode bool, prev *fileCache, readAt time.Time) (*Update, *fileCache, error) {
	errs := &errList{file: filename}
	tr := parseTree(data, errs)
	if tr == nil {
		return nil, nil, errs.err()
	}
	d := &decoder{errs: errs, dir: filepath.Dir(filename), tr: tr, mode: mode, checkMode: checkMode}
	c := d.config()
	gen := newGen()
	for i := range c.Tunnels {
		c.Tunnels[i].File, c.Tunnels[i].Gen = filename, gen
	}
	files := includedFiles(filename, d.includes, errs)
	reuse := prev
	if reuse != nil && reuse.global != c.Global {
		reuse = nil // the tunnels' defaults follow [global] (local_port follows ike_port)
	}
	results := loadIncluded(files, filename, &c.Global, reuse, readAt)

	lists := make([]*errList, 1+len(results))
	lists[0] = errs
	byFile := map[string]*errList{filename: errs}
	for i := range results {
		lists[i+1] = results[i].errs
		byFile[results[i].path] = results[i].errs
	}
	at := func(t *Tunnel, format string, args ...any) { byFile[t.File].add(t.Line, format, args...) }

	u := &Update{File: filename, Global: c.Global, parts: make([]part, 1, 1+len(results))}
	u.parts[0] = part{tunnels: c.Tunnels, gen: gen}
	u.n = len(c.Tunnels)
	for i := range results {
		r := &results[i]
		u.Includes = append(u.Includes, r.path)
		u.parts = append(u.parts, part{off: u.n, tunnels: r.tunnels, snap: r.snap, gen: r.gen})
		u.n += u.parts[len(u.parts)-1].len()
	}

	// When the tunnels have the shape of the last load's, the checks across tunnels would
	// find nothing, as they did then, and the last load's name index serves. Otherwise they
	// run over every tunnel in full, in one slice (the reused files' tunnels rebuilt), the main
	// file's first.
	if prev.sameShape(u.parts) {
		u.byName = prev.byName
	} else {
		all := c.Tunnels
		if len(results) > 0 {
			all = make([]Tunnel, 0, u.n)
			for k := range u.parts {
				p := &u.parts[k]
				if p.full() {
					all = append(all, p.tunnels...)
					continue
				}
				for i := range p.snap.len() {
					all = append(all, p.snap.tunnel(i))
				}
			}
			for k := range u.parts {
				p := &u.parts[k]
				n := p.len()
				p.tunnels = all[p.off : p.off+n : p.off+n]
			}
		}
		u.all = all
		u.byName = newNameIndex(len(all), nameIn(all), func(first, later int) {
			a, b := &all[first], &all[later]
			at(b, "duplicate tunnel %q: already defined at %s:%d", b.Name, a.File, a.Line)
		})
		checkOverlaps(all, at)
		checkV1Identities(all, at)
	}
	if err := joinErrors(lists...); err != nil {
		return nil, nil, err
	}

	next := &fileCache{global: c.Global, files: make(map[string]*cachedFile, len(results))}
	if len(results) > 0 {
		// Kept for the next load's sameShape only with included files: a configuration in
		// one file is read whole every time, and the Loader should not keep its tunnels.
		// (The main file's tunnels then share the snapshot's memory, as the included files'
		// do: see newSnapshot.)
		next.shape = make([]*snapshot, len(u.parts))
		next.shape[0] = newSnapshot(filename, gen, u.parts[0].tunnels)
		for i := range results {
			next.shape[i+1] = results[i].snap
		}
		next.byName = u.byName
	}
	for _, r := range results {
		if r.entry != nil && r.snap != nil {
			e := *r.entry
			e.snap = r.snap
			next.files[r.path] = &e
		}
	}
	return u, next, nil
}

// sameShape reports whether the tunnels of parts, the parts of a load, have the names,
// remote subnets and (IKEv1) peer identities, position by position, of the tunnels of the load that filled c (which may
// be nil). Then the checks across tunnels, which depend on nothing else, would find what they
// found then: nothing; and c's name index serves the new tunnels. Editing a tunnel's other
// settings, the common reload, so costs no check of 100,000 tunnels. (Positions are compared
// file by file: a tunnel moved from one file to the next is a new shape, and checked.)
func (c *fileCache) sameShape(parts []part) bool {
	if c == nil || len(c.shape) != len(parts) {
		return false
	}
	for k := range parts {
		p, s := &parts[k], c.shape[k]
		switch {
		case s == nil:
			return false
		case p.snap == s:
			continue // a reused file, at the place it had (the parts before it have their length)
		case p.len() != s.len():
			return false
		}
		for i := range p.len() {
			if p.name(i) != s.name(i) || !slices.Equal(p.remoteTS(i), s.remoteTS(i)) || p.v1Key(i) != s.v1Key(i) {
				return false
			}
		}
	}
	return true
}
