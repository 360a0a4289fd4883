// Package logwriter puts a "group commit" between a log handler and its output (stderr, a
// file): each Write hands a complete line to a writer goroutine, which writes everything
// pending in one call. At a low rate every line is written at once (the goroutine is idle and
// takes it immediately); in a burst, the lines that arrive while one write is in progress go
// out together in the next, so a burst of thousands of lines costs a few write(2) calls
// instead of one each. With Options.Linger, the writer also waits that long after each write
// before it takes the next lines: a steady stream of lines then wakes it at most once per
// Linger instead of once per line (each wake is a thread switch, and a daemon setting up
// thousands of SAs a second logs thousands of lines a second).
//
// Lines are never dropped, reordered or split: a Write is copied whole into the pending
// buffer, in the order of the calls. Memory is bounded: when the pending lines reach the
// limit (because the output is slow or blocked), Write waits until the writer goroutine has
// taken them.
package logwriter

import (
	"io"
	"sync"
	"time"
)

// DefaultMaxPending is the default bound of the lines waiting to be written.
const DefaultMaxPending = 1 << 20

// Options configure a Writer.
type Options struct {
	// MaxPending bounds the bytes waiting to be written (0: DefaultMaxPending). One more
	// batch of at most this size may be in the middle of being written. A single line longer
	// than the bound is accepted alone. The two buffers are kept for the next burst: a
	// Writer holds at most about 2 x MaxPending, and only as much as its largest burst.
	MaxPending int
	// OnError, if set, is called once with the first error the output returns (from the
	// writer goroutine, or from a Write after Close). The batch that failed is dropped (the
	// output said it could not take it); later batches are still tried, and their errors
	// are not reported again. OnError must not write to the Writer.
	OnError func(error)
	// Linger is how long the writer goroutine waits after a write before it takes the lines
	// that came meanwhile (0: it takes them at once). A line that finds the writer idle is
	// still written at once; a line may wait up to Linger behind a previous write. Close and
	// Flush wait for the linger in progress.
	Linger time.Duration
}

// Writer is an io.Writer that coalesces the lines written to it in a burst into one write
// to its output. It is safe for concurrent use; each Write must be one complete line (as
// log/slog's handlers write them), since lines of concurrent writers are not interleaved
// within a Write but may be between them.
type Writer struct {
	out     io.Writer
	max     int
	onError func(error)
	linger  time.Duration

	mu      sync.Mutex
	wake    sync.Cond // the writer goroutine waits for lines or Close
	room    sync.Cond // Write waits for room; Flush for the output to catch up
	pending []byte    // lines not yet taken by the writer goroutine
	spare   []byte    // an empty buffer to take the place of pending
	writing bool      // the writer goroutine is writing a batch (or lingering after one)
	closed  bool      // Close was called: the writer goroutine stops once nothing is pending
	stopped bool      // the writer goroutine has stopped: Write writes through
	err     error     // the first write error
	done    chan struct{}
}

// New returns a Writer writing to out, and starts its writer goroutine; Close stops it.
func New(out io.Writer, o Options) *Writer {
	w := &Writer{out: out, max: o.MaxPending, onError: o.OnError, linger: o.Linger, done: make(chan struct{})}
	if w.max <= 0 {
		w.max = DefaultMaxPending
	}
	w.wake.L = &w.mu
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues a copy of p (one line) to be written, waiting while the pending lines are at
// the bound. It always reports len(p) and no error: write errors of the output go to
// Options.OnError and Close. After Close, p is written straight to the output.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.stopped {
		// Lines logged during shutdown after the flush (nothing is pending any more, so
		// order holds): write them through rather than lose them. Lines written while
		// Close is flushing are queued as before and flushed with the rest.
		n, err := w.out.Write(p)
		first := w.noteError(err)
		w.mu.Unlock()
		w.report(first, err)
		return n, err
	}
	defer w.mu.Unlock()
	// Wait for room; a line alone is always accepted, however long.
	for len(w.pending) > 0 && len(w.pending)+len(p) > w.max {
		w.room.Wait()
	}
	wasEmpty := len(w.pending) == 0
	w.pending = append(w.pending, p...)
	if wasEmpty && !w.writing {
		// The goroutine is idle (or about to be): it takes this line at once.
		w.wake.Signal()
	}
	return len(p), nil
}

// run is the writer goroutine: it takes everything pending and writes it in one call, until
// Close has been called and nothing is pending.
func (w *Writer) run() {
	defer close(w.done)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.pending) == 0 && !w.closed {
			w.wake.Wait()
		}
		if len(w.pending) == 0 {
			w.stopped = true // closed and flushed
			return
		}
		batch := w.pending
		w.pending, w.spare = w.spare[:0], nil
		w.writing = true
		w.room.Broadcast() // the pending buffer is empty again
		w.mu.Unlock()

		n, err := w.out.Write(batch)
		if err == nil && n != len(batch) {
			err = io.ErrShortWrite // the output broke io.Writer's contract
		}

		if w.linger > 0 {
			// Still "writing": Writes meanwhile queue their lines without waking us.
			time.Sleep(w.linger)
		}
		w.mu.Lock()
		if w.noteError(err) {
			w.mu.Unlock()
			w.report(true, err) // before Flush returns
			w.mu.Lock()
		}
		w.writing = false
		// Kept for the next batch: reallocating (and growing) buffers per burst costs more
		// than the write(2) calls saved. The two buffers stay at most 2 x MaxPending.
		w.spare = batch[:0]
		w.room.Broadcast() // Flush waits for the batch to be out
	}
}

// noteError records err if it is the first one, and says so. w.mu is held.
func (w *Writer) noteError(err error) (first bool) {
	if err == nil || w.err != nil {
		return false
	}
	w.err = err
	return true
}

// report passes the first error to OnError, without w.mu held: the callback may take its
// own locks and write elsewhere (it must not write to w).
func (w *Writer) report(first bool, err error) {
	if first && w.onError != nil {
		w.onError(err)
	}
}

// Flush waits until every line written before it has been handed to the output.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) > 0 || w.writing {
		w.room.Wait()
	}
}

// Close writes out the pending lines, stops the writer goroutine and returns the first error
// the output returned, if any. Later Writes go straight to the output. Close may be called
// more than once. Like a direct write, it waits as long as the output blocks.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	w.wake.Signal()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
