package swan

import (
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

func TestStartRejects(t *testing.T) {
	ns := &netns.NS{Name: "vgsw-unused"}
	if _, err := Start(nil, t.TempDir(), validConf()); err == nil {
		t.Error("nil namespace accepted")
	}
	if _, err := Start(ns, "relative/dir", validConf()); err == nil {
		t.Error("relative directory accepted")
	}
	if _, err := Start(ns, "/tmp/"+strings.Repeat("d", 120), validConf()); err == nil {
		t.Error("overlong socket path accepted")
	}
	bad := validConf()
	bad.PSK = ""
	_, err := Start(ns, t.TempDir(), bad)
	if err == nil {
		t.Error("invalid conf accepted")
	}
}
