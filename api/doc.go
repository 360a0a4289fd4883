// Package api defines Vigil's local control API: the JSON types exchanged between the vigild
// daemon and its clients, and an HTTP server that exposes a Backend (the daemon) on a unix socket.
//
// All routes live under /v1 (see Version). Successful responses are JSON bodies; errors are
// {"error": "..."} with a 4xx/5xx status, decoded by clients into *Error. The event stream
// (GET /v1/events?follow=1) is newline-delimited JSON, one Event per line.
//
// The typed client is in package api/client; package api/apitest holds a fake Backend for tests.
package api
