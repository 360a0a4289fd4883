package vigiltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vigil-ipsec/vigil/api/client"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// This file runs vigild without a testing.TB, for programs such as the benchmarks under
// bench/. A Vigil made by Launch has no test attached: use Relaunch instead of Restart (which
// reports failures through the test), and Stop (or closing its namespace) to end it. Kill9,
// Stop, Log, WaitFor, WaitEvent, LastSeq, PID and RSS work on both kinds.

// startupTimeout bounds the wait for a freshly started vigild's control API.
const startupTimeout = 10 * time.Second

// buildVigild builds cmd/vigild into a fresh temporary directory; it is the build that Binary
// and BinaryPath share through buildOnce.
func buildVigild() {
	dir, err := os.MkdirTemp("", "vigild-bin-")
	if err != nil {
		buildErr = err
		return
	}
	binPath = filepath.Join(dir, "vigild")
	out, err := exec.Command("go", "build", "-o", binPath, "github.com/vigil-ipsec/vigil/cmd/vigild").CombinedOutput()
	if err != nil {
		buildErr = fmt.Errorf("building vigild: %v\n%s", err, out)
	}
}

// BinaryPath builds vigild once per process (the same build Binary uses) and returns its
// path. It must run with the working directory inside the Vigil module. The binary lives in a
// temporary directory the caller may remove with RemoveBinary when done.
func BinaryPath() (string, error) {
	buildOnce.Do(buildVigild)
	return binPath, buildErr
}

// RemoveBinary deletes the directory holding the binary built by BinaryPath or Binary, if any.
// Call it only when no vigild of this process will be started again.
func RemoveBinary() error {
	if binPath == "" {
		return nil
	}
	return os.RemoveAll(filepath.Dir(binPath))
}

// LaunchOptions tunes Launch; the zero value builds vigild with BinaryPath and logs at debug
// level, like Start.
type LaunchOptions struct {
	// Binary is the vigild to run; empty means BinaryPath().
	Binary string
	// LogLevel is passed as --log-level; empty means "debug".
	LogLevel string
}

// Launch writes conf to dir/vigil.toml and runs vigild in ns with it, as Start does but without
// a test: failures are returned, and nothing is cleaned up automatically. dir must exist and
// stay until the daemon is stopped; name picks the TUN device ("vigil-"+name). It returns once
// the control API answers; on error the daemon is not left running.
func Launch(ns *netns.NS, dir, name string, conf Conf, opts LaunchOptions) (*Vigil, error) {
	if ns == nil {
		return nil, errors.New("vigiltest: nil namespace")
	}
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = BinaryPath(); err != nil {
			return nil, err
		}
	}
	level := opts.LogLevel
	if level == "" {
		level = "debug"
	}
	v := &Vigil{NS: ns, Dir: dir, Socket: filepath.Join(dir, "vigil.sock"), Config: filepath.Join(dir, "vigil.toml"), logPath: filepath.Join(dir, "vigild.log")}
	if err := os.WriteFile(v.Config, []byte(conf.TOML(v.Socket, "vigil-"+name)), 0o600); err != nil {
		return nil, fmt.Errorf("vigiltest: %w", err)
	}
	v.args = []string{bin, "--config", v.Config, "--log-level", level}
	v.Client = client.New(v.Socket)
	if err := v.launch(); err != nil {
		return nil, err
	}
	return v, nil
}

// Relaunch starts the daemon again with the same configuration (after Kill9 or Stop) and
// returns once its control API answers. It is Restart without a test.
func (v *Vigil) Relaunch() error {
	if v.cmd != nil {
		return fmt.Errorf("vigiltest: vigild in %s is still running", v.NS.Name)
	}
	return v.launch()
}

// launch starts the process and waits for the control API; on failure the process is killed
// and the error carries the daemon's log.
func (v *Vigil) launch() error {
	logf, err := os.OpenFile(v.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("vigiltest: %w", err)
	}
	cmd := v.NS.Command(v.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = v.NS.StartCmd(cmd)
	logf.Close()
	if err != nil {
		return fmt.Errorf("vigiltest: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	exited := v.NS.Exited(cmd)
	for {
		if _, err := v.Client.Status(ctx); err == nil {
			v.cmd = cmd
			return nil
		}
		select {
		case <-exited:
			v.NS.Stop(cmd)
			return fmt.Errorf("vigiltest: vigild in %s exited at start:\n%s", v.NS.Name, v.Log())
		case <-ctx.Done():
			v.NS.Stop(cmd)
			return fmt.Errorf("vigiltest: vigild in %s did not answer on %s within %v:\n%s", v.NS.Name, v.Socket, startupTimeout, v.Log())
		case <-time.After(20 * time.Millisecond): // polling the socket: the daemon has no other readiness signal
		}
	}
}
