package client_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/apitest"
	"github.com/vigil-ipsec/vigil/api/client"
)

func newClient(t *testing.T) (*client.Client, *apitest.Fake) {
	t.Helper()
	fake := apitest.NewFake()
	c := client.New(apitest.Serve(t, fake))
	t.Cleanup(c.Close)
	return c, fake
}

func TestMethods(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil || st.PID != 4242 || time.Duration(st.Uptime) != 90*time.Minute || !st.Started.Equal(apitest.Epoch.Add(-90*time.Minute)) {
		t.Errorf("Status = %+v, %v", st, err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.API != api.Version || v.Daemon != "0.1.0" {
		t.Errorf("Version = %+v, %v", v, err)
	}
	ts, err := c.Tunnels(ctx)
	if err != nil || len(ts) != 2 || ts[1].Name != "site-b" {
		t.Errorf("Tunnels = %+v, %v", ts, err)
	}
	tun, err := c.Tunnel(ctx, "site-a")
	if err != nil || tun.RemoteID != "gw-b.example.net" || len(tun.RemoteTS) != 2 {
		t.Errorf("Tunnel = %+v, %v", tun, err)
	}
	if tun, err := c.TunnelUp(ctx, "site-b"); err != nil || tun.State != api.StateConnecting {
		t.Errorf("TunnelUp = %+v, %v", tun, err)
	}
	if tun, err := c.TunnelDown(ctx, "site-b"); err != nil || tun.State != api.StateDown {
		t.Errorf("TunnelDown = %+v, %v", tun, err)
	}
	sas, err := c.SAs(ctx, "site-a")
	if err != nil || len(sas) != 1 || len(sas[0].Children) != 2 || sas[0].Children[1].SPIOut != 0x4321 {
		t.Errorf("SAs = %+v, %v", sas, err)
	}
	child, err := c.ChildSA(ctx, 0xc1000001)
	if err != nil || child.ID != 12 || child.BytesIn != 1536000 || !child.LastOut.Equal(apitest.Epoch.Add(-250*time.Millisecond)) {
		t.Errorf("ChildSA = %+v, %v", child, err)
	}
	if err := c.RekeyChildSA(ctx, 0x0badf00d); err != nil {
		t.Errorf("RekeyChildSA = %v", err)
	}
	if err := c.RekeyIKESA(ctx, "site-a"); err != nil {
		t.Errorf("RekeyIKESA = %v", err)
	}
	if got, want := fake.CallLog(), []string{"up site-b", "down site-b", "rekey-child 0x0badf00d", "rekey-ike site-a"}; !slices.Equal(got, want) {
		t.Errorf("calls after rekeys = %q, want %q", got, want)
	}
	del, err := c.DeleteChildSA(ctx, 0x0badf00d, false)
	if err != nil || del != (api.DeleteResult{Tunnel: "site-a", SPIIn: 0xc1000001, SPIOut: 0x0badf00d, Notified: false, Action: "restart"}) {
		t.Errorf("DeleteChildSA = %+v, %v", del, err)
	}
	evs, err := c.Events(ctx, "site-a", 2)
	if err != nil || len(evs) != 2 || evs[0].Seq != 3 || evs[1].OutageMS != 264.5 {
		t.Errorf("Events = %+v, %v", evs, err)
	}
	rr, err := c.Reload(ctx)
	if err != nil || len(rr.Added) != 1 || rr.Removed == nil {
		t.Errorf("Reload = %+v, %v", rr, err)
	}
	if err := c.SetLogLevel(ctx, "warn"); err != nil || fake.Status().LogLevel != "warn" {
		t.Errorf("SetLogLevel = %v, level now %q", err, fake.Status().LogLevel)
	}
	if c.Socket() == "" {
		t.Error("Socket() is empty")
	}
}

func TestAPIErrors(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		is     error
		msg    string
	}{
		{"not found", func() error { _, err := c.Tunnel(ctx, "nope"); return err }, 404, api.ErrNotFound, `tunnel "nope": not found`},
		{"conflict", func() error { _, err := c.TunnelUp(ctx, "site-a"); return err }, 409, api.ErrConflict, `tunnel "site-a" is already up: conflict`},
		{"bad request", func() error { return c.SetLogLevel(ctx, "chatty") }, 400, api.ErrBadRequest, `unknown log level "chatty"`},
		{"spi zero", func() error { _, err := c.ChildSA(ctx, 0); return err }, 400, api.ErrBadRequest, `reserved`},
		{"rekey unknown spi", func() error { return c.RekeyChildSA(ctx, 0xdeadbeef) }, 404, api.ErrNotFound, `no Child SA with spi 0xdeadbeef`},
		{"rekey spi zero", func() error { return c.RekeyChildSA(ctx, 0) }, 400, api.ErrBadRequest, `reserved`},
		{"rekey-ike unknown tunnel", func() error { return c.RekeyIKESA(ctx, "nope") }, 404, api.ErrNotFound, `tunnel "nope": not found`},
		{"rekey-ike no IKE SA", func() error { return c.RekeyIKESA(ctx, "site-b") }, 409, api.ErrConflict, `tunnel "site-b" has no established IKE SA`},
		{"rekey-ike escaped name", func() error { return c.RekeyIKESA(ctx, "a/b c") }, 404, api.ErrNotFound, `tunnel "a/b c": not found`},
		{"escaped name", func() error { _, err := c.Tunnel(ctx, "a/b c"); return err }, 404, api.ErrNotFound, `tunnel "a/b c": not found`},
	}
	for _, tt := range tests {
		err := tt.call()
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Status != tt.status || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %#v, want *api.Error %d containing %q", tt.name, err, tt.status, tt.msg)
		}
	}
}

