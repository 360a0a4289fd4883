package esp

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

func TestNewReplayWindowSize(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-5, 1024}, {0, 1024}, {1, 1024}, {1024, 1024}, {1030, 1088}, {4096, 4096}, {65536, 65536}, {1 << 20, 65536},
	} {
		w := NewReplayWindow(tc.in)
		if w.Size() != tc.want {
			t.Errorf("NewReplayWindow(%d).Size() = %d, want %d", tc.in, w.Size(), tc.want)
		}
		if blocks := uint64(len(w.blocks)); blocks*64 < uint64(w.Size())+64 || blocks&(blocks-1) != 0 {
			t.Errorf("size %d: %d blocks is too few or not a power of two", w.Size(), blocks)
		}
	}
}

type step struct {
	seq  uint64
	want bool
}

func TestReplayWindowTable(t *testing.T) {
	for _, size := range []int{1024, 4096} {
		W := uint64(size)
		cases := []struct {
			name  string
			steps []step
		}{
			{"zero never valid", []step{{0, false}, {1, true}, {0, false}}},
			{"in-window duplicates", []step{
				{1, true}, {1, false}, {100, true}, {50, true}, {50, false}, {99, true}, {99, false}, {100, false}, {2, true},
			}},
			{"too old", []step{{5000, true}, {5000 - W, false}, {1, false}, {4999, true}}},
			{"exact window edges", []step{
				{10000, true}, {10000 - W + 1, true}, {10000 - W + 1, false}, {10000 - W, false},
				{10001, true}, {10000 - W + 1, false}, {10001 - W + 1, true}, {10001 - W, false},
			}},
			{"far-ahead jump", []step{
				{1, true}, {2, true}, {1 << 40, true}, {2, false}, {3, false}, {1<<40 - 1, true}, {1 << 40, false},
				{1<<40 - W + 1, true}, {1<<40 - W, false},
			}},
			{"jump by exactly the ring", []step{
				{64, true}, {64 + 64*uint64(size/64+1), true}, {64 + 64*uint64(size/64+1) - W + 1, true}, {64, false},
			}},
			{"block boundaries", []step{
				{63, true}, {64, true}, {65, true}, {127, true}, {128, true},
				{63, false}, {64, false}, {65, false}, {127, false}, {128, false}, {62, true}, {129, true},
			}},
			{"wrap around the ring", wrapSteps(W)},
		}
		for _, tc := range cases {
			w := NewReplayWindow(size)
			for i, st := range tc.steps {
				if got := w.Check(st.seq); got != st.want {
					t.Fatalf("size %d %s step %d: Check(%d) = %t, want %t", size, tc.name, i, st.seq, got, st.want)
				}
				if got := w.Update(st.seq); got != st.want {
					t.Fatalf("size %d %s step %d: Update(%d) = %t, want %t", size, tc.name, i, st.seq, got, st.want)
				}
			}
		}
	}
}

// wrapSteps slides the window several times around the bitmap ring in
// uneven strides, then checks what is remembered and what is forgotten.
func wrapSteps(W uint64) []step {
	var st []step
	var last uint64
	for s := uint64(1); s < 6*W; s += 37 {
		st = append(st, step{s, true})
		last = s
	}
	for s := last - W + 1; s <= last; s++ { // every received number in the window is remembered
		if (s-1)%37 == 0 {
			st = append(st, step{s, false})
		}
	}
	st = append(st, step{last - W, false}, step{last - W + 2, true}, step{last + 1, true})
	return st
}

// Check must not modify the window.
func TestReplayCheckReadOnly(t *testing.T) {
	w := NewReplayWindow(1024)
	for range 3 {
		if !w.Check(7) {
			t.Fatal("Check(7) false on an empty window")
		}
	}
	if w.Top() != 0 {
		t.Fatal("Check moved the window")
	}
	if !w.Update(7) || w.Check(7) || w.Update(7) {
		t.Fatal("duplicate not detected")
	}
}

// modelWindow is the obvious reference implementation: a set of every
// accepted number and the highest one.
type modelWindow struct {
	size, top uint64
	seen      map[uint64]bool
}

func (m *modelWindow) accept(seq uint64) bool {
	if seq == 0 || m.seen[seq] || (seq <= m.top && m.top-seq >= m.size) {
		return false
	}
	m.seen[seq] = true
	m.top = max(m.top, seq)
	return true
}

