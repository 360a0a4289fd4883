package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// TestEqualComparesEveryField changes each field of a tunnel in turn: all
// but its position (File, Line) and generation must make Equal false. A new field without a case here fails
// the test, so that Equal cannot silently ignore it.
func TestEqualComparesEveryField(t *testing.T) {
	c := mustParse(t, base)
	orig := c.Tunnels[0]
	if !orig.Equal(&orig) {
		t.Fatal("tunnel not equal to itself")
	}
	typ := reflect.TypeOf(orig)
	for i := range typ.NumField() {
		f := typ.Field(i)
		mod := orig
		mod.LocalTS = slices.Clone(orig.LocalTS)
		mod.RemoteTS = slices.Clone(orig.RemoteTS)
		fv := reflect.ValueOf(&mod).Elem().Field(i)
		switch x := fv.Addr().Interface().(type) {
		case *string:
			*x += "x"
		case *int:
			*x++
		case *uint64:
			*x++
		case *bool:
			*x = !*x
		case *time.Duration:
			*x += time.Second
		case *netip.Addr:
			*x = x.Next()
		case *Identity:
			*x = Identity{Type: x.Type, Value: append(slices.Clone(x.Value), 1)}
		case *Secret:
			*x = Secret(strings.ToUpper(string(*x)))
		case *[]netip.Prefix:
			*x = append(*x, netip.MustParsePrefix("10.99.0.0/16"))
		case *[]crypto.Proposal:
			*x = append(slices.Clone(*x), crypto.Proposal{Encr: []crypto.EncrAlg{{ID: crypto.EncrAESCBC, KeyBits: 128}}})
		default:
			t.Fatalf("field %s of type %s: add a case to this test", f.Name, f.Type)
		}
		if got := orig.Equal(&mod); got != (f.Name == "Line" || f.Name == "File" || f.Name == "Gen") {
			t.Errorf("changing %s: Equal = %v", f.Name, got)
		}
	}
	var nilT *Tunnel
	if nilT.Equal(&orig) || !nilT.Equal(nil) {
		t.Error("nil handling")
	}
}

func TestDiff(t *testing.T) {
	tunnel := func(name, remote, subnet, psk string) string {
		return "[tunnel." + name + "]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"" + remote + "\"\npsk = \"" + psk +
			"\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"" + subnet + "\"]\n"
	}
	const k1, k2 = "0123456789abcdef", "fedcba9876543210"
	old := mustParse(t, tunnel("a", "192.0.2.2", "10.2.0.0/16", k1)+
		tunnel("b", "192.0.2.3", "10.3.0.0/16", k1)+
		tunnel("c", "192.0.2.4", "10.4.0.0/16", k1)+
		tunnel("e", "192.0.2.6", "10.6.0.0/16", k1))
	// b moves (other line, same settings), c's key changes, e's subnet
	// changes, a goes, d comes.
	new := mustParse(t, "\n\n"+tunnel("d", "192.0.2.5", "10.5.0.0/16", k1)+
		tunnel("e", "192.0.2.6", "10.7.0.0/16", k1)+
		tunnel("c", "192.0.2.4", "10.4.0.0/16", k2)+
		tunnel("b", "192.0.2.3", "10.3.0.0/16", k1))
	added, removed, changed, unchanged := Diff(old, new)
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("added", added, "d")
	check("removed", removed, "a")
	check("changed", changed, "e", "c")
	check("unchanged", unchanged, "b")

	added, removed, changed, unchanged = Diff(nil, old)
	check("added from nil", added, "a", "b", "c", "e")
	check("removed from nil", removed)
	check("changed from nil", changed)
	check("unchanged from nil", unchanged)
	added, removed, _, _ = Diff(old, nil)
	check("added to nil", added)
	check("removed to nil", removed, "a", "b", "c", "e")
	_, _, changed, unchanged = Diff(old, old)
	check("changed self", changed)
	check("unchanged self", unchanged, "a", "b", "c", "e")
}
