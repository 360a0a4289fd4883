package config

import (
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Loader loads a configuration again and again, as vigild does at start-up and on every
// reload. It always reads the main file; an included file whose size, modification and
// change times, inode and device are those it had at the last successful Load, and whose
// psk_files did not change either, is not read again: its tunnels are reused as they were
// decoded, with the same [Tunnel.Gen]. A reload that changes one tunnel among 100,000 in 100
// files so reads one file, not all. A Load that fails changes nothing the Loader keeps.
//
// A file modified less than racyWindow before it was read is read again by the next Load
// all the same: a second write within the same tick of the file system's clock, of the same
// size, would leave every field of its status as it was (git's "racily clean" files).
//
// What a Loader keeps of the included files' tunnels between loads is a compact snapshot of
// them (snapshot.go), some 60 bytes a tunnel besides the names, identities, keys and subnets,
// which the tunnels it hands out share with it (read-only, like every Config). A Loader may
// be used from several goroutines; its loads run one at a time.
type Loader struct {
	path  string
	mu    sync.Mutex
	cache *fileCache // what the last successful Load read; nil before one
}

// NewLoader returns a Loader of the configuration whose main file is at path.
func NewLoader(path string) *Loader { return &Loader{path: path} }

// Load reads and validates the configuration, as [Load] does, reading only the included
// files that changed since the last successful Load (of either kind).
func (l *Loader) Load() (*Config, error) {
	u, err := l.LoadUpdate()
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// LoadUpdate is Load without putting the tunnels into one slice (see Update): for a caller
// that compares most tunnels by name and generation only, such as the gateway's reload.
func (l *Loader) LoadUpdate() (*Update, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	readAt := time.Now()
	data, st, err := readFile(l.path, maxConfigSize, false)
	if err != nil {
		return nil, &Error{File: l.path, Msg: "cannot read configuration: " + err.Error()}
	}
	u, cache, err := build(l.path, data, st.Mode(), true, l.cache, readAt)
	if err != nil {
		return nil, err
	}
	l.cache = cache
	u.loader = l
	return u, nil
}

// Release hands back c, a Config this Loader's Load returned, that the caller will not use
// again: c's Tunnels are emptied, so that a use after release finds no tunnels, and c keeps
// nothing alive. (The Loader keeps no Config's tunnels, so it has nothing to reuse.)
func (l *Loader) Release(c *Config) {
	if c == nil || c.loader != l {
		return
	}
	c.Tunnels, c.byName, c.loader = nil, nameIndex{}, nil
}

// racyWindow: a file whose modification time is this close to (or later than) the start of
// the load that read it is not trusted to be unchanged by its status alone. File systems'
// clocks tick in 1 to 10 ms on Linux (fineRacyWindow), in 1 s on ext3 and 2 s on FAT
// (racyWindow). A time with a fraction of a second comes from a fine clock; a whole second
// may come from a coarse one, so it gets the long window. (With the long window alone, files
// that configuration management wrote just before vigild started would all be read again by
// the first reload.)
const (
	racyWindow     = 2 * time.Second
	fineRacyWindow = 100 * time.Millisecond
)

// isRacy reports whether a file modified at mtime (unix nanoseconds) is too close to readAt
// for its status to prove it unchanged later.
func isRacy(mtime int64, readAt time.Time) bool {
	w := racyWindow
	if mtime%int64(time.Second) != 0 {
		w = fineRacyWindow
	}
	return mtime >= readAt.Add(-w).UnixNano()
}

// lastGen is the last generation given to a parse of a file (see Tunnel.Gen); shared by all
// Loaders, so that a generation names one parse in the process.
var lastGen atomic.Uint64

func newGen() uint64 { return lastGen.Add(1) }

// fileCache is what a Loader keeps of the included files of its last successful Load.
type fileCache struct {
	global Global                 // the [global] their tunnels were decoded with
	files  map[string]*cachedFile // by path, as matched
	// With included files: the snapshot of each file's tunnels, the main file's first (see
	// sameShape; nil for a file that has none), and the index of their names.
	shape  []*snapshot
	byName nameIndex
}

// cachedFile is an included file's tunnels and what must not have changed for them to be
// reused.
type cachedFile struct {
	stat fileStat
	psks map[string]fileStat // every psk_file its tunnels read
	racy bool                // the file or a psk_file was modified just before it was read
	snap *snapshot           // its tunnels
}

// newCachedFile records an included file of status st, whose tunnels read psks, read in the
// load started at readAt. It returns nil when the status tells too little (see statOf).
func newCachedFile(st fs.FileInfo, psks map[string]fileStat, readAt time.Time) *cachedFile {
	fst, ok := statOf(st)
	if !ok {
		return nil
	}
	e := &cachedFile{stat: fst, psks: psks, racy: isRacy(fst.mtime, readAt)}
	for _, p := range psks {
		e.racy = e.racy || isRacy(p.mtime, readAt)
	}
	return e
}

// fresh returns the cached file at path if it may be reused: it and its psk_files have the
// status they had when it was read. c may be nil.
func (c *fileCache) fresh(path string) *cachedFile {
	if c == nil {
		return nil
	}
	e := c.files[path]
	if e == nil || e.racy || !unchanged(path, e.stat) {
		return nil
	}
	for p, st := range e.psks {
		if !unchanged(p, st) {
			return nil
		}
	}
	return e
}

// fileStat identifies one version of a file: writing it changes its modification and change
// times (and perhaps its size), replacing it changes its inode, and chmod its change time.
type fileStat struct {
	size         int64
	mtime, ctime int64 // nanoseconds since 1970
	ino, dev     uint64
}

// unchanged reports whether the file at path has status st.
func unchanged(path string, st fileStat) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	now, ok := statOf(fi)
	return ok && now == st
}
