package config

import (
	"io/fs"
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
	i := 0
	for e := d.tr.val(v.sub); e != nil; e, i = d.tr.val(e.next), i+1 {
		ep := p
		ep.elem = i + 1
		s, ok := d.str(e, ep)
		if !ok {
			continue
		}
		if s == "" {
			d.errs.add(int(e.line), "%s: must not be empty", ep)
			continue
		}
		d.includes = append(d.includes, includePattern{strings.Clone(s), int(e.line), i})
	}
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
	reused  bool        // entry is the cache's: the file was not read
}

// loadIncluded returns the tunnels of each included file, decoded with the main file's
// global settings g: those prev holds of an unchanged file as they are, the others read and
// decoded, several files at a time.
func loadIncluded(files []string, main string, g *Global, prev *fileCache, readAt time.Time) []fileResult {
	res := make([]fileResult, len(files))
	var todo []int
	for i, f := range files {
		if e := prev.fresh(f); e != nil {
			res[i] = fileResult{path: f, tunnels: e.tunnels, errs: &errList{file: f}, entry: e, reused: true}
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
	for i := range r.tunnels {
		r.tunnels[i].File, r.tunnels[i].Gen = path, gen
	}
	if r.errs.empty() {
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
// files that did not change, and checks it across files. It returns the Config and what a
// Loader keeps of its included files; on failure, every problem found.
func build(filename string, data []byte, mode fs.FileMode, checkMode bool, prev *fileCache, readAt time.Time) (*Config, *fileCache, error) {
	errs := &errList{file: filename}
	tr := parseTree(data, errs)
	if tr == nil {
		return nil, nil, errs.err()
	}
	d := &decoder{errs: errs, dir: filepath.Dir(filename), tr: tr, mode: mode, checkMode: checkMode}
	c := d.config()
	c.File = filename
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

	// One slice of every file's tunnels, the main file's first.
	all := c.Tunnels
	if len(results) > 0 {
		all = make([]Tunnel, 0, len(c.Tunnels)+tunnelsIn(results))
		all = append(all, c.Tunnels...)
		for i := range results {
			all = append(all, results[i].tunnels...)
		}
	}
	lists := make([]*errList, 1+len(results))
	lists[0] = errs
	byFile := map[string]*errList{filename: errs}
	for i := range results {
		lists[i+1] = results[i].errs
		byFile[results[i].path] = results[i].errs
	}
	at := func(t *Tunnel, format string, args ...any) { byFile[t.File].add(t.Line, format, args...) }
	var byName nameIndex
	if prev.sameShape(all, len(c.Tunnels), results) {
		byName = prev.byName // and the checks across tunnels find nothing, as they did then
	} else {
		byName = newNameIndex(all, func(first, later int) {
			a, b := &all[first], &all[later]
			at(b, "duplicate tunnel %q: already defined at %s:%d", b.Name, a.File, a.Line)
		})
		checkOverlaps(all, at)
	}
	if err := joinErrors(lists...); err != nil {
		return nil, nil, err
	}

	c.Tunnels, c.byName = all, byName
	next := &fileCache{global: c.Global, all: all, byName: byName, files: make(map[string]*cachedFile, len(results))}
	off := len(c.Tunnels) - tunnelsIn(results)
	for _, r := range results {
		c.Includes = append(c.Includes, r.path)
		n := len(r.tunnels)
		if r.entry != nil {
			e := *r.entry
			// The cache shares the Config's tunnels (read-only): no second copy of them.
			e.tunnels, e.off = all[off:off+n:off+n], off
			next.files[r.path] = &e
		}
		off += n
	}
	return c, next, nil
}

// sameShape reports whether all, the tunnels of a load (the main file's mainN first, then
// those of results), has the names and remote subnets, position by position, of the tunnels
// of the load that filled c (which may be nil). Then the checks across tunnels, which
// depend on nothing else, would find what they found then: nothing; and c's name index
// serves all. Editing a tunnel's other settings, the common reload, so costs no check of
// 100,000 tunnels.
func (c *fileCache) sameShape(all []Tunnel, mainN int, results []fileResult) bool {
	if c == nil || len(all) != len(c.all) {
		return false
	}
	same := func(lo, hi int) bool {
		for i := lo; i < hi; i++ {
			if all[i].Name != c.all[i].Name || !slices.Equal(all[i].RemoteTS, c.all[i].RemoteTS) {
				return false
			}
		}
		return true
	}
	if !same(0, mainN) {
		return false
	}
	off := mainN
	for _, r := range results {
		n := len(r.tunnels)
		// A file reused where it was is the same tunnels.
		if !(r.reused && r.entry.off == off) && !same(off, off+n) {
			return false
		}
		off += n
	}
	return true
}

// tunnelsIn counts the tunnels of results.
func tunnelsIn(results []fileResult) int {
	n := 0
	for i := range results {
		n += len(results[i].tunnels)
	}
	return n
}
