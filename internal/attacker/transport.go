package attacker

import (
	"errors"
	"net"
	"os"
	"time"
)

// ErrTimeout is returned when no matching answer arrived in time.
var ErrTimeout = errors.New("attacker: no answer")

// Transport carries raw IKE messages to and from one responder.
type Transport interface {
	// Send transmits one IKE message.
	Send(msg []byte) error
	// Recv returns the next message received, or ErrTimeout after d.
	Recv(d time.Duration) ([]byte, error)
}

// UDP is a Transport over a connected UDP socket (opened by the caller, typically inside a
// network namespace).
type UDP struct{ Conn *net.UDPConn }

// Send implements Transport.
func (u UDP) Send(msg []byte) error { _, err := u.Conn.Write(msg); return err }

// Recv implements Transport.
func (u UDP) Recv(d time.Duration) ([]byte, error) {
	buf := make([]byte, 65536)
	u.Conn.SetReadDeadline(time.Now().Add(d))
	n, err := u.Conn.Read(buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, ErrTimeout
		}
		return nil, err
	}
	return buf[:n], nil
}

// Chan is an in-memory Transport: Send calls Out, Recv reads In.
type Chan struct {
	Out func(msg []byte)
	In  chan []byte
}

// Send implements Transport.
func (c Chan) Send(msg []byte) error { c.Out(append([]byte(nil), msg...)); return nil }

// Recv implements Transport.
func (c Chan) Recv(d time.Duration) ([]byte, error) {
	select {
	case m := <-c.In:
		return m, nil
	case <-time.After(d):
		return nil, ErrTimeout
	}
}
