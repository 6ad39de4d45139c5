package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
)

// Client is the stand-in's HTTP API as a program calls it, one method per
// route the server (routes, healthRoutes) serves, typed as the server
// answers. Every scenario that talks to a stand-in goes through it, so that
// the routes and their bodies are written once on each side.
type Client struct {
	// Base is the stand-in's address, http://host:port.
	Base string
	HTTP *http.Client
}

// clientTimeout bounds one call: a member that does not answer in it
// counts as not answering (a powered-off node's pod never answers).
const clientTimeout = 500 * time.Millisecond

// NewClient calls the stand-in at host (an IP or name) on its HTTP port,
// with no kept-alive connections, so that every call is a new connection,
// as a probe's is: a route cut since the last call is seen at once.
func NewClient(host string) *Client {
	return NewClientAt(net.JoinHostPort(host, strconv.Itoa(hub.HTTPPort)))
}

// NewClientAt calls the stand-in at addr, host:port.
func NewClientAt(addr string) *Client {
	return &Client{Base: "http://" + addr, HTTP: &http.Client{Timeout: clientTimeout, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// Readyz is GET /v2/readyz: its status (200 on a started single Hub or on
// the primary, 503 otherwise) and its body.
func (c *Client) Readyz(ctx context.Context) (int, hub.Health, error) {
	var h hub.Health
	code, err := c.do(ctx, http.MethodGet, hub.Readyz, nil, &h)
	return code, h, err
}

// Livez is GET /v2/livez: 200 on every live Hub, and its body.
func (c *Client) Livez(ctx context.Context) (int, hub.Health, error) {
	var h hub.Health
	code, err := c.do(ctx, http.MethodGet, hub.Livez, nil, &h)
	return code, h, err
}

// HA is GET /debug/ha: an HA member's state (paths and digests only).
func (c *Client) HA(ctx context.Context) (HAStatus, error) {
	var s HAStatus
	return s, c.ok(ctx, http.MethodGet, "/debug/ha", nil, &s)
}

// Status is GET /debug/standin: what the stand-in is and loaded.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.ok(ctx, http.MethodGet, "/debug/standin", nil, &s)
}

// Append is POST /journal: the entry, once acknowledged (after its fsync).
func (c *Client) Append(ctx context.Context, text string) (Entry, error) {
	var e Entry
	return e, c.ok(ctx, http.MethodPost, "/journal", []byte(text), &e)
}

// PutSettings is PUT /settings: a settings change made in the Hub's UI,
// written back to the file it read them from (refused on a secondary).
func (c *Client) PutSettings(ctx context.Context, settings []byte) error {
	return c.ok(ctx, http.MethodPut, "/settings", settings, nil)
}

// ok calls path and wants 200; another status is an error that quotes
// the answer.
func (c *Client) ok(ctx context.Context, method, path string, body []byte, out any) error {
	code, answer, err := c.call(ctx, method, path, body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s %s%s: status %d: %q", method, c.Base, path, code, bytes.TrimSpace(answer))
	}
	return decode(method, c.Base+path, answer, out)
}

// do calls path and decodes its JSON answer into out, whatever its status
// (the health routes answer 503 with a body).
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	code, answer, err := c.call(ctx, method, path, body)
	if err != nil {
		return code, err
	}
	return code, decode(method, c.Base+path, answer, out)
}

func (c *Client) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s%s: %w", method, c.Base, path, err)
	}
	return resp.StatusCode, answer, nil
}

func decode(method, url string, answer []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("%s %s: not the JSON it serves: %q", method, url, bytes.TrimSpace(answer))
	}
	return nil
}
