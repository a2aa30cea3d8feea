package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// clientTimeout bounds a whole request when the caller's context does
	// not, so a CLI command never hangs on a stuck node.
	clientTimeout = 30 * time.Second
	// maxReplySize bounds a reply the client reads: the largest is a block,
	// whose base64 transactions are 4/3 of MaxTxBodySize at most.
	maxReplySize = 8 << 20
	// maxMessageLen bounds the part of a non-API error body (from a proxy,
	// say) quoted in an HTTPError.
	maxMessageLen = 200
)

// Client calls a node's API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
}

// NewClient returns a Client for the API at baseURL, such as
// "http://127.0.0.1:26657"; a path is kept as a prefix of every route.
func NewClient(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("api client: base URL %q: %w; expected a URL such as http://%s", baseURL, err, DefaultListen)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("api client: base URL %q: scheme %q; expected http or https, as in http://%s", baseURL, u.Scheme, DefaultListen)
	case u.Host == "":
		return nil, fmt.Errorf("api client: base URL %q has no host; expected a URL such as http://%s", baseURL, DefaultListen)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("api client: base URL %q has a query or fragment; expected scheme://host:port[/path]", baseURL)
	}
	// An own transport, so CloseIdleConnections affects this client only.
	var tr http.RoundTripper = &http.Transport{Proxy: http.ProxyFromEnvironment}
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = def.Clone()
	}
	return &Client{base: u, http: &http.Client{Transport: tr, Timeout: clientTimeout}}, nil
}

// CloseIdleConnections closes the client's kept-alive connections, for a
// long-running process that is done with the node.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, nil, &st, "status")
	return st, err
}

// Header returns a header by ref: "head" (the newest), a height, or a hash
// as 64 hex digits. A malformed ref fails with ErrInvalidRef without a
// request.
func (c *Client) Header(ctx context.Context, ref string) (HeaderJSON, error) {
	var h HeaderJSON
	path, err := headerPath(ref)
	if err != nil {
		return h, err
	}
	err = c.do(ctx, http.MethodGet, nil, &h, path...)
	return h, err
}

// Block returns the block at height; 0 fails with ErrInvalidRef without a
// request.
func (c *Client) Block(ctx context.Context, height uint64) (BlockJSON, error) {
	var b BlockJSON
	if height == 0 {
		return b, fmt.Errorf("%w: height 0; heights start at 1", ErrInvalidRef)
	}
	err := c.do(ctx, http.MethodGet, nil, &b, "blocks", strconv.FormatUint(height, 10))
	return b, err
}

// SubmitTx sends one transaction to the node, which must be the sequencer,
// and returns how many transactions are waiting for the next block. A
// transaction over MaxTxBodySize fails with ErrTxTooLarge without a request:
// the server would refuse it, and could only do so by closing the connection
// while it is still being sent.
func (c *Client) SubmitTx(ctx context.Context, tx []byte) (pending int, err error) {
	if len(tx) > MaxTxBodySize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTxTooLarge, len(tx), MaxTxBodySize)
	}
	if tx == nil {
		tx = []byte{} // a nil body would send no Content-Length
	}
	var reply submitTxReply
	err = c.do(ctx, http.MethodPost, tx, &reply, "txs")
	return reply.Pending, err
}

// do sends a request to the route made of path and decodes a 2xx reply into
// out. Errors name the method and URL; a non-2xx reply is an *HTTPError.
func (c *Client) do(ctx context.Context, method string, body []byte, out any, path ...string) error {
	u := c.base.JoinPath(path...)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // *url.Error already names the method and URL
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplySize+1))
	if err != nil {
		return fmt.Errorf("%s %s: read reply: %w", method, u.Redacted(), err)
	}
	if len(data) > maxReplySize {
		return fmt.Errorf("%s %s: reply over %d bytes", method, u.Redacted(), maxReplySize)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), replyError(resp.StatusCode, data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode reply: %w", method, u.Redacted(), err)
	}
	return nil
}

// replyError builds the HTTPError for a non-2xx reply: the API's "error"
// field, or else the start of the body, which may come from a proxy or
// another program on the port.
func replyError(code int, body []byte) *HTTPError {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error != "" {
		return &HTTPError{StatusCode: code, Message: eb.Error}
	}
	msg := strings.TrimSpace(string(body))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > maxMessageLen {
		// Cutting may split a rune; drop its remains.
		msg = strings.ToValidUTF8(msg[:maxMessageLen], "") + "..."
	}
	return &HTTPError{StatusCode: code, Message: msg}
}
