// Package client is a typed Go client for vigild's control API (package api) over its unix
// socket. Errors the daemon reports come back as *api.Error (errors.Is works with api.ErrNotFound
// etc.); failing to talk to the daemon at all is a *DaemonUnreachableError.
package client
