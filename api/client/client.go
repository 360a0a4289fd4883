package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// DefaultSocket is where vigild listens unless configured otherwise.
const DefaultSocket = "/run/vigil/vigil.sock"

// DefaultTimeout bounds each request (except event streams) whose context has no deadline.
const DefaultTimeout = 30 * time.Second

// maxErrorBody bounds how much of a non-JSON error body is quoted.
const maxErrorBody = 512

// Client talks to one vigild control socket. It is safe for concurrent use.
type Client struct {
	socket string
	hc     *http.Client

	// Timeout bounds each request whose context has no deadline; 0 means none. Event streams
	// (FollowEvents) are never bounded by it.
	Timeout time.Duration
}

// New returns a Client for the daemon listening on socketPath ("" means DefaultSocket).
func New(socketPath string) *Client {
	if socketPath == "" {
		socketPath = DefaultSocket
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConns:       4,
		IdleConnTimeout:    30 * time.Second,
		DisableCompression: true,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}, Timeout: DefaultTimeout}
}

// Socket returns the socket path the client connects to.
func (c *Client) Socket() string { return c.socket }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Status returns the daemon's overview.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	var st api.Status
	return st, c.call(ctx, http.MethodGet, "/status", nil, nil, &st)
}

// Version returns the daemon's and API's versions.
func (c *Client) Version(ctx context.Context) (api.VersionInfo, error) {
	var v api.VersionInfo
	return v, c.call(ctx, http.MethodGet, "/version", nil, nil, &v)
}

// Tunnels lists the configured tunnels.
func (c *Client) Tunnels(ctx context.Context) ([]api.Tunnel, error) {
	var ts []api.Tunnel
	return ts, c.call(ctx, http.MethodGet, "/tunnels", nil, nil, &ts)
}

// Tunnel returns one tunnel.
func (c *Client) Tunnel(ctx context.Context, name string) (api.Tunnel, error) {
	var t api.Tunnel
	return t, c.call(ctx, http.MethodGet, "/tunnels/"+url.PathEscape(name), nil, nil, &t)
}

// TunnelUp starts a tunnel and returns its state afterwards (typically "connecting").
func (c *Client) TunnelUp(ctx context.Context, name string) (api.Tunnel, error) {
	var t api.Tunnel
	return t, c.call(ctx, http.MethodPost, "/tunnels/"+url.PathEscape(name)+"/up", nil, nil, &t)
}

// TunnelDown stops a tunnel and returns its state afterwards.
func (c *Client) TunnelDown(ctx context.Context, name string) (api.Tunnel, error) {
	var t api.Tunnel
	return t, c.call(ctx, http.MethodPost, "/tunnels/"+url.PathEscape(name)+"/down", nil, nil, &t)
}

// SAs lists IKE SAs with their Child SAs, of one tunnel or (tunnel "") all.
func (c *Client) SAs(ctx context.Context, tunnel string) ([]api.IKESA, error) {
	var sas []api.IKESA
	return sas, c.call(ctx, http.MethodGet, "/sas", tunnelQuery(tunnel), nil, &sas)
}

// ChildSA finds a Child SA by its inbound or outbound SPI. An SPI that names several Child SAs
// (peers choose the outbound SPIs, so two may coincide) is an api.ErrConflict whose message
// lists them: ChildSAIn picks one by its tunnel.
func (c *Client) ChildSA(ctx context.Context, spi api.SPI) (api.ChildSA, error) {
	return c.ChildSAIn(ctx, "", spi)
}

// ChildSAIn is ChildSA among the Child SAs of one tunnel ("" means all).
func (c *Client) ChildSAIn(ctx context.Context, tunnel string, spi api.SPI) (api.ChildSA, error) {
	var sa api.ChildSA
	return sa, c.call(ctx, http.MethodGet, "/sas/child/"+spi.String(), tunnelQuery(tunnel), nil, &sa)
}

// DeleteChildSA deletes the Child SA with that SPI, sending the peer a Delete if notify is set.
func (c *Client) DeleteChildSA(ctx context.Context, spi api.SPI, notify bool) (api.DeleteResult, error) {
	return c.DeleteChildSAIn(ctx, "", spi, notify)
}

// DeleteChildSAIn is DeleteChildSA among the Child SAs of one tunnel ("" means all).
func (c *Client) DeleteChildSAIn(ctx context.Context, tunnel string, spi api.SPI, notify bool) (api.DeleteResult, error) {
	var res api.DeleteResult
	q := url.Values{"notify": {strconv.FormatBool(notify)}}
	if tunnel != "" {
		q.Set("tunnel", tunnel)
	}
	return res, c.call(ctx, http.MethodDelete, "/sas/child/"+spi.String(), q, nil, &res)
}

