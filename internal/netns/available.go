package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
)

var (
	availOnce sync.Once
	availErr  error
)

// Available reports why network namespace tests cannot run here (not root,
// no iproute2, "ip netns add" failing), or nil if they can. The probe runs
// once per process; tests use it as
//
//	if err := netns.Available(); err != nil { t.Skip(err) }
func Available() error {
	availOnce.Do(func() { availErr = probe() })
	return availErr
}

func probe() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("netns: iproute2 missing: %w", err)
	}
	ns, err := New("vgsw-probe-" + RandHex(4))
	if err != nil {
		return fmt.Errorf("netns: ip netns unusable: %w", err)
	}
	return ns.Close()
}

// randUint16 returns a random 16-bit value.
func randUint16() uint16 {
	var b [2]byte
	rand.Read(b[:])
	return uint16(b[0])<<8 | uint16(b[1])
}

// RandHex returns n random hex digits (n rounded up to even), for unique
// namespace names.
func RandHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b) // never fails (crypto/rand panics rather than returning an error)
	return hex.EncodeToString(b)[:n]
}
