package swan

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// siteConfs returns matching gwA (initiator) and gwB configurations for the
// NewSiteToSite topology.
func siteConfs() (a, b Conf) {
	base := Conf{
		Name:         "s2s",
		PSK:          "vgsw-test-psk-" + netns.RandHex(16),
		IKEProposals: "aes128gcm16-prfsha256-x25519",
		ESPProposals: "aes128gcm16",
		Encap:        true,
	}
	a, b = base, base
	a.LocalAddr, a.RemoteAddr = netns.GwAWAN.String(), netns.GwBWAN.String()
	a.LocalTS, a.RemoteTS = []string{netns.NetA.String()}, []string{netns.NetB.String()}
	b.LocalAddr, b.RemoteAddr = a.RemoteAddr, a.LocalAddr
	b.LocalTS, b.RemoteTS = a.RemoteTS, a.LocalTS
	return a, b
}

// onlyOne returns the single live IKE SA named name with one live CHILD_SA
// named name (as its only child), or false if there is not exactly one of
// each. Deleted SAs that strongSwan keeps around for a while are ignored.
func onlyOne(sas []IKESA, name string) (IKESA, bool) {
	var found []IKESA
	for _, sa := range sas {
		if sa.Name == name && !sa.Gone() {
			found = append(found, sa)
		}
	}
	if len(found) != 1 {
		return IKESA{}, false
	}
	sa := found[0]
	sa.Children = sa.LiveChildren()
	if len(sa.Children) != 1 || sa.Children[0].Name != name {
		return IKESA{}, false
	}
	return sa, true
}

// established waits until c has exactly one established IKE SA and one
// installed CHILD_SA named name, both satisfying extra.
func established(ctx context.Context, t *testing.T, c *Charon, name string, extra func(IKESA) bool) IKESA {
	t.Helper()
	var got IKESA
	_, err := c.WaitFor(ctx, func(sas []IKESA) bool {
		sa, ok := onlyOne(sas, name)
		if !ok || sa.State != "ESTABLISHED" || sa.Children[0].State != "INSTALLED" || !extra(sa) {
			return false
		}
		got = sa
		return true
	})
	if err != nil {
		t.Fatalf("%s: %v", c.ns.Name, err)
	}
	return got
}

// checkPair verifies that the two sides' views of the SAs mirror each other.
func checkPair(t *testing.T, a, b IKESA) {
	t.Helper()
	if a.LocalSPI != b.RemoteSPI || a.RemoteSPI != b.LocalSPI || len(a.LocalSPI) != 16 {
		t.Errorf("IKE SPIs: A local %s remote %s, B local %s remote %s", a.LocalSPI, a.RemoteSPI, b.LocalSPI, b.RemoteSPI)
	}
	ca, cb := a.Children[0], b.Children[0]
	if ca.SPIOut != cb.SPIIn || ca.SPIIn != cb.SPIOut || ca.SPIIn == 0 || ca.SPIOut == 0 {
		t.Errorf("ESP SPIs: A in %08x out %08x, B in %08x out %08x", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)
	}
}

func ping(ctx context.Context, t *testing.T, tp *netns.Topo) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tp.HostA.Ping(pctx, netns.HostBAddr); err != nil {
		t.Fatalf("ping hostA -> hostB through the tunnel: %v", err)
	}
}

