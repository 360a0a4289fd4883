package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/client"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/gateway"
)

// lockedBuffer collects log output written by several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeLifecycle runs the daemon's wiring on an in-memory dataplane: the API serves the
// gateway, SIGHUP reloads, and SIGTERM stops everything serve started (the API and its event
// streams, the metrics server, the gateway) before serve returns.
func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "vigil.sock")
	file := filepath.Join(dir, "vigil.toml")
	if err := os.WriteFile(file, []byte("[global]\nsocket = \""+sock+"\"\nmetrics_addr = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gw, err := gateway.New(cfg, gateway.Options{Logger: log, OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return memory.NewNetwork().Attach([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve(cfg, len(cfg.Tunnels), log, gw, api.NewServer(gw, log), ln, "") }()

	// The first answer also means serve has installed its signal handlers.
	c := client.New(sock)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := c.Status(ctx); err != nil || st.PID != os.Getpid() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	events := make(chan api.Event, 16)
	streamEnded := make(chan error, 1)
	go func() {
		streamEnded <- c.FollowEvents(ctx, "", 0, func(ev api.Event) error { events <- ev; return nil })
	}()

	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for reloaded := false; !reloaded; {
		select {
		case ev := <-events:
			reloaded = ev.Kind == "reload"
		case <-ctx.Done():
			t.Fatal("no reload after SIGHUP")
		}
	}

	m := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %v, %v", resp, err)
	}
	resp.Body.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not return after SIGTERM")
	}
	select {
	case err := <-streamEnded:
		if !errors.Is(err, client.ErrStreamEnded) {
			t.Errorf("event stream: %v, want ended by the daemon", err)
		}
	case <-ctx.Done():
		t.Error("the event stream outlived serve")
	}
	// serve has returned: the servers it started are gone already.
	if conn, err := net.Dial("tcp", m[1]); err == nil {
		conn.Close()
		t.Error("metrics server still listening")
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket left behind: %v", err)
	}
}
