package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/apitest"
)

// unixClient returns an HTTP client whose connections go to sock.
func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func do(t *testing.T, hc *http.Client, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://vigild"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	fake := apitest.NewFake()
	hc := unixClient(apitest.Serve(t, fake))
	tests := []struct {
		method, path, body string
		status             int
		want               []string // substrings of the response body
	}{
		{"GET", "/v1/status", "", 200, []string{`"version":"0.1.0"`, `"pid":4242`, `"uptime":"1h30m0s"`, `"tunnels_up":1`}},
		{"GET", "/v1/version", "", 200, []string{`"api":"v1"`, `"daemon":"0.1.0"`, `"go":"go`}},
		{"GET", "/v1/tunnels", "", 200, []string{`"name":"site-a"`, `"name":"site-b"`, `"remote_ts":["10.2.0.0/16","10.3.0.0/16"]`}},
		{"GET", "/v1/tunnels/site-a", "", 200, []string{`"name":"site-a"`, `"state":"up"`}},
		{"GET", "/v1/tunnels/nope", "", 404, []string{`{"error":"tunnel \"nope\": not found"}`}},
		{"POST", "/v1/tunnels/site-b/up", "", 200, []string{`"name":"site-b"`, `"state":"connecting"`}},
		{"POST", "/v1/tunnels/site-b/up", "", 409, []string{`already connecting`}},
		{"POST", "/v1/tunnels/site-b/down", "", 200, []string{`"state":"down"`}},
		{"POST", "/v1/tunnels/nope/down", "", 404, []string{`not found`}},
		{"GET", "/v1/sas", "", 200, []string{`"spi_i":"1a2b3c4d5e6f7081"`, `"spi_in":"0xc1000001"`, `"spi_out":"0x00004321"`, `"age":"1h2m0s"`, `"rekey_in":"45s"`}},
		{"GET", "/v1/sas?tunnel=site-a", "", 200, []string{`"tunnel":"site-a"`}},
		{"GET", "/v1/sas?tunnel=site-b", "", 200, []string{`[]`}},
		{"GET", "/v1/sas?tunnel=nope", "", 404, []string{`not found`}},
		{"GET", "/v1/sas/child/0x0badf00d", "", 200, []string{`"id":12`, `"spi_in":"0xc1000001"`, `"last_in":"2026-03-01T11:59:58.5Z"`}},
		{"GET", "/v1/sas/child/3238002689", "", 200, []string{`"id":12`}},
		{"GET", "/v1/sas/child/0xdeadbeef", "", 404, []string{`no Child SA with spi 0xdeadbeef`}},
		{"GET", "/v1/sas/child/0xnothex", "", 400, []string{`spi must be 0x followed by 1-8 hex digits`}},
		{"GET", "/v1/sas/child/0", "", 400, []string{`reserved`}},
		{"POST", "/v1/sas/child/0x0badf00d/rekey", "", 202, []string{"{}\n"}},
		{"POST", "/v1/sas/child/3238002690/rekey", "", 202, []string{"{}\n"}},
		{"POST", "/v1/sas/child/0xdeadbeef/rekey", "", 404, []string{`no Child SA with spi 0xdeadbeef`}},
		{"POST", "/v1/sas/child/0/rekey", "", 400, []string{`reserved`}},
		{"POST", "/v1/sas/child/0xnothex/rekey", "", 400, []string{`spi must be 0x followed by 1-8 hex digits`}},
		{"GET", "/v1/sas/child/0x0badf00d/rekey", "", 405, []string{`method not allowed`}},
		{"POST", "/v1/tunnels/site-a/rekey-ike", "", 202, []string{"{}\n"}},
		{"POST", "/v1/tunnels/site-b/rekey-ike", "", 409, []string{`tunnel \"site-b\" has no established IKE SA: conflict`}},
		{"POST", "/v1/tunnels/nope/rekey-ike", "", 404, []string{`tunnel \"nope\": not found`}},
		{"DELETE", "/v1/sas/child/0x0badf00d?notify=maybe", "", 400, []string{`notify must be true or false`}},
		{"DELETE", "/v1/sas/child/0x0badf00d?notify=false", "", 200, []string{`"tunnel":"site-a"`, `"spi_in":"0xc1000001"`, `"notified":false`, `"action":"restart"`}},
		{"DELETE", "/v1/sas/child/0x0badf00d", "", 404, []string{`not found`}},
		{"DELETE", "/v1/sas/child/0xc1000002", "", 200, []string{`"notified":true`}},
		{"GET", "/v1/events", "", 200, []string{`"seq":1`, `"seq":5`, `"spi":"0xc0ffee01"`, `"protected":true`, `"outage_ms":264.5`}},
		{"GET", "/v1/events?since=4", "", 200, []string{`[{"seq":5,`}},
		{"GET", "/v1/events?tunnel=site-b", "", 200, []string{`[{"seq":5,`}},
		{"GET", "/v1/events?since=99", "", 200, []string{`[]`}},
		{"GET", "/v1/events?since=-1", "", 400, []string{`since must be an event sequence number`}},
		{"GET", "/v1/events?follow=sometimes", "", 400, []string{`follow must be 1 or 0`}},
		{"POST", "/v1/reload", "", 200, []string{`"added":["site-c"]`, `"removed":[]`, `"unchanged":["site-a"]`}},
		{"PUT", "/v1/log-level", `{"level":"debug"}`, 200, []string{`{"level":"debug"}`}},
		{"PUT", "/v1/log-level", `{"level":"loud"}`, 400, []string{`unknown log level \"loud\"`}},
		{"PUT", "/v1/log-level", `{"level":""}`, 400, []string{`level is empty`}},
		{"PUT", "/v1/log-level", `{"lvl":"debug"}`, 400, []string{`body must be`}},
		{"PUT", "/v1/log-level", `not json`, 400, []string{`body must be`}},
		{"GET", "/v1/nothing", "", 404, []string{`{"error":"no such route"}`}},
		{"GET", "/v2/status", "", 404, []string{`no such route`}},
		{"POST", "/v1/status", "", 405, []string{`method not allowed`}},
		{"DELETE", "/v1/tunnels/site-a", "", 405, []string{`method not allowed`}},
	}
	for _, tt := range tests {
		status, body := do(t, hc, tt.method, tt.path, tt.body)
		if status == http.StatusAccepted && body != "{}\n" {
			t.Errorf("%s %s: 202 body %q, want {}", tt.method, tt.path, body)
		}
		if status != tt.status {
			t.Errorf("%s %s: status %d, want %d (body %s)", tt.method, tt.path, status, tt.status, body)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: body %s\n  does not contain %s", tt.method, tt.path, body, w)
			}
		}
		if status >= 400 {
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: error body %q is not {\"error\": ...}", tt.method, tt.path, body)
			}
		}
	}
	wantCalls := []string{"up site-b", "down site-b", "rekey-child 0x0badf00d", "rekey-child 0xc1000002", "rekey-ike site-a", "delete 0x0badf00d notify=false", "delete 0xc1000002 notify=true", "reload", "log-level debug"}
	if got := fake.CallLog(); fmt.Sprint(got) != fmt.Sprint(wantCalls) {
		t.Errorf("backend calls = %q, want %q", got, wantCalls)
	}
	if got := fake.Status().LogLevel; got != "debug" {
		t.Errorf("log level after PUT = %q, want debug", got)
	}
}

