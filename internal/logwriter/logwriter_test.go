package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// output records the writes it gets, one element per call. With a gate, each write first
// waits for a value on it (the output is blocked until the test lets a write through).
type output struct {
	gate chan struct{}
	err  error

	mu     sync.Mutex
	writes []string
}

func (o *output) Write(p []byte) (int, error) {
	if o.gate != nil {
		<-o.gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes = append(o.writes, string(p))
	if o.err != nil {
		return 0, o.err
	}
	return len(p), nil
}

func (o *output) calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.writes...)
}

func (o *output) text() string { return strings.Join(o.calls(), "") }

func (w *Writer) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// TestLineWrittenAtOnce: a single line is written without waiting for more (no timer, no
// Flush needed).
func TestLineWrittenAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &output{}
		w := New(out, Options{})
		defer w.Close()
		start := time.Now()
		w.Write([]byte("one\n"))
		synctest.Wait() // the writer goroutine is idle again
		if got := out.calls(); len(got) != 1 || got[0] != "one\n" {
			t.Errorf("writes %q, want one write of the line", got)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the line was written after %v, want at once", d)
		}
		w.Write([]byte("two\n"))
		synctest.Wait()
		if got := out.text(); got != "one\ntwo\n" {
			t.Errorf("output %q", got)
		}
	})
}

// TestBurstCoalesced: lines written while a write is in progress go out in one write.
func TestBurstCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &output{gate: make(chan struct{})}
		w := New(out, Options{})
		defer w.Close()
		w.Write([]byte("first\n"))
		synctest.Wait() // the writer goroutine is blocked in the output with "first"
		var want strings.Builder
		want.WriteString("first\n")
		for i := range 100 {
			line := fmt.Sprintf("line %d\n", i)
			want.WriteString(line)
			w.Write([]byte(line))
		}
		close(out.gate)
		w.Flush()
		got := out.calls()
		if len(got) != 2 || got[0] != "first\n" {
			t.Fatalf("%d writes %q, want the first line and then the other 100 in one write", len(got), got)
		}
		if s := out.text(); s != want.String() {
			t.Errorf("output %q, want %q", s, want.String())
		}
	})
}

// TestConcurrentWritersOrderAndLoss: lines of many writers all arrive, whole, each writer's
// in the order it wrote them.
func TestConcurrentWritersOrderAndLoss(t *testing.T) {
	const writers, lines = 8, 2000
	out := &output{}
	w := New(out, Options{MaxPending: 4096}) // small: writers also wait for room
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer=%d line=%d end\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	for l := range strings.Lines(out.text()) {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer=%d line=%d end\n", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("line %q is not one that was written (split or merged?)", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines arrived, want %d", g, n, lines)
		}
	}
}

// TestBoundedWhileBlocked: with the output blocked, writers wait once MaxPending bytes are
// pending instead of growing the buffer; when the output moves, everything arrives in order.
func TestBoundedWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const max = 100
		out := &output{gate: make(chan struct{})}
		w := New(out, Options{MaxPending: max})
		line := []byte("0123456789\n") // 11 bytes: 9 fit in the bound
		w.Write(line)
		synctest.Wait() // the first line is stuck in the output
		var accepted atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 50 {
				w.Write(line)
				accepted.Add(1)
			}
		}()
		synctest.Wait()
		if n := accepted.Load(); n != 9 {
			t.Errorf("%d lines accepted while the output was blocked, want 9 (bound %d bytes)", n, max)
		}
		if n := w.pendingLen(); n > max {
			t.Errorf("%d bytes pending, bound %d", n, max)
		}
		select {
		case <-done:
			t.Fatal("the writer did not wait for room")
		default:
		}
		close(out.gate)
		<-done
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := out.text(), strings.Repeat(string(line), 51); got != want {
			t.Errorf("output has %d bytes, want %d (51 lines)", len(got), len(want))
		}
		for _, c := range out.calls() {
			if len(c) > max {
				t.Errorf("a write of %d bytes, more than the bound %d", len(c), max)
			}
		}
	})
}

