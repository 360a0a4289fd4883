package apitest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/vigil-ipsec/vigil/api"
)

// Serve serves b with api.NewServer on a unix socket in t.TempDir and returns the socket path.
// The server is listening when Serve returns; it is shut down (and checked to have stopped
// cleanly) when the test ends.
func Serve(t testing.TB, b api.Backend) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vigil.sock")
	srv := api.NewServer(b, slog.New(slog.DiscardHandler))
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatalf("listen on %s: %v", sock, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server on %s: %v", sock, err)
		}
	})
	return sock
}