// checkAgainstModel feeds seqs to a window and to the model, failing on
// the first disagreement.
func checkAgainstModel(t testing.TB, size int, seqs []uint64) {
	w := NewReplayWindow(size)
	m := &modelWindow{size: uint64(w.Size()), seen: map[uint64]bool{}}
	for i, s := range seqs {
		c := w.Check(s)
		want := m.accept(s)
		if c != want {
			t.Fatalf("step %d: Check(%d) = %t, model %t (top %d)", i, s, c, want, m.top)
		}
		if got := w.Update(s); got != want {
			t.Fatalf("step %d: Update(%d) = %t, model %t (top %d)", i, s, got, want, m.top)
		}
		if w.Top() != m.top {
			t.Fatalf("step %d: top %d, model %d", i, w.Top(), m.top)
		}
	}
}

// seqsFrom turns fuzz bytes into a sequence of sequence numbers that stay
// mostly near the window: small steps ahead, steps back, repeats and
// occasional large jumps.
func seqsFrom(data []byte) []uint64 {
	var out []uint64
	var top uint64
	for len(data) >= 3 {
		op, v := data[0], uint64(data[1])<<8|uint64(data[2])
		data = data[3:]
		var s uint64
		switch op % 5 {
		case 0: // ahead
			s = top + v%300
		case 1: // behind, possibly past the left edge
			s = top - min(top, v%5000)
		case 2: // repeat a recent number
			if len(out) > 0 {
				s = out[len(out)-1-int(v)%len(out)]
			}
		case 3: // large jump
			s = top + v<<10
		case 4: // absolute small value
			s = v
		}
		out = append(out, s)
		top = max(top, s)
	}
	return out
}

func TestReplayAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1024, 4096} {
		for range 20 {
			data := make([]byte, 3*2000)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			checkAgainstModel(t, size, seqsFrom(data))
		}
	}
}

// Concurrent Updates of the same numbers: each is accepted exactly once.
func TestReplayConcurrent(t *testing.T) {
	const n, workers = 3000, 4
	w := NewReplayWindow(4096)
	var accepted [n + 1]atomic.Int32
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range n {
				s := uint64(i + 1)
				if g%2 == 1 {
					s = uint64(n - i)
				}
				if w.Check(s) && w.Update(s) {
					accepted[s].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for s := 1; s <= n; s++ {
		if got := accepted[s].Load(); got != 1 {
			t.Fatalf("seq %d accepted %d times", s, got)
		}
	}
}

func TestESNSeq(t *testing.T) {
	const W = 1024
	cases := []struct {
		name string
		top  uint64
		low  uint32
		want uint64
	}{
		{"empty window, small", 0, 5, 5},
		{"empty window, large low", 0, 0xfffffff0, 0xfffffff0},
		{"case A, same subspace", 0x1_00005000, 0x5001, 0x1_00005001},
		{"case A, in window", 0x1_00005000, 0x5000 - W + 1, 0x1_00005000 - W + 1},
		{"case A, below window means next subspace", 0x1_00005000, 0x10, 0x2_00000010},
		{"case A, top near 2^32, small low wraps", 0xfffffff0, 3, 0x1_00000003},
		{"case A, top near 2^32, in window", 0xfffffff0, 0xffffff00, 0xffffff00},
		{"case B, just crossed, old packet", 0x1_00000005, 0xfffffffe, 0xfffffffe},
		{"case B, just crossed, new packet", 0x1_00000005, 6, 0x1_00000006},
		{"case B, just crossed, far ahead", 0x1_00000005, 0x7fffffff, 0x1_7fffffff},
		{"case B, window edge", 0x1_00000005, 0x1_00000005 - W + 1, 0x1_00000005 - W + 1},
		{"case A edge: tl = W-1, low 0 lies in the window", W - 1, 0, 0},
		{"case A edge: tl = W, low 0 is ahead", W, 0, 0x1_00000000},
	}
	for _, tc := range cases {
		if got := esnSeq(tc.top, W, tc.low); got != tc.want {
			t.Errorf("%s: esnSeq(%#x, %#x) = %#x, want %#x", tc.name, tc.top, tc.low, got, tc.want)
		}
	}
}