// errBackend fails everything with a plain error to check the 500 mapping.
type errBackend struct{ *apitest.Fake }

func (errBackend) Tunnel(string) (api.Tunnel, error) {
	return api.Tunnel{}, errors.New("database on fire")
}
func (errBackend) Reload() (api.ReloadResult, error) {
	return api.ReloadResult{}, fmt.Errorf("vigil.toml:3: bad key: %w", api.ErrBadRequest)
}

func TestErrorMapping(t *testing.T) {
	hc := unixClient(apitest.Serve(t, errBackend{apitest.NewFake()}))
	if status, body := do(t, hc, "GET", "/v1/tunnels/x", ""); status != 500 || !strings.Contains(body, `"error":"database on fire"`) {
		t.Errorf("plain error: %d %s, want 500 with the message", status, body)
	}
	if status, body := do(t, hc, "POST", "/v1/reload", ""); status != 400 || !strings.Contains(body, "vigil.toml:3: bad key") {
		t.Errorf("wrapped ErrBadRequest: %d %s, want 400", status, body)
	}
}

func TestFollowEvents(t *testing.T) {
	fake := apitest.NewFake()
	hc := unixClient(apitest.Serve(t, fake))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reqCtx, stop := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, "GET", "http://vigild/v1/events?tunnel=site-a&since=2&follow=1", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q, want application/x-ndjson", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() api.Event {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended early: %v", lines.Err())
		}
		var ev api.Event
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("bad line %q: %v", lines.Text(), err)
		}
		return ev
	}
	// Backlog: site-a events after seq 2.
	for _, want := range []uint64{3, 4} {
		if ev := next(); ev.Seq != want || ev.Tunnel != "site-a" {
			t.Fatalf("backlog event = %d/%s, want %d/site-a", ev.Seq, ev.Tunnel, want)
		}
	}
	if err := fake.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fake.Publish(api.Event{Time: apitest.Epoch, Tunnel: "site-b", Kind: "up"}) // filtered out
	live := fake.Publish(api.Event{Time: apitest.Epoch, Tunnel: "site-a", Kind: "rekey", Cause: "lifetime"})
	if ev := next(); ev.Seq != live.Seq || ev.Kind != "rekey" {
		t.Fatalf("live event = %+v, want seq %d rekey", ev, live.Seq)
	}
	// Closing the request ends the subscription.
	stop()
	if err := fake.WaitSubscribers(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

// serveFake serves a fake backend on a new socket until cancel; done gets ServeListener's
// result.
func serveFake(t *testing.T) (*apitest.Fake, string, context.CancelFunc, chan error) {
	t.Helper()
	fake := apitest.NewFake()
	sock := filepath.Join(t.TempDir(), "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := api.Listen(sock)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- api.NewServer(fake, nil).ServeListener(ctx, ln) }()
	return fake, sock, cancel, done
}

func TestFollowEndsOnShutdown(t *testing.T) {
	fake, sock, cancel, done := serveFake(t)
	defer cancel()

	resp, err := unixClient(sock).Get("http://vigild/v1/events?since=5&follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := fake.WaitSubscribers(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(rest) != 0 {
		t.Errorf("stream after shutdown: %q, %v; want a clean end", rest, err)
	}
	if err := <-done; err != nil {
		t.Errorf("ServeListener after cancel = %v, want nil", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still exists after shutdown: %v", err)
	}
}

// TestShutdownWithIdleConnection: a client that connected but never sent a request does not
// hold the shutdown up (http.Server.Shutdown alone would wait shutdownTimeout, 5 s, for it;
// vigild then seemed to ignore SIGTERM).
func TestShutdownWithIdleConnection(t *testing.T) {
	sock, cancel, done := servingFake(t)
	defer cancel()
	// A connection that stays silent.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it (no event to await from outside)
	cancel()
	quickShutdown(t, done)
}

// servingFake is serveFake after one answered request: the server is surely serving.
func servingFake(t *testing.T) (string, context.CancelFunc, chan error) {
	t.Helper()
	_, sock, cancel, done := serveFake(t)
	resp, err := unixClient(sock).Get("http://vigild/v1/status")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp.Body.Close()
	return sock, cancel, done
}

// quickShutdown waits for ServeListener to return nil, well before the 5 s drain a silent
// connection would cost.
func quickShutdown(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeListener after cancel = %v, want nil", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("shutdown waited for a connection that never sent a request")
	}
}

// TestShutdownWithSilentConnectionsInBacklog: connections that the server accepts only after
// the shutdown began (they were still in the listen backlog) do not hold it up either.
func TestShutdownWithSilentConnectionsInBacklog(t *testing.T) {
	sock, cancel, done := servingFake(t)
	defer cancel()
	// Dialled right before and while the shutdown runs: some are accepted before it, some
	// after it began, some never.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 64 {
		if i == 8 {
			cancel()
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			break // the listener is closed
		}
		conns = append(conns, c)
	}
	quickShutdown(t, done)
}

func TestServeSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "vigil") // parent does not exist yet
	sock := filepath.Join(dir, "vigil.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := apitest.NewFake()
	fake.StatusInfo.PID = os.Getpid()
	srv := api.NewServer(fake, nil)
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()

	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want socket with 0600", fi.Mode())
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm() != 0o755 {
		t.Errorf("parent dir mode = %v, %v; want 0755", di.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("socket dir holds %d entries, want just the socket", len(entries))
	}

	// A second daemon on the same path refuses, naming the running one.
	err = api.NewServer(apitest.NewFake(), nil).Serve(ctx, sock)
	want := fmt.Sprintf("another vigild is running on %s (pid %d)", sock, os.Getpid())
	if err == nil || err.Error() != want {
		t.Errorf("second Serve = %v, want %q", err, want)
	}
	// And the first one still answers.
	if status, _ := do(t, unixClient(sock), "GET", "/v1/status", ""); status != 200 {
		t.Errorf("first server no longer answers: %d", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeListener = %v", err)
	}
}

func TestServeStaleSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "vigil.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // leaves a socket file nobody listens on, as after a crash

	srv := api.NewServer(apitest.NewFake(), nil)
	ln2, err := api.Listen(sock)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln2) }()
	if status, _ := do(t, unixClient(sock), "GET", "/v1/version", ""); status != 200 {
		t.Errorf("GET /v1/version = %d", status)
	}
	cancel()
	<-done
}

