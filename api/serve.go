package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Timeouts of the unix-socket server.
const (
	probeTimeout    = 2 * time.Second  // asking an existing socket who it is
	readHdrTimeout  = 10 * time.Second // slow clients
	shutdownTimeout = 5 * time.Second  // draining requests on shutdown
)

// Serve listens on socketPath (see Listen) and serves the API until ctx is done, then shuts down
// (ending event streams), removes the socket and returns nil. Any other end is an error.
func (s *Server) Serve(ctx context.Context, socketPath string) error {
	ln, err := Listen(socketPath)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// Listen creates the unix socket for the API: it creates the parent directory (mode 0755) if
// needed, refuses if another daemon answers on socketPath, removes a stale socket file, and binds
// a socket that only its owner (root) may connect to (mode 0600). The socket appears at
// socketPath only once its mode is set. It needs no Server, so a daemon can claim its socket
// before it builds the backend the Server will serve (see ServeListener).
func Listen(socketPath string) (net.Listener, error) {
	if socketPath == "" {
		return nil, errors.New("control socket path is empty")
	}
	if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
		return nil, fmt.Errorf("creating control socket directory: %w", err)
	}
	if err := clearSocket(socketPath); err != nil {
		return nil, err
	}
	// Bind under a temporary name, restrict it, then rename into place, so there is no moment
	// when the socket exists with the umask's mode.
	tmp := filepath.Join(filepath.Dir(socketPath), "."+filepath.Base(socketPath)+".tmp"+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on control socket %s: %w", socketPath, err)
	}
	ln.SetUnlinkOnClose(false) // we remove socketPath ourselves, tmp no longer exists
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("setting mode of control socket: %w", err)
	}
	if err := os.Rename(tmp, socketPath); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("placing control socket at %s: %w", socketPath, err)
	}
	fi, err := os.Lstat(socketPath)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	return &socketListener{UnixListener: ln, path: socketPath, fi: fi}, nil
}

// ServeListener serves the API on ln (from Listen) until ctx is done; see Serve. Only processes
// of the users the peer policy allows (root and vigild's own user unless SetPeerPolicy says
// otherwise) are served; others get 403.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	// Connections that have not sent a request yet: http.Server.Shutdown would wait for them
	// (up to shutdownTimeout), so the shutdown closes them itself: those accepted before it
	// began, and those still in the listen backlog that the server accepts after it began
	// (an HTTP client that dialled a spare connection leaves one there).
	var mu sync.Mutex
	fresh := map[net.Conn]struct{}{}
	closing := false
	srv := &http.Server{
		ConnState: func(c net.Conn, st http.ConnState) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case st == http.StateNew && closing:
				c.Close()
			case st == http.StateNew:
				fresh[c] = struct{}{}
			default:
				delete(fresh, c)
			}
		},
		// Every request is checked against the peer policy (SO_PEERCRED), whatever the
		// socket file's mode.
		Handler:           s.guard(s),
		ConnContext:       withPeerCred,
		ReadHeaderTimeout: readHdrTimeout,
		// Requests, event streams in particular, end when ctx does.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("control API listening", "socket", ln.Addr().String())

	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(sctx) }()
		mu.Lock()
		closing = true
		for c := range fresh {
			c.Close()
		}
		clear(fresh)
		mu.Unlock()
		if err := <-shut; err != nil {
			srv.Close()
		}
		<-errc
		return nil
	case err := <-errc:
		ln.Close()
		return fmt.Errorf("control API on %s: %w", ln.Addr(), err)
	}
}

// socketListener removes its socket file on Close if it is still the one it created.
type socketListener struct {
	*net.UnixListener
	path string
	fi   fs.FileInfo
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
		os.Remove(l.path)
	}
	return err
}

// clearSocket makes socketPath free: nothing there, or a stale socket nobody listens on (removed).
// A live listener or a non-socket file is an error.
func clearSocket(socketPath string) error {
	fi, err := os.Lstat(socketPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it", socketPath)
	}
	conn, err := net.DialTimeout("unix", socketPath, probeTimeout)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			if err := os.Remove(socketPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing stale control socket: %w", err)
			}
			return nil
		}
		return fmt.Errorf("checking existing control socket %s: %w", socketPath, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	if pid, ok := probeVigild(conn); ok {
		return fmt.Errorf("another vigild is running on %s (pid %d)", socketPath, pid)
	}
	if pid := peerPID(conn); pid > 0 {
		return fmt.Errorf("another process (pid %d) is listening on %s; refusing to replace it", pid, socketPath)
	}
	return fmt.Errorf("another process is listening on %s; refusing to replace it", socketPath)
}

// probeVigild asks the listener on conn for GET /v1/status and returns its PID if it answers.
func probeVigild(conn net.Conn) (int, bool) {
	used := false
	tr := &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			if used {
				return nil, errors.New("probe connection already used")
			}
			used = true
			return nopCloseConn{conn}, nil
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: probeTimeout}
	resp, err := hc.Get("http://vigild/" + Version + "/status")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var st Status
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil || st.PID <= 0 {
		return 0, false
	}
	return st.PID, true
}

// nopCloseConn leaves closing to the caller of probeVigild.
type nopCloseConn struct{ net.Conn }

func (nopCloseConn) Close() error { return nil }

// peerPID returns the PID of the process listening on the other end of a unix connection.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	var pid int
	_ = raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}
