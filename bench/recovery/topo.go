package main

import (
	"github.com/vigil-ipsec/vigil/internal/netns"
)

// nsPrefix starts the names of every namespace this program creates.
const nsPrefix = "vgr2"

// newTopo builds the site-to-site topology (netns.BuildSiteToSite) with namespaces named
// "vgr2-<4 hex>-{hostA,gwA,gwB,hostB}"; each namespace's removal (which also kills the
// processes started in it) is pushed on cl as soon as the namespace exists.
func newTopo(cl *cleanup) (*netns.Topo, error) {
	return netns.BuildSiteToSite(nsPrefix, func(ns *netns.NS) { cl.push("namespace "+ns.Name, ns.Close) })
}
