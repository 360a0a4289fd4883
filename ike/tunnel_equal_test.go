package ike

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

func equalBase() TunnelConfig {
	props := []crypto.Proposal{{Encr: []crypto.EncrAlg{{ID: crypto.EncrAESGCM16, KeyBits: 128}}, PRF: []uint16{crypto.PRFHMACSHA256}, DH: []uint16{crypto.DHCurve25519}}}
	return TunnelConfig{
		Name: "t", Version: 2,
		Local: netip.MustParseAddrPort("192.0.2.1:500"), Remote: netip.MustParseAddrPort("192.0.2.2:500"),
		LocalID: Identity{Type: 2, Data: []byte("a.example")}, RemoteID: Identity{Type: 2, Data: []byte("b.example")},
		PSK:     []byte("0123456789abcdef"),
		LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}, RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")},
		IKEProposals: props, ESPProposals: props,
		IKELifetime: time.Hour, ChildLifetime: time.Hour, ChildLifeBytes: 1, ChildLifePackets: 1,
		StartAction: StartStart, Encap: EncapAuto, DPDDelay: time.Second, DPDTimeout: time.Second, ReplayWindow: 1024,
	}
}

// TestTunnelConfigEqual: Equal agrees with reflect.DeepEqual on a copy and on a change of each
// field in turn (a field added to TunnelConfig but not to Equal fails here), and compares
// proposal lists by content, not only by identity.
func TestTunnelConfigEqual(t *testing.T) {
	base := equalBase()
	same := equalBase()
	if !base.Equal(&same) {
		t.Fatal("equal configurations (distinct slices) compare unequal")
	}
	typ := reflect.TypeFor[TunnelConfig]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		c := equalBase()
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch {
		case f.Type == reflect.TypeFor[netip.AddrPort]():
			v.Set(reflect.ValueOf(netip.MustParseAddrPort("198.51.100.9:4500")))
		case f.Type == reflect.TypeFor[Identity]():
			v.Set(reflect.ValueOf(Identity{Type: 2, Data: []byte("other.example")}))
		case f.Type == reflect.TypeFor[[]netip.Prefix]():
			v.Set(reflect.ValueOf([]netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}))
		case f.Type == reflect.TypeFor[[]crypto.Proposal]():
			v.Set(reflect.ValueOf([]crypto.Proposal{{Encr: []crypto.EncrAlg{{ID: crypto.EncrAESGCM16, KeyBits: 256}}}}))
		case f.Type.Kind() == reflect.String:
			v.SetString(v.String() + "x")
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Uint8:
			v.SetBytes(append([]byte("x"), v.Bytes()...))
		case v.CanInt():
			v.SetInt(v.Int() + 1)
		case v.CanUint():
			v.SetUint(v.Uint() + 1)
		default:
			t.Fatalf("field %s of type %v: the test does not know how to change it", f.Name, f.Type)
		}
		if reflect.DeepEqual(base, c) {
			t.Fatalf("field %s: the change did not change the configuration", f.Name)
		}
		if base.Equal(&c) || c.Equal(&base) {
			t.Errorf("field %s changed, Equal still true", f.Name)
		}
	}
}
