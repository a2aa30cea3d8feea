package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/p2psync"
)

// ErrInvalidRef is wrapped by errors about a malformed height or hash, from
// the server (as 400) and from the Client before it sends a request.
var ErrInvalidRef = errors.New("invalid height or hash")

// errReadBody is a failure to read a request body: the client's doing (it
// left, or sent too slowly), so a 400.
var errReadBody = errors.New("read request body")

// HTTPError is a non-2xx reply, as the Client returns it (wrapped with the
// method and URL; find it with errors.As).
type HTTPError struct {
	StatusCode int
	// Message is the server's "error" field, or the start of the body when
	// the reply was not an API error.
	Message string
}

// Error reads as one line: "404 Not Found: height 9: header: not found".
func (e *HTTPError) Error() string {
	text := http.StatusText(e.StatusCode)
	if text == "" {
		text = "status"
	}
	if e.Message == "" {
		return fmt.Sprintf("%d %s", e.StatusCode, text)
	}
	return fmt.Sprintf("%d %s: %s", e.StatusCode, text, e.Message)
}

// prunedError is a request for a height below the lowest one the node
// keeps (a windowed node, or one begun above genesis). It is the service's
// *p2psync.PrunedError, so header.ErrNotFound and a 404, worded for the
// thing asked for: "block 5 pruned: this node keeps heights 11..30".
type prunedError struct {
	what string // "header 5", "block 5"
	err  *p2psync.PrunedError
}

func (e *prunedError) Error() string {
	return fmt.Sprintf("%s pruned: this node keeps heights %d..%d", e.what, e.err.Base, e.err.Head)
}

func (e *prunedError) Unwrap() error { return e.err }

// errorBody is the body of every error reply.
type errorBody struct {
	Error string `json:"error"`
}

// statusOf maps an error from the Backend or from request parsing to its
// HTTP status. header.ErrNoHead counts as not ready: it is what a store
// returns before its first header, should a backend pass it through.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrInvalidRef), errors.Is(err, ErrEmptyTx), errors.Is(err, errReadBody):
		return http.StatusBadRequest
	case errors.Is(err, header.ErrNotFound), errors.Is(err, ErrNoBlocks):
		return http.StatusNotFound
	case errors.Is(err, ErrNotSequencer):
		return http.StatusForbidden
	case errors.Is(err, ErrTxTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotReady), errors.Is(err, header.ErrNoHead), errors.Is(err, ErrQueueFull):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrStoreCorrupt):
		return http.StatusInternalServerError
	default:
		return http.StatusInternalServerError
	}
}

// writeError replies with err's status and message. Unexpected failures are
// logged, unless the request was cancelled (the client left, or the server
// is stopping), which explains them, or the store is corrupt, which the
// store itself reports once rather than once per request.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	level := slog.LevelDebug
	if code == http.StatusInternalServerError && r.Context().Err() == nil && !errors.Is(err, ErrStoreCorrupt) {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "api request failed",
		"method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// writeJSON replies with v as JSON. Encoding first lets a failure still
// become a proper 500 instead of a truncated body.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: fmt.Sprintf("encode response: %v", err)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n')) // a write error means the client left; nothing to tell it
}
