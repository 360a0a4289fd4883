//go:build !race

package tunudp

const transferDiv = 1
