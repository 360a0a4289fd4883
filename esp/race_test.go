//go:build race

package esp

// The race detector makes sync.Pool drop items at random, so allocation
// counts are not meaningful under it.
const raceEnabled = true
