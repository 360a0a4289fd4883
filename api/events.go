package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// handleEvents answers GET /v1/events?tunnel=&since=[&follow=1]. Without follow it returns the
// retained events after since as a JSON array. With follow it streams NDJSON: first that backlog,
// then live events until the client goes away or the server shuts down, flushing each line.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tunnel := q.Get("tunnel")
	var since uint64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("since must be an event sequence number, got %q: %w", v, ErrBadRequest))
			return
		}
		since = n
	}
	follow := false
	if v := q.Get("follow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("follow must be 1 or 0, got %q: %w", v, ErrBadRequest))
			return
		}
		follow = b
	}
	if !follow {
		writeJSON(w, http.StatusOK, nonNil(s.b.Events(tunnel, since)))
		return
	}

	// Subscribe before reading the backlog so nothing published in between is lost; live events
	// already sent as backlog are skipped by sequence number.
	ctx := r.Context()
	live := s.b.Subscribe(ctx, tunnel)
	backlog := s.b.Events(tunnel, since)

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	last := since
	for _, ev := range backlog {
		if err := enc.Encode(ev); err != nil {
			return
		}
		last = max(last, ev.Seq)
	}
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-live:
			if !ok {
				return
			}
			if ev.Seq <= last || (tunnel != "" && ev.Tunnel != tunnel) {
				continue
			}
			last = ev.Seq
			if err := enc.Encode(ev); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
