// Package apitest provides a fake api.Backend with fixed, deterministic data and a helper that
// serves it on a unix socket in a test's temporary directory. It is for tests of the API server,
// the client and the vigil CLI.
package apitest
