package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
)

// ErrStreamEnded is returned by FollowEvents when the daemon closes the event stream (for example
// because it is shutting down).
var ErrStreamEnded = errors.New("vigild closed the event stream")

// DaemonUnreachableError means the request never got an answer from vigild: the socket is missing,
// nobody listens on it, permission was denied, or the daemon did not answer in time.
type DaemonUnreachableError struct {
	Socket string
	Err    error
}

// Error explains the failure with a hint at the likely cause.
func (e *DaemonUnreachableError) Error() string {
	switch {
	case errors.Is(e.Err, fs.ErrPermission):
		return fmt.Sprintf("cannot reach vigild at %s: permission denied (the control socket is root-only; try sudo)", e.Socket)
	case errors.Is(e.Err, context.DeadlineExceeded):
		return fmt.Sprintf("cannot reach vigild at %s: no answer in time (is the daemon hung?)", e.Socket)
	}
	return fmt.Sprintf("cannot reach vigild at %s: is the daemon running? (%s)", e.Socket, cause(e.Err))
}

// Unwrap returns the underlying transport error.
func (e *DaemonUnreachableError) Unwrap() error { return e.Err }

// cause strips the HTTP client's URL wrapping, keeping the socket-level reason such as
// "connect: no such file or directory".
func cause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
