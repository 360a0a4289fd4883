//go:build race

package tunudp

// The race detector slows the packet path ~10x: move less data.
const transferDiv = 16
