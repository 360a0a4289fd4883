package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/apitest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPeerCredentials: the server checks the connecting process's uid with SO_PEERCRED on a
// real unix socket. The test process's own uid is allowed by default; with a policy that
// leaves it out, requests get 403 naming the uid and the refusal is logged, throttled.
func TestPeerCredentials(t *testing.T) {
	var logBuf syncBuffer
	srv := api.NewServer(apitest.NewFake(), slog.New(slog.NewTextHandler(&logBuf, nil)))
	sock := filepath.Join(t.TempDir(), "vigil.sock")
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	defer func() { cancel(); <-done }()
	hc := unixClient(sock)

	if status, body := do(t, hc, "GET", "/v1/status", ""); status != 200 {
		t.Fatalf("own uid %d refused by default: %d %s", os.Geteuid(), status, body)
	}

	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	srv.SetPeerPolicy(api.PeerPolicy{UIDs: []uint32{uid + 4242}})
	for range 5 {
		status, body := do(t, hc, "GET", "/v1/status", "")
		if status != 403 || !strings.Contains(body, "permission denied: uid "+strconv.Itoa(int(uid))+" may not use") {
			t.Fatalf("refused uid: %d %s, want 403 naming uid %d", status, body, uid)
		}
	}
	// Refused requests reach no handler, whatever the route.
	if status, _ := do(t, hc, "POST", "/v1/reload", ""); status != 403 {
		t.Errorf("POST /v1/reload from a refused uid: %d", status)
	}
	logs := logBuf.String()
	if n := strings.Count(logs, "control API: refused"); n != 1 {
		t.Errorf("%d log lines for 6 refused requests, want 1 (throttled):\n%s", n, logs)
	}
	if !strings.Contains(logs, "uid="+strconv.Itoa(int(uid))) || !strings.Contains(logs, "level=WARN") {
		t.Errorf("refusal log lacks the uid: %s", logs)
	}

	// A group may be allowed instead.
	srv.SetPeerPolicy(api.PeerPolicy{UIDs: []uint32{uid + 4242}, GIDs: []uint32{gid}})
	if status, body := do(t, hc, "GET", "/v1/status", ""); status != 200 {
		t.Errorf("allowed gid %d refused: %d %s", gid, status, body)
	}
	srv.SetPeerPolicy(api.DefaultPeerPolicy())
	if status, _ := do(t, hc, "GET", "/v1/status", ""); status != 200 {
		t.Errorf("default policy refuses own uid: %d", status)
	}
}
