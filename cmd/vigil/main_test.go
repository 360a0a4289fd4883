package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/apitest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testdata is absolute so that tests may change directory.
var testdata = must(filepath.Abs("testdata"))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// cli runs vigil in-process with a fixed clock (apitest.Epoch), UTC and VIGIL_SOCKET=sock.
func cli(ctx context.Context, sock string, stdout, stderr io.Writer, args ...string) int {
	a := &app{
		stdout: stdout, stderr: stderr,
		getenv: func(k string) string {
			if k == socketEnv {
				return sock
			}
			return ""
		},
		now: func() time.Time { return apitest.Epoch },
		loc: time.UTC,
	}
	return a.run(ctx, args)
}

// transcript is what a golden file holds: the command, its exit status and its output, with the
// temporary socket path replaced by SOCKET.
func transcript(sock string, args []string, code int, stdout, stderr string) string {
	s := fmt.Sprintf("$ vigil %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, stdout, stderr)
	if sock != "" {
		s = strings.ReplaceAll(s, sock, "SOCKET")
	}
	return s
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		noDaemon bool // point VIGIL_SOCKET at a path nobody listens on
	}{
		{"status", []string{"status"}, 0, false},
		{"status_json", []string{"status", "-o", "json"}, 0, false},
		{"tunnel_list", []string{"tunnel", "list"}, 0, false},
		{"tunnel_list_json", []string{"tunnel", "list", "-o", "json"}, 0, false},
		{"tunnel_show", []string{"tunnel", "show", "site-a"}, 0, false},
		{"tunnel_show_missing", []string{"tunnel", "show", "nope"}, 1, false},
		{"tunnel_up", []string{"tunnel", "up", "site-b"}, 0, false},
		{"tunnel_up_conflict", []string{"tunnel", "up", "site-a"}, 1, false},
		{"tunnel_down", []string{"tunnel", "down", "site-a"}, 0, false},
		{"sa_list", []string{"sa", "list"}, 0, false},
		{"sa_list_json", []string{"sa", "list", "-o", "json"}, 0, false},
		{"sa_list_empty", []string{"sa", "list", "--tunnel", "site-b"}, 0, false},
		{"sa_list_unknown_tunnel", []string{"sa", "list", "--tunnel", "nope"}, 1, false},
		{"sa_show", []string{"sa", "show", "--spi", "0x0badf00d"}, 0, false},
		{"sa_show_not_found", []string{"sa", "show", "--spi", "0xdeadbeef"}, 1, false},
		{"sa_delete", []string{"sa", "delete", "--spi", "0xC1000001", "--no-notify"}, 0, false},
		{"sa_delete_json", []string{"sa", "delete", "--spi", "3238002690", "-o", "json"}, 0, false},
		{"sa_delete_bad_spi", []string{"sa", "delete", "--spi", "0xc10000011"}, 2, false},
		{"sa_delete_zero_spi", []string{"sa", "delete", "--spi", "0x0"}, 2, false},
		{"sa_delete_no_spi", []string{"sa", "delete"}, 2, false},
		{"sa_rekey", []string{"sa", "rekey", "--spi", "0x0BADF00D"}, 0, false},
		{"sa_rekey_not_found", []string{"sa", "rekey", "--spi", "0xdeadbeef"}, 1, false},
		{"sa_rekey_no_spi", []string{"sa", "rekey"}, 2, false},
		{"tunnel_rekey", []string{"tunnel", "rekey", "site-a"}, 0, false},
		{"tunnel_rekey_ike", []string{"tunnel", "rekey", "site-a", "--ike"}, 0, false},
		{"tunnel_rekey_ike_conflict", []string{"tunnel", "rekey", "--ike", "site-b"}, 1, false},
		{"tunnel_rekey_no_child", []string{"tunnel", "rekey", "site-b"}, 1, false},
		{"tunnel_rekey_missing", []string{"tunnel", "rekey", "nope"}, 1, false},
		{"tunnel_rekey_no_name", []string{"tunnel", "rekey", "--ike"}, 2, false},
		{"events", []string{"events"}, 0, false},
		{"events_tunnel", []string{"events", "--tunnel", "site-a", "--since", "2"}, 0, false},
		{"events_json", []string{"events", "-o", "json", "--since", "3"}, 0, false},
		{"events_none", []string{"events", "--since", "100"}, 0, false},
		{"reload", []string{"reload"}, 0, false},
		{"log_level", []string{"log-level", "debug"}, 0, false},
		{"log_level_bad", []string{"log-level", "chatty"}, 1, false},
		{"usage_unknown_command", []string{"stauts"}, 2, false},
		{"usage_unknown_subcommand", []string{"tunnel", "bogus"}, 2, false},
		{"usage_unknown_flag", []string{"status", "--verbose"}, 2, false},
		{"usage_missing_arg", []string{"tunnel", "show"}, 2, false},
		{"usage_extra_arg", []string{"status", "now"}, 2, false},
		{"usage_bad_output", []string{"sa", "list", "-o", "yaml"}, 2, false},
		{"daemon_not_running", []string{"status"}, 1, true},
		{"daemon_not_running_sa", []string{"sa", "list"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sock string
			if tt.noDaemon {
				sock = filepath.Join(t.TempDir(), "vigil.sock")
			} else {
				sock = apitest.Serve(t, apitest.NewFake())
			}
			var stdout, stderr bytes.Buffer
			code := cli(context.Background(), sock, &stdout, &stderr, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			checkGolden(t, tt.name, transcript(sock, tt.args, code, stdout.String(), stderr.String()))
		})
	}
}

func TestSocketFlagOverridesEnv(t *testing.T) {
	sock := apitest.Serve(t, apitest.NewFake())
	var stdout, stderr bytes.Buffer
	// VIGIL_SOCKET points nowhere; --socket wins.
	code := cli(context.Background(), filepath.Join(t.TempDir(), "none.sock"), &stdout, &stderr, "--socket", sock, "status")
	if code != 0 || !strings.Contains(stdout.String(), "pid 4242") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestMutationsReachDaemon(t *testing.T) {
	fake := apitest.NewFake()
	sock := apitest.Serve(t, fake)
	for _, args := range [][]string{
		{"tunnel", "up", "site-b"},
		{"sa", "rekey", "--spi", "3238002689"},
		{"tunnel", "rekey", "site-a"},
		{"tunnel", "rekey", "site-a", "--ike"},
		{"sa", "delete", "--spi", "0x0badf00d", "--no-notify"},
		{"sa", "delete", "--spi", "0xc1000002"},
		{"log-level", "warn"},
		{"reload"},
	} {
		if code := cli(context.Background(), sock, io.Discard, io.Discard, args...); code != 0 {
			t.Fatalf("vigil %v: exit %d", args, code)
		}
	}
	want := "[up site-b rekey-child 0xc1000001 rekey-child 0xc1000002 rekey-ike site-a delete 0x0badf00d notify=false delete 0xc1000002 notify=true log-level warn reload]"
	if got := fmt.Sprint(fake.CallLog()); got != want {
		t.Errorf("daemon saw %s, want %s", got, want)
	}
}

func TestVersion(t *testing.T) {
	sock := apitest.Serve(t, apitest.NewFake())
	var stdout, stderr bytes.Buffer
	if code := cli(context.Background(), sock, &stdout, &stderr, "version"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "vigil ") || !strings.Contains(out, "vigild  0.1.0 (API v1, go") {
		t.Errorf("version output:\n%s", out)
	}
	// Without a daemon the CLI's version is still printed, and the exit status is 0.
	stdout.Reset()
	sock = filepath.Join(t.TempDir(), "none.sock")
	if code := cli(context.Background(), sock, &stdout, &stderr, "version"); code != 0 {
		t.Fatalf("exit %d without daemon", code)
	}
	if !strings.Contains(stdout.String(), "vigild  unknown: cannot reach vigild at "+sock) {
		t.Errorf("version output without daemon:\n%s", stdout.String())
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var stdout, stderr bytes.Buffer
		if code := cli(context.Background(), "", &stdout, &stderr, "completion", shell); code != 0 {
			t.Errorf("completion %s: exit %d: %s", shell, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "vigil") || stdout.Len() < 500 {
			t.Errorf("completion %s: output too short (%d bytes)", shell, stdout.Len())
		}
	}
	if code := cli(context.Background(), "", io.Discard, io.Discard, "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {}, {"tunnel"}, {"sa", "delete", "--help"}, {"sa", "rekey", "--help"}, {"tunnel", "rekey", "--help"}} {
		var stdout bytes.Buffer
		if code := cli(context.Background(), "", &stdout, io.Discard, args...); code != 0 || !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("vigil %v: exit %d, output %q", args, code, stdout.String())
		}
	}
}

// TestEventsFollow streams the backlog, then a live event, then stops on interrupt (exit 0).
func TestEventsFollow(t *testing.T) {
	for _, tt := range []struct {
		name        string
		args        []string
		lastBacklog string // text of the last backlog line
	}{
		{"events_follow", []string{"events", "--follow", "--since", "2"}, "no answer to 3 DPD probes"},
		{"events_follow_json", []string{"events", "-f", "-o", "json", "--tunnel", "site-a", "--since", "3"}, "Child SA 13 installed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := apitest.NewFake()
			sock := apitest.Serve(t, fake)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			runCtx, interrupt := context.WithCancel(ctx)

			pr, pw := io.Pipe()
			var stderr bytes.Buffer
			done := make(chan int, 1)
			go func() {
				code := cli(runCtx, sock, pw, &stderr, tt.args...)
				pw.Close()
				done <- code
			}()
			lines := bufio.NewScanner(pr)
			var out strings.Builder
			readLine := func() string {
				t.Helper()
				if !lines.Scan() {
					t.Fatalf("output ended early; so far:\n%s", out.String())
				}
				out.WriteString(lines.Text() + "\n")
				return lines.Text()
			}
			for !strings.Contains(readLine(), tt.lastBacklog) {
			}
			if err := fake.WaitSubscribers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			fake.Publish(api.Event{Time: apitest.Epoch.Add(1500 * time.Millisecond), Tunnel: "site-a", Kind: "rekey",
				Cause: "lifetime", Peer: "198.51.100.2", SPI: 0xc1000003, Message: "Child SA 14 replaces 12"})
			if line := readLine(); !strings.Contains(line, "Child SA 14 replaces 12") {
				t.Fatalf("live event line = %q", line)
			}
			interrupt()
			if rest, _ := io.ReadAll(pr); len(rest) != 0 {
				out.Write(rest)
			}
			code := <-done
			if code != 0 {
				t.Errorf("exit %d after interrupt, want 0 (stderr %q)", code, stderr.String())
			}
			checkGolden(t, tt.name, transcript(sock, tt.args, code, out.String(), stderr.String()))
		})
	}
}

func TestConfigCheck(t *testing.T) {
	t.Chdir(t.TempDir()) // relative file names keep the golden output stable
	good := `[tunnel.site-a]
local_addr = "192.0.2.1"
remote_addr = "198.51.100.2"
psk = "0123456789abcdef"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.2.0.0/16"]

[tunnel.site-b]
local_addr = "192.0.2.1"
remote_addr = "203.0.113.7"
psk = "fedcba9876543210"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.9.0.0/24"]
`
	bad := `[tunnel.site-a]
local_addr = "192.0.2.1"
remote_adr = "198.51.100.2"
psk = "0123456789abcdef"
local_subnets = ["10.1.0.0/33"]
`
	for name, src := range map[string]string{"good.toml": good, "bad.toml": bad} {
		if err := os.WriteFile(name, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"config_check_ok", []string{"config", "check", "good.toml"}, 0},
		{"config_check_bad", []string{"config", "check", "bad.toml"}, 1},
		{"config_check_missing", []string{"config", "check", "missing.toml"}, 1},
		{"config_check_no_file", []string{"config", "check"}, 2},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), "", &stdout, &stderr, tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tt.name, code, tt.code, stdout.String(), stderr.String())
		}
		if tt.name == "config_check_bad" && strings.Count(stderr.String(), "bad.toml:") < 2 {
			t.Errorf("%s: want one bad.toml:LINE line per problem, got:\n%s", tt.name, stderr.String())
		}
		if strings.Contains(stderr.String(), "0123456789abcdef") {
			t.Errorf("%s: the PSK leaked into the output", tt.name)
		}
		checkGolden(t, tt.name, transcript("", tt.args, code, stdout.String(), stderr.String()))
	}
}