func TestStrongSwanSiteToSite(t *testing.T) {
	tp := netns.NewSiteToSite(t, "vgsw")
	confA, confB := siteConfs()
	b := StartT(t, tp.GwB, confB)
	a := StartT(t, tp.GwA, confA)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// No tunnel yet: no route from site A to site B.
	if err := tp.HostA.Ping(ctx, netns.HostBAddr); err == nil {
		t.Fatal("hostB reachable before the tunnel is up")
	}

	if err := a.Initiate("s2s"); err != nil {
		t.Fatal(err)
	}
	any := func(IKESA) bool { return true }
	ikeA := established(ctx, t, a, "s2s", any)
	ikeB := established(ctx, t, b, "s2s", any)
	checkPair(t, ikeA, ikeB)
	if !ikeA.Initiator || ikeB.Initiator {
		t.Errorf("initiator flags: A %v, B %v", ikeA.Initiator, ikeB.Initiator)
	}
	for _, sa := range []IKESA{ikeA, ikeB} {
		if sa.Version != 2 || sa.EncrAlg != "AES_GCM_16" || sa.EncrKeySize != 128 || sa.PRFAlg != "PRF_HMAC_SHA2_256" ||
			sa.DHGroup != "CURVE_25519" || !sa.NATAny || sa.LocalPort != 4500 || sa.RemotePort != 4500 {
			t.Errorf("IKE SA: %+v", sa)
		}
		c := sa.Children[0]
		if c.EncrAlg != "AES_GCM_16" || c.EncrKeySize != 128 || !c.Encap || c.ESN || c.Mode != "TUNNEL" || c.Protocol != "ESP" {
			t.Errorf("CHILD_SA: %+v", c)
		}
	}
	if out, err := tp.GwA.Run(ctx, "ip", "-o", "link", "show", "ipsec0"); err != nil {
		t.Errorf("no ipsec0 TUN device in gwA (kernel-libipsec not used?): %v %s", err, out)
	}

	ping(ctx, t, tp)
	// The traffic went through the CHILD_SA.
	sas, err := a.ListSAs()
	if err != nil {
		t.Fatal(err)
	}
	if sa, ok := onlyOne(sas, "s2s"); !ok || sa.Children[0].PacketsOut == 0 || sa.Children[0].PacketsIn == 0 {
		t.Errorf("CHILD_SA counters after ping: %+v", sas)
	}

	t.Run("child rekey", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		old := ikeA.Children[0]
		if err := a.RekeyChild("s2s"); err != nil {
			t.Fatal(err)
		}
		fresh := func(sa IKESA) bool {
			c := sa.Children[0]
			return c.SPIIn != old.SPIIn && c.SPIIn != old.SPIOut && c.SPIOut != old.SPIIn && c.SPIOut != old.SPIOut
		}
		na := established(ctx, t, a, "s2s", fresh)
		nb := established(ctx, t, b, "s2s", fresh)
		checkPair(t, na, nb)
		if na.LocalSPI != ikeA.LocalSPI {
			t.Errorf("child rekey changed the IKE SA: %s -> %s", ikeA.LocalSPI, na.LocalSPI)
		}
		ping(ctx, t, tp)
		ikeA, ikeB = na, nb
	})

	t.Run("IKE rekey", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		old := ikeA
		if err := a.RekeyIKE("s2s"); err != nil {
			t.Fatal(err)
		}
		fresh := func(sa IKESA) bool {
			return sa.LocalSPI != old.LocalSPI && sa.LocalSPI != old.RemoteSPI && sa.UniqueID != old.UniqueID
		}
		na := established(ctx, t, a, "s2s", fresh)
		nb := established(ctx, t, b, "s2s", fresh)
		checkPair(t, na, nb)
		if na.Children[0].SPIIn != old.Children[0].SPIIn {
			t.Errorf("IKE rekey replaced the CHILD_SA instead of moving it")
		}
		ping(ctx, t, tp)
	})

	t.Run("terminate and time to establish", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := a.TerminateIKE("s2s"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*Charon{a, b} {
			if _, err := c.WaitIKE(ctx, "s2s", ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.WaitChild(ctx, "s2s", ""); err != nil {
			t.Fatal(err)
		}
		d, err := a.TimeToEstablish(ctx, "s2s")
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 || d > 20*time.Second {
			t.Errorf("TimeToEstablish = %v", d)
		}
		t.Logf("IKE_SA_INIT + IKE_AUTH took %v", d)
		if _, err := b.WaitChild(ctx, "s2s", "INSTALLED"); err != nil {
			t.Fatal(err)
		}
		ping(ctx, t, tp)
	})

	if t.Failed() {
		return
	}
	if log := a.Log(); !strings.Contains(log, "ipsec0") {
		t.Errorf("charon log does not mention the libipsec TUN device")
	}
}

func TestStrongSwanIKEv1(t *testing.T) {
	tp := netns.NewSiteToSite(t, "vgsw")
	confA, confB := siteConfs()
	for _, c := range []*Conf{&confA, &confB} {
		c.Version = 1
		c.IKEProposals = "aes128-sha256-modp2048"
		c.ESPProposals = "aes128gcm16"
		c.Encap = false // libipsec makes charon fake NAT detection anyway
	}
	b := StartT(t, tp.GwB, confB)
	a := StartT(t, tp.GwA, confA)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := a.Initiate("s2s"); err != nil {
		t.Fatal(err)
	}
	ikeA := established(ctx, t, a, "s2s", func(IKESA) bool { return true })
	ikeB := established(ctx, t, b, "s2s", func(IKESA) bool { return true })
	checkPair(t, ikeA, ikeB)
	if ikeA.Version != 1 || ikeA.DHGroup != "MODP_2048" || !ikeA.NATAny || ikeA.RemotePort != 4500 || !ikeA.Children[0].Encap {
		t.Errorf("IKE SA: %+v", ikeA)
	}
	ping(ctx, t, tp)
	if err := a.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if _, err := a.ListSAs(); err == nil {
		t.Error("ListSAs after Stop succeeded")
	}
}