// TestLongLineAlone: a line longer than the bound is taken whole (never split).
func TestLongLineAlone(t *testing.T) {
	out := &output{}
	w := New(out, Options{MaxPending: 10})
	long := strings.Repeat("x", 100) + "\n"
	w.Write([]byte("short\n"))
	w.Write([]byte(long))
	w.Write([]byte("short\n"))
	w.Close()
	if got := out.text(); got != "short\n"+long+"short\n" {
		t.Errorf("output %q", got)
	}
	for _, c := range out.calls() {
		if strings.Contains(c, "x") && !strings.Contains(c, long) {
			t.Errorf("the long line was split: write %q", c)
		}
	}
}

// TestCloseFlushes: Close returns after every line written before it (or while it flushes)
// is out; lines written after Close go straight to the output.
func TestCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &output{gate: make(chan struct{})}
		w := New(out, Options{})
		var want bytes.Buffer
		for i := range 10 {
			fmt.Fprintf(&want, "line %d\n", i)
			fmt.Fprintf(w, "line %d\n", i)
		}
		closed := make(chan error)
		go func() { closed <- w.Close() }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned with lines still pending")
		default:
		}
		// A line written while Close flushes is queued behind the others (written through,
		// it would overtake them, or here wait for the blocked output).
		fmt.Fprintf(w, "during Close\n")
		want.WriteString("during Close\n")
		close(out.gate) // let the writes through from now on
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if got := out.text(); got != want.String() {
			t.Errorf("after Close: %q, want %q", got, want.String())
		}
		fmt.Fprintf(w, "late\n")
		if got := out.text(); got != want.String()+"late\n" {
			t.Errorf("a line written after Close: output %q", got)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestWriteErrorReportedOnce: a failing output is reported once, to OnError and by Close;
// nothing panics and writing goes on.
func TestWriteErrorReportedOnce(t *testing.T) {
	broken := errors.New("disk full")
	out := &output{err: broken}
	var reports []error
	w := New(out, Options{OnError: func(err error) { reports = append(reports, err) }})
	for i := range 5 {
		if n, err := fmt.Fprintf(w, "line %d\n", i); err != nil || n != 7 {
			t.Errorf("Write: %d, %v; want 7, nil (errors go to OnError)", n, err)
		}
		w.Flush() // one batch per line: five failed writes
	}
	if err := w.Close(); !errors.Is(err, broken) {
		t.Errorf("Close: %v, want %v", err, broken)
	}
	if len(reports) != 1 || !errors.Is(reports[0], broken) {
		t.Errorf("OnError got %v, want the error once", reports)
	}
	if n := len(out.calls()); n != 5 {
		t.Errorf("%d writes tried, want 5 (one per batch, none retried)", n)
	}
}

// shortOutput takes less than it is given without an error (breaking io.Writer's contract).
type shortOutput struct{}

func (shortOutput) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestShortWriteIsAnError(t *testing.T) {
	w := New(shortOutput{}, Options{})
	w.Write([]byte("line\n"))
	if err := w.Close(); err == nil {
		t.Error("a short write was not reported")
	}
}

// TestLingerCoalesces: with Linger, a line that finds the writer idle is written at once, and
// the lines that follow it within Linger go out together when the linger ends, in one write.
func TestLingerCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const linger = 2 * time.Millisecond
		out := &output{}
		w := New(out, Options{Linger: linger})
		defer w.Close()
		start := time.Now()
		w.Write([]byte("one\n"))
		synctest.Wait() // written; the writer lingers
		for _, l := range []string{"two\n", "three\n"} {
			w.Write([]byte(l))
		}
		synctest.Wait()
		if got := out.calls(); len(got) != 1 || got[0] != "one\n" {
			t.Fatalf("writes %q during the linger, want only the first line", got)
		}
		time.Sleep(linger)
		synctest.Wait()
		if got := out.calls(); len(got) != 2 || got[1] != "two\nthree\n" {
			t.Fatalf("writes %q after the linger, want the two lines in one write", got)
		}
		if d := time.Since(start); d != linger {
			t.Errorf("second write after %v, want %v", d, linger)
		}
		time.Sleep(10 * linger) // idle again
		idle := time.Now()
		w.Write([]byte("four\n"))
		synctest.Wait()
		if got := out.calls(); len(got) != 3 || got[2] != "four\n" || time.Since(idle) != 0 {
			t.Errorf("writes %q, want the line after a quiet spell written at once", got)
		}
		w.Write([]byte("five\n"))
		w.Flush() // waits out the linger
		if got := out.text(); got != "one\ntwo\nthree\nfour\nfive\n" {
			t.Errorf("output %q", got)
		}
	})
}
