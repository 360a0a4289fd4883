package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/vigil-ipsec/vigil/bench/internal/rig"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// vigilProfiles records -profile's profiles of the two vigild of one run: a CPU profile of
// each for the setup (B's from just before A starts, A's from its control API answering, a
// few milliseconds after its start) and a heap profile of each when all tunnels are up.
// Without -profile every method does nothing. Failures are reported on stderr and do not
// fail the run.
type vigilProfiles struct {
	dir, name string // name: e.g. "vigil-n10000"
	ns        map[string]*netns.NS
	cpu       map[string]*rig.CPUProfiler
	ctx       context.Context
}

func (b *bench) newVigilProfiles(tp *netns.Topo, sys string, n int) *vigilProfiles {
	if b.o.profile == "" {
		return nil
	}
	return &vigilProfiles{
		dir: b.o.profile, name: fmt.Sprintf("%s-n%d-peers%d", sys, n, b.o.peers), ctx: b.ctx,
		ns:  map[string]*netns.NS{"a": tp.GwA, "b": tp.GwB},
		cpu: map[string]*rig.CPUProfiler{},
	}
}

func (p *vigilProfiles) client(side string) *http.Client { return rig.DebugClient(p.ns[side]) }

func (p *vigilProfiles) path(side, kind string) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s-%s.%s.pb.gz", p.name, side, kind))
}

// start starts the CPU profile of side "a" or "b".
func (p *vigilProfiles) start(side string) {
	if p == nil {
		return
	}
	p.cpu[side] = rig.StartCPUProfile(p.ctx, p.client(side), "http://"+debugAddr, p.path(side, "cpu"))
}

// stop ends the CPU profiles; it does nothing the second time.
func (p *vigilProfiles) stop(ctx context.Context) {
	if p == nil {
		return
	}
	defer clear(p.cpu)
	for side, c := range p.cpu {
		if err := c.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "scale: profile: %v\n", err)
		} else {
			fmt.Fprintf(os.Stderr, "# CPU profile of %s: %s\n", side, p.path(side, "cpu"))
		}
	}
}

// heap fetches both heap profiles.
func (p *vigilProfiles) heap(ctx context.Context) {
	if p == nil {
		return
	}
	for _, side := range []string{"a", "b"} {
		path := p.path(side, "heap")
		if err := rig.FetchProfile(ctx, p.client(side), "http://"+debugAddr+"/debug/pprof/heap", path); err != nil {
			fmt.Fprintf(os.Stderr, "scale: heap profile of %s: %v\n", side, err)
		} else {
			fmt.Fprintf(os.Stderr, "# heap profile of %s: %s\n", side, path)
		}
	}
}
