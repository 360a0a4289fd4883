package config

import (
	"net/netip"
	"sort"
)

// Update is a configuration as a Loader loaded it, validated in full, before its tunnels are
// put into one slice: [Update.Config] does that. A reload that the gateway drives does not:
// of an included file that did not change, whose tunnels the Loader reused with their
// generation ([Tunnel.Gen]), the gateway needs only each tunnel's name and generation to
// find it unchanged, and the tunnels of 99 unchanged files of 1,000 tunnels each would be
// rebuilt (45 MB of 448-byte structs) only to be compared by generation and dropped. So an
// Update gives the name and generation of every tunnel (Range), and a tunnel in full where
// one is asked for (Tunnel): at no cost for the tunnels of the files read, rebuilt from the
// Loader's snapshot for the others.
//
// Every Update is complete: it holds every tunnel of the configuration, and its Config has
// them all. Like a Config, it is read-only.
type Update struct {
	File     string   // path of the main file
	Global   Global   // [global]
	Includes []string // the included files, in the order their tunnels come

	parts  []part    // the tunnels, the main file's first, then each included file's
	all    []Tunnel  // every tunnel in one slice, when the load made one; nil otherwise
	n      int       // tunnels in all
	byName nameIndex // over the index of the tunnels (see newNameIndex); none when empty
	loader *Loader
}

// part is a run of an Update's tunnels: the tunnels of one file (or all of a Config's).
type part struct {
	off     int       // index of its first tunnel in the Update
	tunnels []Tunnel  // in full; nil for a reused file's (then snap has them)
	snap    *snapshot // the file's snapshot, if a Loader keeps one
	gen     uint64    // the generation of every tunnel of the part, one parse of a file; 0 if not known
}

// full reports whether p's tunnels are in p.tunnels.
func (p *part) full() bool { return p.tunnels != nil || p.snap == nil }

func (p *part) len() int {
	if !p.full() {
		return p.snap.len()
	}
	return len(p.tunnels)
}

func (p *part) name(i int) string {
	if !p.full() {
		return p.snap.name(i)
	}
	return p.tunnels[i].Name
}

func (p *part) remoteTS(i int) []netip.Prefix {
	if !p.full() {
		return p.snap.remoteTS(i)
	}
	return p.tunnels[i].RemoteTS
}

func (p *part) v1Key(i int) string {
	if !p.full() {
		return p.snap.v1Key(i)
	}
	t := &p.tunnels[i]
	return v1Key(t.Version, t.RemoteAddr, t.LocalID, t.RemoteID)
}

func (p *part) genOf(i int) uint64 {
	if p.gen != 0 {
		return p.gen
	}
	return p.tunnels[i].Gen
}

// Len returns the number of tunnels.
func (u *Update) Len() int { return u.n }

// Range calls f with the index, name and generation of every tunnel, in the order of
// Config.Tunnels, until f returns false.
func (u *Update) Range(f func(i int, name string, gen uint64) bool) {
	for k := range u.parts {
		p := &u.parts[k]
		for i := range p.len() {
			if !f(p.off+i, p.name(i), p.genOf(i)) {
				return
			}
		}
	}
}

// Files calls f for the tunnels of each file in turn, until f returns false: off is the index
// of the file's first tunnel, n how many it has, and gen their generation, which is the same
// for every tunnel of a file a Loader loaded (one parse of it), and 0 for an Update of a
// Config (Config.Update), whose tunnels are all one run.
func (u *Update) Files(f func(off, n int, gen uint64) bool) {
	for k := range u.parts {
		p := &u.parts[k]
		if !f(p.off, p.len(), p.gen) {
			return
		}
	}
}

// RangeFrom is Range over the n tunnels from index off, as Files gives them.
func (u *Update) RangeFrom(off, n int, f func(i int, name string, gen uint64) bool) {
	for k := range u.parts {
		p := &u.parts[k]
		lo, hi := max(off, p.off), min(off+n, p.off+p.len())
		for i := lo; i < hi; i++ {
			if !f(i, p.name(i-p.off), p.genOf(i-p.off)) {
				return
			}
		}
	}
}

// at returns the part holding tunnel i and i's index in it.
func (u *Update) at(i int) (*part, int) {
	k := sort.Search(len(u.parts), func(k int) bool { return u.parts[k].off > i }) - 1
	return &u.parts[k], i - u.parts[k].off
}

// Name returns the name of tunnel i (0 <= i < Len).
func (u *Update) Name(i int) string {
	p, j := u.at(i)
	return p.name(j)
}

// Tunnel returns tunnel i (0 <= i < Len) in full. A tunnel of a reused file is rebuilt: a
// new Tunnel, which shares its values with the Loader (read-only).
func (u *Update) Tunnel(i int) *Tunnel {
	p, j := u.at(i)
	if p.full() {
		return &p.tunnels[j]
	}
	t := p.snap.tunnel(j)
	return &t
}

// Find returns the index of the tunnel called name, or -1 if there is none.
func (u *Update) Find(name string) int {
	if u.byName.slots == nil {
		for i := range u.n {
			if u.Name(i) == name {
				return i
			}
		}
		return -1
	}
	return u.byName.find(u.n, u.Name, name)
}

// Config returns the configuration with every tunnel in Tunnels; with included files, in a
// new slice (the Loader keeps none).
func (u *Update) Config() *Config {
	c := &Config{File: u.File, Global: u.Global, Includes: u.Includes, byName: u.byName, loader: u.loader}
	if u.all != nil {
		c.Tunnels = u.all
		return c
	}
	if len(u.parts) == 1 && u.parts[0].full() {
		c.Tunnels = u.parts[0].tunnels
		return c
	}
	c.Tunnels = make([]Tunnel, 0, u.n)
	for k := range u.parts {
		p := &u.parts[k]
		if p.full() {
			c.Tunnels = append(c.Tunnels, p.tunnels...)
			continue
		}
		for i := range p.snap.len() {
			c.Tunnels = append(c.Tunnels, p.snap.tunnel(i))
		}
	}
	return c
}

// Update returns c as an Update, whose tunnels are c's (not copied).
func (c *Config) Update() *Update {
	return &Update{
		File: c.File, Global: c.Global, Includes: c.Includes,
		parts: []part{{tunnels: c.Tunnels}}, n: len(c.Tunnels), byName: c.byName, loader: c.loader,
	}
}
