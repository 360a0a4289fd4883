package tunudp

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// netnsHandle remembers the network namespace a Dataplane was opened in.
type netnsHandle struct {
	f *os.File
}

func currentNetns() (*netnsHandle, error) {
	f, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("tunudp: open own network namespace: %w", err)
	}
	return &netnsHandle{f: f}, nil
}

// do runs f on a fresh OS thread switched into the namespace. The thread is never unlocked, so
// the runtime discards it when the goroutine ends and no other goroutine runs in a namespace
// it did not choose.
func (n *netnsHandle) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(n.f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("tunudp: setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

func (n *netnsHandle) close() error { return n.f.Close() }