func TestServeRefusesOtherListeners(t *testing.T) {
	dir := t.TempDir()
	// A regular file is never removed.
	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := api.Listen(file)
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen on a regular file = %v, want 'is not a socket'", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("regular file was removed: %v", err)
	}

	// A listener that is not vigild (closes connections at once) is reported with its pid.
	other := filepath.Join(dir, "other.sock")
	ln, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = api.Listen(other)
	want := fmt.Sprintf("another process (pid %d) is listening on %s", os.Getpid(), other)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Listen on a foreign socket = %v, want %q", err, want)
	}
}

// TestReloadAnswerCountsManyUnchanged: a reload that leaves more than MaxListedUnchanged
// tunnels unchanged answers with their count and without their names, unless asked for all.
func TestReloadAnswerCountsManyUnchanged(t *testing.T) {
	fake := apitest.NewFake()
	fake.ReloadRes = api.ReloadResult{}
	for i := range api.MaxListedUnchanged + 500 {
		fake.ReloadRes.Unchanged = append(fake.ReloadRes.Unchanged, fmt.Sprint("t", i))
	}
	fake.ReloadRes.Changed = []string{"x"}
	hc := unixClient(apitest.Serve(t, fake))
	status, body := do(t, hc, "POST", "/v1/reload", "")
	want := fmt.Sprintf(`"unchanged":[],"unchanged_count":%d`, api.MaxListedUnchanged+500)
	if status != 200 || !strings.Contains(body, want) || !strings.Contains(body, `"changed":["x"]`) {
		t.Errorf("reload answer %d %.200s, want %s", status, body, want)
	}
	status, body = do(t, hc, "POST", "/v1/reload?unchanged=all", "")
	if status != 200 || !strings.Contains(body, `"t1499"`) {
		t.Errorf("reload?unchanged=all: %d, the names are not all there", status)
	}
}
