package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
	"github.com/vigil-ipsec/vigil/internal/attacker"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// malV1Net is the subnet behind the IKEv1 attacker tunnel.
var malV1Net = netip.MustParsePrefix("10.67.0.0/24")

// malV1Tunnel is A's IKEv1 tunnel to the attacker's second address.
func malV1Tunnel() vigiltest.Tunnel {
	return ikev1.tunnel(vigiltest.Tunnel{
		Name: "mallory1", LocalAddr: netns.AtkGwA.String(), RemoteAddr: netns.AtkAddr2.String(),
		LocalID: "fqdn:a.example", RemoteID: "fqdn:mallory1.example", PSK: malPSK,
		LocalTS: []string{netns.NetA.String()}, RemoteTS: []string{malV1Net.String()},
	})
}

// TestAttackQuickModeReplay: on an IKEv1 tunnel, the attacker (an authenticated peer) runs a
// Quick Mode, then 300 Informationals (R-U-THERE) with fresh message IDs, more than a
// 256-entry replay memory holds, and replays its first Quick Mode message 1 verbatim. A must
// reject the replayed message ID: the tunnel's IPsec SA keeps its SPIs and no second SA
// appears for the same outbound SPI with new keys. IKEv1 only: Quick Mode's random message
// IDs need a replay memory; IKEv2's sequential message IDs and window have none to overflow.
func TestAttackQuickModeReplay(t *testing.T) {
	r := newAtkRig(t, rigOpts{extraA: []vigiltest.Tunnel{malV1Tunnel()}})
	c := udpFrom(t, r.topo.Atk, netip.AddrPortFrom(netns.AtkAddr2, 500), netip.AddrPortFrom(netns.AtkGwA, 500))
	m := attacker.NewV1(attacker.UDP{Conn: c})
	if err := m.MainMode([]byte(malPSK), &v1wire.ID{Type: v1wire.IDFQDN, Data: []byte("mallory1.example")}); err != nil {
		t.Fatalf("Main Mode: %v", err)
	}
	const qmID = 0x51a0c001
	spi := attacker.RandomSPI()
	q, err := m.QuickMode(attacker.QuickReq{MessageID: qmID, SPI: spi, Local: malV1Net, Remote: netns.NetA})
	if err != nil {
		t.Fatalf("Quick Mode: %v", err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	sas, err := r.a.WaitFor(ctx, "mallory1's IPsec SA", vigiltest.HasChild("mallory1"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := vigiltest.Child(sas, "mallory1")
	if uint32(before.SPIOut) != spi || uint32(before.SPIIn) != q.ResponderSA {
		t.Fatalf("A's IPsec SA in %v out %v, negotiated in 0x%08x out 0x%08x", before.SPIIn, before.SPIOut, q.ResponderSA, spi)
	}
	r.attackStarts()
	for i := uint32(0); i < 300; i++ {
		if err := m.Ping(0x7e570000+i, i+1); err != nil {
			t.Fatalf("R-U-THERE %d: %v", i, err)
		}
	}
	if err := m.Replay(q.Message1); err != nil {
		t.Fatal(err)
	}
	m.Timeout = 1500 * time.Millisecond
	if ans, err := m.AwaitQuick(qmID); err == nil {
		t.Errorf("A answered the replayed Quick Mode message 1 (message ID 0x%08x) with a %d-byte message 2", qmID, len(ans))
	}
	r.pause(500 * time.Millisecond)
	after, err := r.a.Client.SAs(r.ctx, "mallory1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sa := range after {
		n += len(sa.Children)
	}
	if c, ok := vigiltest.Child(after, "mallory1"); !ok || n != 1 || c.SPIIn != before.SPIIn || c.SPIOut != before.SPIOut {
		t.Errorf("replayed Quick Mode changed the IPsec SAs: had in %v out %v, now %s", before.SPIIn, before.SPIOut, childList(after))
	}
	r.checkVictim(victimOutage)
}
