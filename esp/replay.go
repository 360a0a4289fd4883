package esp

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Replay window size limits, in packets.
const (
	// DefaultReplayWindow is used when a size of zero is requested.
	DefaultReplayWindow = 1024
	// MinReplayWindow is the smallest window NewReplayWindow builds: parallel
	// decryption on several goroutines reorders packets, so small windows
	// (RFC 4303's 32 or 64) would cause spurious drops.
	MinReplayWindow = 1024
	// MaxReplayWindow is the largest window supported.
	MaxReplayWindow = 65536
)

// ReplayWindow is an RFC 4303 section 3.4.3 anti-replay window implemented as
// in RFC 6479: a ring of uint64 bitmap blocks, one bit per sequence number,
// with at least one spare block so that advancing the window only ever clears
// whole blocks. Sequence numbers are 64-bit (the full ESN value, or the
// 32-bit counter zero-extended); zero is never valid.
//
// A packet is inside the window when top-Size() < seq <= top, where top is the
// highest sequence number accepted so far; anything above top is ahead of the
// window and acceptable.
//
// Concurrency: Update serialises on a small mutex. Check takes no lock: it
// reads top and the bitmap blocks with atomic loads, so it sees a consistent
// view of each word and may run concurrently with Update. Its answer is a
// snapshot; the authoritative decision is Update's, which re-checks under the
// lock. This matches the RFC 4303 receive order (cheap pre-check, ICV
// verification, then window update).
type ReplayWindow struct {
	top    atomic.Uint64 // highest accepted sequence number; 0 = none yet
	size   uint64        // window width in packets, multiple of 64
	mask   uint64        // len(blocks)-1; len(blocks) is a power of two
	mu     sync.Mutex    // serialises Update
	blocks []atomic.Uint64
}

// NewReplayWindow returns an empty window accepting size packets. A size of
// zero or less selects DefaultReplayWindow; other sizes are raised to
// MinReplayWindow, rounded up to a multiple of 64 and capped at
// MaxReplayWindow.
func NewReplayWindow(size int) *ReplayWindow {
	size = normaliseWindow(size)
	// size/64 blocks hold the window; one more lets the window slide by a
	// whole block without clearing live bits. Round up to a power of two
	// so the ring index is a mask.
	n := uint64(1) << bits.Len64(uint64(size/64))
	return &ReplayWindow{
		size:   uint64(size),
		mask:   n - 1,
		blocks: make([]atomic.Uint64, n),
	}
}

func normaliseWindow(size int) int {
	switch {
	case size <= 0:
		return DefaultReplayWindow
	case size < MinReplayWindow:
		return MinReplayWindow
	case size > MaxReplayWindow:
		return MaxReplayWindow
	}
	return (size + 63) &^ 63
}

// Size returns the window width in packets.
func (w *ReplayWindow) Size() int { return int(w.size) }

// Top returns the highest sequence number accepted so far, or 0.
func (w *ReplayWindow) Top() uint64 { return w.top.Load() }

// Check reports whether seq would be accepted now: it is non-zero, not older
// than the window and not yet marked. It does not modify the window.
func (w *ReplayWindow) Check(seq uint64) bool {
	if seq == 0 {
		return false
	}
	top := w.top.Load()
	if seq > top {
		return true
	}
	if top-seq >= w.size {
		return false
	}
	return w.blocks[(seq>>6)&w.mask].Load()&(1<<(seq&63)) == 0
}

// Update marks seq as received, sliding the window forward when seq is ahead
// of it. It returns false, leaving the window unchanged, when seq is zero, a
// duplicate, or too old.
func (w *ReplayWindow) Update(seq uint64) bool {
	if seq == 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	top := w.top.Load()
	if seq > top {
		cur, next := top>>6, seq>>6
		diff := next - cur
		if n := w.mask + 1; diff > n {
			diff = n
		}
		for i := uint64(1); i <= diff; i++ {
			w.blocks[(cur+i)&w.mask].Store(0)
		}
		w.top.Store(seq)
	} else if top-seq >= w.size {
		return false
	}
	blk := &w.blocks[(seq>>6)&w.mask]
	bit := uint64(1) << (seq & 63)
	v := blk.Load()
	if v&bit != 0 {
		return false
	}
	blk.Store(v | bit)
	return true
}

// reset empties the window (tests and benchmarks).
func (w *ReplayWindow) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.blocks {
		w.blocks[i].Store(0)
	}
	w.top.Store(0)
}

// esnSeq reconstructs the full 64-bit sequence number of a received packet
// from its low 32 bits, following RFC 4303 Appendix A2.1. top is the highest
// authenticated sequence number so far and size the window width (W).
func esnSeq(top, size uint64, low uint32) uint64 {
	tl := uint32(top)
	th := uint32(top >> 32)
	w := uint32(size)
	bottom := tl - w + 1 // wraps (mod 2^32) in case B, as in the RFC
	var hi uint32
	if tl >= w-1 {
		// Case A: the window lies within one 2^32 subspace.
		if low >= bottom {
			hi = th
		} else {
			hi = th + 1
		}
	} else {
		// Case B: the window spans two subspaces.
		if low >= bottom {
			hi = th - 1
			if th == 0 {
				// No earlier subspace exists: the packet is ahead.
				hi = 0
			}
		} else {
			hi = th
		}
	}
	return uint64(hi)<<32 | uint64(low)
}
