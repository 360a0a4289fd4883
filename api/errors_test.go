package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("tunnel %q: %w", "x", ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("bad level: %w", ErrBadRequest), http.StatusBadRequest},
		{fmt.Errorf("wrap: %w", fmt.Errorf("already up: %w", ErrConflict)), http.StatusConflict},
		{errors.Join(errors.New("a"), ErrNotFound), http.StatusNotFound},
		{&Error{Status: http.StatusServiceUnavailable, Message: "starting"}, http.StatusServiceUnavailable},
		{errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := statusOf(tt.err); got != tt.want {
			t.Errorf("statusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	var err error = &Error{Status: 404, Message: `tunnel "x": not found`}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Errorf("404 Error: Is(ErrNotFound) should hold and Is(ErrConflict) should not")
	}
	if !errors.Is(&Error{Status: 409}, ErrConflict) || !errors.Is(&Error{Status: 400}, ErrBadRequest) {
		t.Errorf("409/400 should match ErrConflict/ErrBadRequest")
	}
	if got := (&Error{Status: 409}).Error(); got != "Conflict" {
		t.Errorf("Error() without message = %q, want status text", got)
	}
}
