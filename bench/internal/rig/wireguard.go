package rig

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// wgSocketDir is where wireguard-go puts its UAPI sockets; it is shared by all network
// namespaces, which is why the two ends need different interface names.
const wgSocketDir = "/var/run/wireguard"

// wgPort is the UDP port both wireguard-go ends listen on.
const wgPort = 51820

// WireGuard is a wireguard-go daemon serving one interface in a gateway namespace.
type WireGuard struct {
	*Proc
	// Iface is the TUN interface name (also the UAPI socket name).
	Iface string
}

type wgEnd struct {
	ns        *netns.NS
	iface     string
	wan       netip.Addr
	remoteNet netip.Prefix
	priv      *ecdh.PrivateKey
}

// StartWireGuardPair runs bin ("wireguard", i.e. wireguard-go) in foreground in gwA and
// gwB of tp with interfaces named prefix+"A"/"B"+suffix, configures them as each other's
// peer with `wg` (keys in dir, never printed) and routes the far site through them.
// Stops are registered on cl. The handshake happens on the first packet.
func StartWireGuardPair(ctx context.Context, cl *Cleanup, tp *netns.Topo, bin, dir, prefix string) (a, b *WireGuard, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	suffix := netns.RandHex(4)
	ends := [2]*wgEnd{
		{ns: tp.GwA, iface: prefix + "A" + suffix, wan: netns.GwAWAN, remoteNet: netns.NetB},
		{ns: tp.GwB, iface: prefix + "B" + suffix, wan: netns.GwBWAN, remoteNet: netns.NetA},
	}
	for _, e := range ends {
		if e.priv, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
			return nil, nil, err
		}
	}
	var out [2]*WireGuard
	for i, e := range ends {
		peer := ends[1-i]
		wg, err := startWireGuard(ctx, cl, e.ns, bin, filepath.Join(dir, e.iface+".log"), e.iface)
		if err != nil {
			return nil, nil, err
		}
		keyFile := filepath.Join(dir, e.iface+".key")
		if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(e.priv.Bytes())+"\n"), 0o600); err != nil {
			return nil, nil, err
		}
		pub := base64.StdEncoding.EncodeToString(peer.priv.PublicKey().Bytes())
		cmds := [][]string{
			{"wg", "set", e.iface, "private-key", keyFile, "listen-port", fmt.Sprint(wgPort),
				"peer", pub, "endpoint", netip.AddrPortFrom(peer.wan, wgPort).String(), "allowed-ips", e.remoteNet.String()},
			{"ip", "link", "set", e.iface, "up"},
			{"ip", "route", "add", e.remoteNet.String(), "dev", e.iface},
		}
		for _, c := range cmds {
			if _, err := e.ns.Run(ctx, c...); err != nil {
				return nil, nil, err
			}
		}
		os.Remove(keyFile) // wg has read it
		out[i] = wg
	}
	return out[0], out[1], nil
}

// startWireGuard starts `bin -f iface` in ns and waits for its UAPI socket.
func startWireGuard(ctx context.Context, cl *Cleanup, ns *netns.NS, bin, logPath, iface string) (*WireGuard, error) {
	sock := filepath.Join(wgSocketDir, iface+".sock")
	if _, err := os.Stat(sock); err == nil {
		return nil, fmt.Errorf("wireguard: %s exists: another wireguard-go uses interface name %s", sock, iface)
	}
	p, err := StartProc(ns, logPath, nil, bin, "-f", iface)
	if err != nil {
		return nil, err
	}
	cl.Push("wireguard-go "+iface, func() error {
		err := p.Stop()
		// A killed wireguard-go leaves its socket behind.
		if rerr := os.Remove(sock); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return err
	})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if _, err := os.Stat(sock); err == nil {
			return &WireGuard{Proc: p, Iface: iface}, nil
		}
		select {
		case <-p.Exited():
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("wireguard-go %s exited at start:\n%s", iface, log)
		case <-wctx.Done():
			return nil, fmt.Errorf("wireguard-go %s: no UAPI socket %s: %w", iface, sock, wctx.Err())
		case <-tick.C:
		}
	}
}