// TestRekeyConflict checks that a Child SA that is not installed cannot be rekeyed, and that
// nothing reaches the backend's call log then.
func TestRekeyConflict(t *testing.T) {
	fake := apitest.NewFake()
	fake.IKESAList[0].Children[0].State = "REKEYING"
	c := client.New(apitest.Serve(t, fake))
	t.Cleanup(c.Close)
	err := c.RekeyChildSA(context.Background(), 0xc1000001)
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "Child SA 0xc1000001 is REKEYING, not installed") {
		t.Errorf("RekeyChildSA of a rekeying SA = %v, want a conflict", err)
	}
	if calls := fake.CallLog(); len(calls) != 0 {
		t.Errorf("calls = %q, want none", calls)
	}
}

// TestRekeyNoContent checks that the rekey methods also accept 204 No Content (an empty body).
func TestRekeyNoContent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nc.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	paths := make(chan string, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := client.New(sock)
	t.Cleanup(c.Close)
	if err := c.RekeyChildSA(context.Background(), 0x1234); err != nil {
		t.Errorf("RekeyChildSA with 204 = %v", err)
	}
	if err := c.RekeyIKESA(context.Background(), "site a"); err != nil {
		t.Errorf("RekeyIKESA with 204 = %v", err)
	}
	for _, want := range []string{"POST /v1/sas/child/0x00001234/rekey", "POST /v1/tunnels/site a/rekey-ike"} {
		if got := <-paths; got != want {
			t.Errorf("request %q, want %q", got, want)
		}
	}
}

func TestDaemonUnreachable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	_, err := client.New(missing).Status(context.Background())
	var de *client.DaemonUnreachableError
	if !errors.As(err, &de) || de.Socket != missing {
		t.Fatalf("error %#v, want *DaemonUnreachableError", err)
	}
	want := "cannot reach vigild at " + missing + ": is the daemon running? (connect: no such file or directory)"
	if err.Error() != want {
		t.Errorf("message\n  %q\nwant\n  %q", err.Error(), want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) should hold through Unwrap")
	}

	// A socket file with no listener (daemon crashed).
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = client.New(stale).Tunnels(context.Background())
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("stale socket: %v, want unreachable with connection refused", err)
	}

	// The caller's own cancellation is not reported as an unreachable daemon.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.New(missing).Status(ctx); !errors.Is(err, context.Canceled) || errors.As(err, &de) {
		t.Errorf("canceled: %v, want context.Canceled", err)
	}
}

// TestNonJSONError covers an error body that is not the API's JSON (e.g. a proxy in between).
func TestNonJSONError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "plain.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream broke", http.StatusBadGateway)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, err = client.New(sock).Status(context.Background())
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || err.Error() != "vigild answered 502 Bad Gateway: upstream broke" {
		t.Errorf("error %#v (%v)", err, err)
	}
}

