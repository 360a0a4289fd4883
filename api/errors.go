package api

import (
	"errors"
	"net/http"
)

// Sentinel errors a Backend wraps (fmt.Errorf("tunnel %q: %w", name, api.ErrNotFound)) so the
// server can pick the HTTP status: 404, 400 and 409 respectively. Any other error becomes 500.
// On the client side, errors.Is(err, ErrNotFound) etc. also holds for an *Error with that status.
var (
	ErrNotFound   = errors.New("not found")
	ErrBadRequest = errors.New("bad request")
	ErrConflict   = errors.New("conflict")
)

// Error is an error reported by the API: the HTTP status and the message of the {"error": "..."}
// body.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
}

// Error returns the daemon's message (or the HTTP status text if it sent none).
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if t := http.StatusText(e.Status); t != "" {
		return t
	}
	return "error"
}

// Is makes errors.Is(err, ErrNotFound/ErrBadRequest/ErrConflict) work on decoded errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// statusOf maps a Backend error to an HTTP status.
func statusOf(err error) int {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status >= 400:
		return apiErr.Status
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
