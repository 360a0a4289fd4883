package attacker

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
	v1 "github.com/vigil-ipsec/vigil/ike/v1"
	v2 "github.com/vigil-ipsec/vigil/ike/v2"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

var (
	respAddr = netip.MustParseAddr("192.0.2.1")
	atkAddr  = netip.MustParseAddr("192.0.2.66")
	psk      = []byte("attacker-unit-test-psk-0123456789")
)

// responder runs an in-process ike.Engine on a memory network with one tunnel to the
// attacker, and returns a Transport from the attacker's address to it.
func responder(t *testing.T, version int) (*ike.Engine, Transport) {
	t.Helper()
	n := memory.NewNetwork()
	var e *ike.Engine // set before any message can arrive
	dp := n.Attach([]netip.Addr{respAddr}, func(l, r netip.AddrPort, msg []byte) { e.HandlePacket(l, r, msg) })
	e = ike.New(ike.Config{}, dp, nil, nil, v1.New, v2.New)
	in := make(chan []byte, 64)
	adp := n.Attach([]netip.Addr{atkAddr}, func(_, _ netip.AddrPort, msg []byte) { in <- append([]byte(nil), msg...) })
	t.Cleanup(func() { dp.Close(); adp.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.Run(ctx)
	ikeProps, espProps := DefaultIKE, DefaultESP
	if version == 1 {
		ikeProps = "aes128-sha256-ecp256"
	}
	ip, _ := crypto.ParseProposals(ikeProps, true)
	ep, _ := crypto.ParseProposals(espProps, false)
	cfg := &ike.TunnelConfig{
		Name: "t", Version: version,
		Local: netip.AddrPortFrom(respAddr, 500), Remote: netip.AddrPortFrom(atkAddr, 500),
		LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte("resp.example")}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte("atk.example")},
		PSK: psk, LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}, RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.66.0.0/24")},
		IKEProposals: ip, ESPProposals: ep, DPDTimeout: 10 * time.Second,
	}
	e.Call(func() { e.AddTunnel(cfg) })
	tr := Chan{In: in, Out: func(msg []byte) {
		adp.SendIKE(netip.AddrPortFrom(atkAddr, 500), netip.AddrPortFrom(respAddr, 500), msg)
	}}
	return e, tr
}

func children(e *ike.Engine) (out []*ike.ChildSA) {
	e.Call(func() {
		if sa := e.Tunnel("t").IKE; sa != nil {
			for _, c := range sa.Children() {
				out = append(out, c)
			}
		}
	})
	return out
}

func TestV2AgainstEngine(t *testing.T) {
	e, tr := responder(t, 2)
	a, err := NewV2(tr, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Init(); err != nil {
		t.Fatal(err)
	}
	spi := RandomSPI()
	child := &ChildReq{SPI: spi, TSi: []wire.TrafficSelector{wire.TrafficSelectorFromPrefix(netip.MustParsePrefix("10.66.0.0/24"))},
		TSr: []wire.TrafficSelector{wire.TrafficSelectorFromPrefix(netip.MustParsePrefix("10.1.0.0/24"))}}
	m, err := a.Auth(psk, FQDN("atk.example"), FQDN("resp.example"), child)
	if err != nil {
		t.Fatal(err)
	}
	if ne := ChildRefused(m); ne != 0 {
		t.Fatalf("child refused: %v", ne)
	}
	rspi, _ := ResponderSPI(m)
	cs := children(e)
	if len(cs) != 1 || cs[0].SPIOut != spi || cs[0].SPIIn != rspi {
		t.Fatalf("engine children %+v, want out %08x in %08x", cs, spi, rspi)
	}
	child.SPI = RandomSPI()
	if m, err = a.CreateChild(*child); err != nil || ChildRefused(m) != 0 {
		t.Fatalf("CREATE_CHILD_SA: %v %v", m, err)
	}
	if m, err = a.Informational(); err != nil || len(m.Payloads) != 0 {
		t.Fatalf("liveness check: %v %v", m, err)
	}
	if n := len(children(e)); n != 2 {
		t.Errorf("%d children after CREATE_CHILD_SA", n)
	}
}

func TestV2WrongPSK(t *testing.T) {
	_, tr := responder(t, 2)
	a, _ := NewV2(tr, "", "")
	if err := a.Init(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Auth([]byte("not-the-right-psk-0123456789"), FQDN("atk.example"), Identity{}, nil); err == nil {
		t.Fatal("authenticated with a wrong PSK")
	}
}

func TestV1AgainstEngine(t *testing.T) {
	e, tr := responder(t, 1)
	a := NewV1(tr)
	if err := a.MainMode(psk, &v1wire.ID{Type: v1wire.IDFQDN, Data: []byte("atk.example")}); err != nil {
		t.Fatal(err)
	}
	spi := RandomSPI()
	q, err := a.QuickMode(QuickReq{MessageID: 77, SPI: spi, Local: netip.MustParsePrefix("10.66.0.0/24"), Remote: netip.MustParsePrefix("10.1.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Ping(78, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		cs := children(e)
		if len(cs) == 1 && cs[0].SPIOut == spi && cs[0].SPIIn == q.ResponderSA && cs[0].State == ike.ChildInstalled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine children %+v, want out %08x in %08x", cs, spi, q.ResponderSA)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A replay with the message ID still remembered is ignored.
	a.Replay(q.Message1)
	a.Timeout = 300 * time.Millisecond
	if _, err := a.AwaitQuick(77); err == nil {
		t.Error("engine answered a replay of a remembered message ID")
	}
}
