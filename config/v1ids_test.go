package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// v1Tunnel is incTunnel as an IKEv1 tunnel with the given remote_id.
func v1Tunnel(name string, n int, remoteID string) string {
	return incTunnel(name, n) + "version = 1\nremote_id = \"" + remoteID + "\"\n"
}

// TestV1SameIdentitiesRefused: two IKEv1 tunnels to one peer with the same local_id and
// remote_id are refused at the later one (file:line, both names), in one file and across
// included files; different identities, or IKEv2, are fine.
func TestV1SameIdentitiesRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src, err string
	}{
		{"same ids", v1Tunnel("a", 1, "fqdn:peer.example") + v1Tunnel("b", 2, "fqdn:peer.example"),
			`test.toml:9: tunnel "b": IKEv1 tunnel to 192.0.2.2 with the local_id and remote_id of tunnel "a" (line 1)`},
		{"different ids", v1Tunnel("a", 1, "fqdn:peer.example") + v1Tunnel("b", 2, "fqdn:other.example"), ""},
		{"ikev2", incTunnel("a", 1) + "remote_id = \"fqdn:peer.example\"\n" + incTunnel("b", 2) + "remote_id = \"fqdn:peer.example\"\n", ""},
		{"one of each", v1Tunnel("a", 1, "fqdn:peer.example") + incTunnel("b", 2) + "remote_id = \"fqdn:peer.example\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(tc.src))
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// TestLoaderV1IdentityEditChecked: a reload in which an included file's IKEv1 tunnel takes
// the identities of a tunnel in another (unchanged) file is refused, though names and
// subnets kept their shape (the checks across tunnels run again).
func TestLoaderV1IdentityEditChecked(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n",
		"t/a.toml":   v1Tunnel("a", 1, "fqdn:a.example"),
		"t/b.toml":   v1Tunnel("b", 2, "fqdn:b.example"),
	})
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	if _, err := l.Load(); err != nil {
		t.Fatal(err)
	}
	writeAt(t, filepath.Join(dir, "t/b.toml"), v1Tunnel("b", 2, "fqdn:a.example"), 0o600, old.Add(time.Minute))
	_, err := l.Load()
	if err == nil || !strings.Contains(err.Error(), `with the local_id and remote_id of tunnel "a"`) {
		t.Fatalf("reload with b taking a's identities: %v", err)
	}
	if _, err := l.LoadUpdate(); err == nil {
		t.Error("LoadUpdate accepted it")
	}
}