// RekeyChildSA starts a make-before-break rekey of the Child SA with that SPI (either
// direction). It returns once the daemon has accepted the request; the outcome shows in the
// events.
func (c *Client) RekeyChildSA(ctx context.Context, spi api.SPI) error {
	return c.RekeyChildSAIn(ctx, "", spi)
}

// RekeyChildSAIn is RekeyChildSA among the Child SAs of one tunnel ("" means all).
func (c *Client) RekeyChildSAIn(ctx context.Context, tunnel string, spi api.SPI) error {
	return c.call(ctx, http.MethodPost, "/sas/child/"+spi.String()+"/rekey", tunnelQuery(tunnel), nil, nil)
}

// RekeyIKESA starts a rekey of the tunnel's IKE SA. It returns once the daemon has accepted the
// request.
func (c *Client) RekeyIKESA(ctx context.Context, tunnel string) error {
	return c.call(ctx, http.MethodPost, "/tunnels/"+url.PathEscape(tunnel)+"/rekey-ike", nil, nil, nil)
}

// Events returns the retained events with sequence numbers above since, of one tunnel or
// (tunnel "") all.
func (c *Client) Events(ctx context.Context, tunnel string, since uint64) ([]api.Event, error) {
	var evs []api.Event
	return evs, c.call(ctx, http.MethodGet, "/events", eventsQuery(tunnel, since, false), nil, &evs)
}

// FollowEvents calls fn for each retained event after since and then for each live event, until
// ctx ends (it returns ctx.Err()), fn returns an error (returned as is), or the daemon ends the
// stream (ErrStreamEnded).
func (c *Client) FollowEvents(ctx context.Context, tunnel string, since uint64, fn func(api.Event) error) error {
	resp, err := c.send(ctx, http.MethodGet, "/events", eventsQuery(tunnel, since, true), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return err
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev api.Event
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return ErrStreamEnded
			}
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(err, &syn) || errors.As(err, &typ) {
				return fmt.Errorf("bad event from vigild: %w", err)
			}
			return fmt.Errorf("%w: %v", ErrStreamEnded, err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// Reload asks the daemon to re-read its configuration.
func (c *Client) Reload(ctx context.Context) (api.ReloadResult, error) {
	var res api.ReloadResult
	return res, c.call(ctx, http.MethodPost, "/reload", nil, nil, &res)
}

// SetLogLevel changes the daemon's log level ("debug", "info", "warn", "error").
func (c *Client) SetLogLevel(ctx context.Context, level string) error {
	var res api.LogLevelRequest
	return c.call(ctx, http.MethodPut, "/log-level", nil, api.LogLevelRequest{Level: level}, &res)
}

func tunnelQuery(tunnel string) url.Values {
	if tunnel == "" {
		return nil
	}
	return url.Values{"tunnel": {tunnel}}
}

func eventsQuery(tunnel string, since uint64, follow bool) url.Values {
	q := url.Values{}
	if tunnel != "" {
		q.Set("tunnel", tunnel)
	}
	if since > 0 {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	if follow {
		q.Set("follow", "1")
	}
	return q
}

// call does a bounded request and decodes the JSON answer into out; with out nil the answer
// (e.g. {} or an empty 204 body) is discarded.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	if _, ok := ctx.Deadline(); !ok && c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return err
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() == nil {
			return fmt.Errorf("bad answer from vigild to %s %s: %w", method, path, err)
		}
		return c.transportError(ctx, err)
	}
	return nil
}

// send issues the request; failing to get a response is a *DaemonUnreachableError (or the
// caller's context error).
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://vigild/" + api.Version + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	return resp, nil
}

// transportError tells the caller's own cancellation apart from an unreachable daemon.
func (c *Client) transportError(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		return cerr // canceled by the caller
	}
	return &DaemonUnreachableError{Socket: c.socket, Err: err}
}

// checkStatus turns a non-2xx response into *api.Error.
func checkStatus(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &api.Error{Status: resp.StatusCode}
	if json.Unmarshal(b, e) != nil || e.Message == "" {
		msg := strings.TrimSpace(string(b))
		if len(msg) > maxErrorBody {
			msg = msg[:maxErrorBody] + "..."
		}
		e.Message = fmt.Sprintf("vigild answered %s", resp.Status)
		if msg != "" {
			e.Message += ": " + msg
		}
	}
	return e
}
