package rig

import (
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// NewTopo builds the same four namespaces and links as netns.NewSiteToSite, named
// "<prefix>-<4 hex>-{hostA,gwA,gwB,hostB}", without a testing.TB:
//
//	hostA 10.1.0.2 ── 10.1.0.1 gwA 192.0.2.1 ── 192.0.2.2 gwB 10.2.0.1 ── 10.2.0.2 hostB
//
// Each namespace's removal is pushed on cl as soon as it exists, so a failure half-way
// leaves nothing behind once cl runs.
func NewTopo(cl *Cleanup, prefix string) (*netns.Topo, error) {
	if err := netns.Available(); err != nil {
		return nil, err
	}
	tp, err := netns.BuildSiteToSite(prefix, func(ns *netns.NS) { cl.Push("namespace "+ns.Name, ns.Close) })
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	return tp, nil
}
