package rig

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// DebugClient returns an HTTP client whose connections are made inside ns, for a daemon's
// pprof endpoint on the namespace's loopback (vigild --debug-addr 127.0.0.1:PORT).
func DebugClient(ns *netns.NS) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		// The socket is created on a thread inside ns and stays there.
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// FetchProfile GETs url with hc and writes the body to path.
func FetchProfile(ctx context.Context, hc *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, msg)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return f.Close()
}

// cpuPiece is the length of each piece of a CPUProfiler's profile; the pprof endpoint takes
// whole seconds.
const cpuPiece = time.Second

// CPUProfiler records a daemon's CPU profile for a period whose end is not known in advance:
// pprof's endpoint profiles for a fixed number of seconds, so it fetches consecutive
// one-second profiles and merges them when stopped.
type CPUProfiler struct {
	path   string
	pieces []string
	stop   chan struct{}
	done   chan error
}

// StartCPUProfile starts profiling the pprof endpoint base (e.g. "http://127.0.0.1:6060")
// through hc; Stop writes the merged profile to path.
func StartCPUProfile(ctx context.Context, hc *http.Client, base, path string) *CPUProfiler {
	p := &CPUProfiler{path: path, stop: make(chan struct{}), done: make(chan error, 1)}
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(cpuPiece/time.Second))
	go func() {
		for i := 0; ; i++ {
			piece := fmt.Sprintf("%s.part%03d", path, i)
			if err := FetchProfile(ctx, hc, url, piece); err != nil {
				p.done <- err
				return
			}
			p.pieces = append(p.pieces, piece)
			select {
			case <-p.stop:
				p.done <- nil
				return
			default:
			}
		}
	}()
	return p
}

// Stop waits for the running piece (up to a second) and merges the pieces into the profile
// with `go tool pprof -proto`.
func (p *CPUProfiler) Stop(ctx context.Context) error {
	close(p.stop)
	if err := <-p.done; err != nil {
		return fmt.Errorf("CPU profile %s: %w", p.path, err)
	}
	if len(p.pieces) == 0 {
		return fmt.Errorf("CPU profile %s: no piece recorded", p.path)
	}
	out, err := os.Create(p.path)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-proto"}, p.pieces...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool pprof -proto (merging %d pieces into %s): %w: %s", len(p.pieces), filepath.Base(p.path), err, stderr.Bytes())
	}
	for _, f := range p.pieces {
		os.Remove(f)
	}
	return nil
}
