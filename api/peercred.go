package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// PeerPolicy lists the local users allowed on the control socket, checked on every connection
// with SO_PEERCRED, so that the socket file's mode is not the only guard: a process is let in
// if its effective uid is in UIDs or its effective gid in GIDs.
type PeerPolicy struct {
	UIDs []uint32
	GIDs []uint32
}

// DefaultPeerPolicy allows root and the daemon's own effective uid.
func DefaultPeerPolicy() PeerPolicy {
	p := PeerPolicy{UIDs: []uint32{0}}
	if uid := uint32(os.Geteuid()); uid != 0 {
		p.UIDs = append(p.UIDs, uid)
	}
	return p
}

func (p *PeerPolicy) allows(c peerCred) bool {
	return c.err == nil && (slices.Contains(p.UIDs, c.uid) || slices.Contains(p.GIDs, c.gid))
}

// SetPeerPolicy replaces the users allowed on the control socket (NewServer starts with
// DefaultPeerPolicy). It may be called while serving.
func (s *Server) SetPeerPolicy(p PeerPolicy) {
	p.UIDs, p.GIDs = slices.Clone(p.UIDs), slices.Clone(p.GIDs)
	s.peers.Store(&p)
}

// peerCred is the identity of the process at the other end of a connection.
type peerCred struct {
	uid, gid uint32
	pid      int32
	err      error
}

type credKey struct{}

// withPeerCred is the http.Server's ConnContext: it reads the peer's credentials once per
// connection.
func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, credKey{}, connCred(c))
}

// connCred asks the kernel who connected (SO_PEERCRED: the credentials at connect time).
func connCred(c net.Conn) peerCred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peerCred{err: errors.New("not a unix socket connection")}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peerCred{err: err}
	}
	var cred *unix.Ucred
	if cerr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); cerr != nil {
		return peerCred{err: cerr}
	}
	if err != nil {
		return peerCred{err: err}
	}
	return peerCred{uid: cred.Uid, gid: cred.Gid, pid: cred.Pid}
}

// guard refuses requests from processes the peer policy does not allow, with 403.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(credKey{}).(peerCred)
		if !ok {
			c.err = errors.New("no peer credentials")
		}
		if s.peers.Load().allows(c) {
			next.ServeHTTP(w, r)
			return
		}
		var msg string
		if c.err != nil {
			msg = "permission denied: cannot identify the connecting process (" + c.err.Error() + "); only root and the user vigild runs as may use the control API"
			s.lt.Log(s.log, slog.LevelWarn, netip.Addr{}, "api-refused-unknown", "control API: refused a connection whose peer cannot be identified", "err", c.err)
		} else {
			msg = fmt.Sprintf("permission denied: uid %d may not use the vigild control API; only root and the user vigild runs as (uid %d) may: run the command as root (e.g. with sudo)", c.uid, os.Geteuid())
			s.lt.Log(s.log, slog.LevelWarn, netip.Addr{}, "api-refused-uid-"+strconv.FormatUint(uint64(c.uid), 10),
				"control API: refused a request from a process whose user is not allowed", "uid", c.uid, "gid", c.gid, "pid", c.pid,
				"method", r.Method, "path", r.URL.Path)
		}
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusForbidden, Error{Status: http.StatusForbidden, Message: msg})
	})
}
