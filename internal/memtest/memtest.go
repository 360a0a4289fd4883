// Package memtest measures memory for the tests that bound what tunnels, policies and SAs
// cost (issue #12: bytes per configured or established tunnel).
package memtest

import "runtime"

// LiveHeap returns the bytes of live heap objects after two full collections (the second
// frees what the first one's finalizers released).
func LiveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
