package rig

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
)

// StartCharon starts strongSwan's charon (kernel-libipsec) in ns with its files in dir
// and registers its stop on cl.
func StartCharon(cl *Cleanup, ns *netns.NS, dir string, conf swan.Conf) (*swan.Charon, error) {
	c, err := swan.Start(ns, dir, conf)
	if err != nil {
		return nil, err
	}
	cl.Push("charon in "+ns.Name, c.Stop)
	return c, nil
}

// CharonPID reads the pid charon wrote to its private /run (dir/run/charon.pid).
func CharonPID(c *swan.Charon) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir(), "run", "charon.pid"))
	if err != nil {
		return 0, fmt.Errorf("charon pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("charon pid file %q: bad content", b)
	}
	return pid, nil
}

// SwanPair returns matching charon configurations named name for gwA and gwB of the
// site-to-site topology with AES-128-GCM and UDP encapsulation (kernel-libipsec needs it).
func SwanPair(name, psk string) (a, b swan.Conf) {
	base := swan.Conf{
		Name: name, PSK: psk,
		IKEProposals: "aes128gcm16-prfsha256-x25519", ESPProposals: "aes128gcm16",
		Encap: true,
	}
	a, b = base, base
	a.LocalAddr, a.RemoteAddr = netns.GwAWAN.String(), netns.GwBWAN.String()
	a.LocalTS, a.RemoteTS = []string{netns.NetA.String()}, []string{netns.NetB.String()}
	b.LocalAddr, b.RemoteAddr = a.RemoteAddr, a.LocalAddr
	b.LocalTS, b.RemoteTS = a.RemoteTS, a.LocalTS
	return a, b
}

// Established reports whether sas hold exactly one live IKE SA named name in state
// ESTABLISHED with one INSTALLED CHILD_SA.
func Established(sas []swan.IKESA, name string) bool {
	n := 0
	for _, sa := range sas {
		if sa.Name != name || sa.Gone() {
			continue
		}
		n++
		ch := sa.LiveChildren()
		if sa.State != "ESTABLISHED" || len(ch) != 1 || ch[0].State != "INSTALLED" {
			return false
		}
	}
	return n == 1
}

// StartCharonBulk starts charon with many connections, not yet loaded (swan.StartBulk), in
// ns with its files in dir and registers its stop on cl.
func StartCharonBulk(cl *Cleanup, ns *netns.NS, dir string, bc swan.BulkConf) (*swan.Charon, error) {
	c, err := swan.StartBulk(ns, dir, bc)
	if err != nil {
		return nil, err
	}
	cl.Push("charon in "+ns.Name, c.Stop)
	return c, nil
}
