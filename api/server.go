package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/internal/logthrottle"
)

// maxBodyBytes bounds request bodies; the only body is the log-level request.
const maxBodyBytes = 64 << 10

// Server serves the control API for a Backend. It is an http.Handler; Serve runs it on a unix
// socket.
type Server struct {
	b     Backend
	log   *slog.Logger
	mux   *http.ServeMux
	peers atomic.Pointer[PeerPolicy] // who may connect (ServeListener)
	lt    *logthrottle.Throttle      // refused connections
}

// NewServer returns a Server for b. A nil logger discards log output.
func NewServer(b Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: b, log: logger, mux: http.NewServeMux(), lt: logthrottle.New(0, 0)}
	s.SetPeerPolicy(DefaultPeerPolicy())
	s.routes()
	return s
}

func (s *Server) routes() {
	p := "/" + Version
	s.mux.HandleFunc("GET "+p+"/status", s.handleStatus)
	s.mux.HandleFunc("GET "+p+"/version", s.handleVersion)
	s.mux.HandleFunc("GET "+p+"/tunnels", s.handleTunnels)
	s.mux.HandleFunc("GET "+p+"/tunnels/{name}", s.handleTunnel)
	s.mux.HandleFunc("POST "+p+"/tunnels/{name}/up", s.handleTunnelUp)
	s.mux.HandleFunc("POST "+p+"/tunnels/{name}/down", s.handleTunnelDown)
	s.mux.HandleFunc("POST "+p+"/tunnels/{name}/rekey-ike", s.handleRekeyIKESA)
	s.mux.HandleFunc("GET "+p+"/sas", s.handleSAs)
	s.mux.HandleFunc("GET "+p+"/sas/child/{spi}", s.handleChildSA)
	s.mux.HandleFunc("DELETE "+p+"/sas/child/{spi}", s.handleDeleteChildSA)
	s.mux.HandleFunc("POST "+p+"/sas/child/{spi}/rekey", s.handleRekeyChildSA)
	s.mux.HandleFunc("GET "+p+"/events", s.handleEvents)
	s.mux.HandleFunc("POST "+p+"/reload", s.handleReload)
	s.mux.HandleFunc("PUT "+p+"/log-level", s.handleLogLevel)
}

// ServeHTTP routes the request. Unknown paths and methods get a JSON error body like every other
// error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		rec.jsonErrors = true // the mux's own 404/405 reply, rewritten as JSON
	}
	s.mux.ServeHTTP(rec, r)
	s.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"duration", time.Since(start))
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.b.Status())
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, VersionInfo{API: Version, Daemon: s.b.Status().Version, Go: runtime.Version()})
}

func (s *Server) handleTunnels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.b.Tunnels()))
}

func (s *Server) handleTunnel(w http.ResponseWriter, r *http.Request) {
	t, err := s.b.Tunnel(r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) handleTunnelUp(w http.ResponseWriter, r *http.Request) {
	s.tunnelAction(w, r, s.b.TunnelUp)
}

func (s *Server) handleTunnelDown(w http.ResponseWriter, r *http.Request) {
	s.tunnelAction(w, r, s.b.TunnelDown)
}

// tunnelAction runs up/down and answers with the tunnel's state afterwards.
func (s *Server) tunnelAction(w http.ResponseWriter, r *http.Request, action func(string) error) {
	name := r.PathValue("name")
	if err := action(name); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.b.Tunnel(name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) handleSAs(w http.ResponseWriter, r *http.Request) {
	tunnel := r.URL.Query().Get("tunnel")
	if tunnel != "" {
		if _, err := s.b.Tunnel(tunnel); err != nil { // 404 rather than an empty list for a typo
			s.writeError(w, r, err)
			return
		}
	}
	sas := nonNil(s.b.SAs(tunnel))
	for i := range sas {
		sas[i].Children = nonNil(sas[i].Children)
	}
	writeJSON(w, http.StatusOK, sas)
}

func (s *Server) handleChildSA(w http.ResponseWriter, r *http.Request) {
	spi, err := pathSPI(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.b.ChildSA(spi, r.URL.Query().Get("tunnel"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleDeleteChildSA(w http.ResponseWriter, r *http.Request) {
	spi, err := pathSPI(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	notify := true
	if v := r.URL.Query().Get("notify"); v != "" {
		notify, err = strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("notify must be true or false, got %q: %w", v, ErrBadRequest))
			return
		}
	}
	res, err := s.b.DeleteChildSA(spi, r.URL.Query().Get("tunnel"), notify)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleRekeyChildSA starts a Child SA rekey; 202 Accepted with {} since it completes later
// (watch the events for the outcome).
func (s *Server) handleRekeyChildSA(w http.ResponseWriter, r *http.Request) {
	spi, err := pathSPI(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.b.RekeyChildSA(spi, r.URL.Query().Get("tunnel")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// handleRekeyIKESA starts a rekey of a tunnel's IKE SA; 202 Accepted with {}.
func (s *Server) handleRekeyIKESA(w http.ResponseWriter, r *http.Request) {
	if err := s.b.RekeyIKESA(r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	res, err := s.b.Reload()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res.UnchangedCount = len(res.Unchanged)
	if len(res.Unchanged) > MaxListedUnchanged && r.URL.Query().Get("unchanged") != "all" {
		res.Unchanged = nil
	}
	res.Added, res.Removed = nonNil(res.Added), nonNil(res.Removed)
	res.Changed, res.Unchanged = nonNil(res.Changed), nonNil(res.Unchanged)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleLogLevel(w http.ResponseWriter, r *http.Request) {
	var req LogLevelRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, r, fmt.Errorf("body must be {\"level\": \"debug|info|warn|error\"}: %v: %w", err, ErrBadRequest))
		return
	}
	if req.Level == "" {
		s.writeError(w, r, fmt.Errorf("level is empty: %w", ErrBadRequest))
		return
	}
	if err := s.b.SetLogLevel(req.Level); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// pathSPI parses the {spi} path segment; 0 is rejected since it names no SA.
func pathSPI(r *http.Request) (SPI, error) {
	spi, err := ParseSPI(r.PathValue("spi"))
	if err != nil {
		return 0, fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	if !spi.Valid() {
		return 0, fmt.Errorf("spi 0x00000000 is reserved and names no SA: %w", ErrBadRequest)
	}
	return spi, nil
}

// writeError sends err as {"error": "..."} with the status its sentinel maps to.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, Error{Status: status, Message: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Error{Message: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// recorder notes the response status for logging and, for the mux's own not-found and
// method-not-allowed replies, replaces the text body with a JSON error.
type recorder struct {
	http.ResponseWriter
	status      int
	jsonErrors  bool
	wroteHeader bool
}

func (rec *recorder) WriteHeader(code int) {
	if rec.wroteHeader {
		return
	}
	rec.wroteHeader = true
	rec.status = code
	if rec.jsonErrors && code >= 400 {
		h := rec.ResponseWriter.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		msg := "no such route"
		if code == http.StatusMethodNotAllowed {
			msg = "method not allowed (allowed: " + h.Get("Allow") + ")"
		}
		writeJSON(rec.ResponseWriter, code, Error{Status: code, Message: msg})
		return
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.jsonErrors && rec.status >= 400 {
		return len(b), nil // the mux's text body; the JSON one was written already
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Flush sends buffered data to the client.
func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