func TestFollowEvents(t *testing.T) {
	c, fake := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got := make(chan api.Event, 16)
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.FollowEvents(fctx, "", 3, func(ev api.Event) error {
			got <- ev
			return nil
		})
	}()
	for _, want := range []uint64{4, 5} { // backlog
		if ev := <-got; ev.Seq != want {
			t.Fatalf("backlog seq %d, want %d", ev.Seq, want)
		}
	}
	if err := fake.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pub := fake.Publish(api.Event{Time: apitest.Epoch, Tunnel: "site-b", Kind: "up", SPI: 0x1234})
	if ev := <-got; ev.Seq != pub.Seq || ev.SPI != 0x1234 || !ev.Time.Equal(apitest.Epoch) {
		t.Fatalf("live event %+v, want %+v", ev, pub)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("FollowEvents after cancel = %v, want context.Canceled", err)
	}
}

func TestFollowEventsCallbackError(t *testing.T) {
	c, _ := newClient(t)
	errStop := errors.New("enough")
	n := 0
	err := c.FollowEvents(context.Background(), "site-a", 0, func(api.Event) error {
		n++
		if n == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || n != 2 {
		t.Errorf("FollowEvents = %v after %d events, want the callback's error after 2", err, n)
	}
}

func TestFollowEventsStreamEnded(t *testing.T) {
	fake := apitest.NewFake()
	sock := filepath.Join(t.TempDir(), "v.sock")
	srv := api.NewServer(fake, nil)
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	sctx, shutdown := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(sctx, ln) }()

	c := client.New(sock)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.FollowEvents(ctx, "", 5, func(api.Event) error { return nil })
	}()
	if err := fake.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	shutdown()
	if err := <-done; !errors.Is(err, client.ErrStreamEnded) {
		t.Errorf("FollowEvents after daemon shutdown = %v, want ErrStreamEnded", err)
	}
	<-served
	if _, err := os.Stat(sock); err == nil {
		t.Error("socket left behind")
	}
}

func TestFollowEventsUnreachable(t *testing.T) {
	err := client.New(filepath.Join(t.TempDir(), "none.sock")).FollowEvents(context.Background(), "", 0, func(api.Event) error { return nil })
	var de *client.DaemonUnreachableError
	if !errors.As(err, &de) {
		t.Errorf("FollowEvents without daemon = %v, want *DaemonUnreachableError", err)
	}
}

// TestChildSAInTunnel: an SPI that names Child SAs of two tunnels (peers choose the outbound
// SPIs) is a conflict; the ...In methods send the tunnel that picks one.
func TestChildSAInTunnel(t *testing.T) {
	fake := apitest.NewFake()
	fake.IKESAList = append(fake.IKESAList, api.IKESA{ID: 8, Tunnel: "site-b", State: "ESTABLISHED",
		Children: []api.ChildSA{{ID: 20, Tunnel: "site-b", IKESA: 8, SPIIn: 0xc2000001, SPIOut: 0x0badf00d, State: "INSTALLED"}}})
	c := client.New(apitest.Serve(t, fake))
	t.Cleanup(c.Close)
	ctx := context.Background()

	if _, err := c.ChildSA(ctx, 0x0badf00d); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ChildSA of a shared SPI = %v, want an ambiguity conflict", err)
	}
	if err := c.RekeyChildSA(ctx, 0x0badf00d); !errors.Is(err, api.ErrConflict) {
		t.Errorf("RekeyChildSA of a shared SPI = %v, want a conflict", err)
	}
	if ch, err := c.ChildSAIn(ctx, "site-b", 0x0badf00d); err != nil || ch.ID != 20 {
		t.Errorf("ChildSAIn(site-b) = %+v, %v", ch, err)
	}
	if _, err := c.ChildSAIn(ctx, "nope", 0x0badf00d); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("ChildSAIn(unknown tunnel) = %v, want not found", err)
	}
	if err := c.RekeyChildSAIn(ctx, "site-a", 0x0badf00d); err != nil {
		t.Errorf("RekeyChildSAIn(site-a) = %v", err)
	}
	del, err := c.DeleteChildSAIn(ctx, "site-b", 0x0badf00d, true)
	if err != nil || del.Tunnel != "site-b" || del.SPIIn != 0xc2000001 {
		t.Errorf("DeleteChildSAIn(site-b) = %+v, %v", del, err)
	}
	// Now the SPI names one Child SA again.
	if ch, err := c.ChildSA(ctx, 0x0badf00d); err != nil || ch.ID != 12 {
		t.Errorf("ChildSA after the delete = %+v, %v", ch, err)
	}
}
