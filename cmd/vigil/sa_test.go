package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/api/apitest"
)

// TestSASharedSPI: peers choose the outbound SPIs, so one SPI may name Child SAs of two
// tunnels. sa show, rekey and delete then change nothing and say so; --tunnel picks one.
func TestSASharedSPI(t *testing.T) {
	fake := apitest.NewFake()
	fake.IKESAList = append(fake.IKESAList, api.IKESA{ID: 8, Tunnel: "site-b", State: "ESTABLISHED",
		Children: []api.ChildSA{{ID: 20, Tunnel: "site-b", IKESA: 8, SPIIn: 0xc2000001, SPIOut: 0x0badf00d, State: "INSTALLED"}}})
	sock := apitest.Serve(t, fake)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), sock, &stdout, &stderr, args...)
		return code, stdout.String(), stderr.String()
	}
	for _, args := range [][]string{
		{"sa", "show", "--spi", "0x0badf00d"},
		{"sa", "rekey", "--spi", "0x0badf00d"},
		{"sa", "delete", "--spi", "0x0badf00d"},
	} {
		if code, _, stderr := run(args...); code != 1 || !strings.Contains(stderr, "ambiguous") {
			t.Errorf("vigil %s: exit %d, stderr %q; want 1 and the ambiguity", strings.Join(args, " "), code, stderr)
		}
	}
	if len(fake.CallLog()) != 0 {
		t.Fatalf("an ambiguous SPI reached the daemon's SAs: %v", fake.CallLog())
	}
	if code, stdout, _ := run("sa", "show", "--spi", "0x0badf00d", "--tunnel", "site-b"); code != 0 || !strings.Contains(stdout, "site-b") {
		t.Errorf("sa show --tunnel site-b: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := run("sa", "rekey", "--spi", "0x0badf00d", "--tunnel", "site-a"); code != 0 || !strings.Contains(stdout, "of tunnel site-a") {
		t.Errorf("sa rekey --tunnel site-a: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := run("sa", "delete", "--spi", "0x0badf00d", "--tunnel", "site-b", "--no-notify"); code != 0 || !strings.Contains(stdout, "site-b") {
		t.Errorf("sa delete --tunnel site-b: exit %d, stdout %q", code, stdout)
	}
	want := "[rekey-child 0x0badf00d delete 0x0badf00d notify=false]"
	if got := fmt.Sprint(fake.CallLog()); got != want {
		t.Errorf("daemon saw %s, want %s", got, want)
	}
	// site-b's Child SA is gone: the SPI names site-a's alone.
	if code, stdout, _ := run("sa", "show", "--spi", "0x0badf00d"); code != 0 || !strings.Contains(stdout, "site-a") {
		t.Errorf("sa show after the delete: exit %d, stdout %q", code, stdout)
	}
}
