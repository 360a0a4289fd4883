package config

import (
	"fmt"
	"strings"
	"testing"
)

// manyTunnels renders n tunnels to n distinct peers with distinct subnets.
func manyTunnels(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[tunnel.t%d]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"10.%d.%d.1\"\npsk = \"0123456789abcdef-%d\"\n"+
			"local_subnets = [\"172.16.0.0/16\"]\nremote_subnets = [\"10.%d.%d.0/24\"]\n\n", i, 128+i/65536, (i/256)%256, i, i/256%128, i%256)
	}
	return []byte(b.String())
}

// TestManyTunnelsOverlap: the overlap check still finds a conflict among many tunnels.
func TestManyTunnelsOverlap(t *testing.T) {
	data := append(manyTunnels(2000), []byte("[tunnel.dup]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"198.51.100.9\"\npsk = \"0123456789abcdef-x\"\nlocal_subnets = [\"172.16.0.0/16\"]\nremote_subnets = [\"10.3.0.0/16\"]\n")...)
	_, err := Parse("many.toml", data)
	if err == nil || !strings.Contains(err.Error(), `tunnel "dup": remote_subnets 10.3.0.0/16 overlaps`) {
		t.Fatalf("overlap not found: %v", err)
	}
	if _, err := Parse("many.toml", manyTunnels(2000)); err != nil {
		t.Fatalf("2000 disjoint tunnels rejected: %v", err)
	}
}

// BenchmarkParse10kTunnels measures loading a configuration with 10,000 tunnels (the overlap
// check is O(n log n)).
func BenchmarkParse10kTunnels(b *testing.B) {
	data := manyTunnels(10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("many.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}
