package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// MaxTxBodySize is the largest POST /txs body the server passes to the
// backend; a larger one is refused with 413. No transaction bigger than a
// block can ever be included, so accepting more is pointless; the backend
// applies the exact limit, which also leaves room for the block's header
// and other transactions (ErrTxTooLarge).
const MaxTxBodySize = types.MaxBlockSize

// routes builds the handler for every route, wrapped so that the mux's own
// 404 and 405 replies are JSON too and every request is logged at debug.
func (s *Server) routes(metrics prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", s.handleStatus)
	mux.HandleFunc("GET /headers/head", s.handleHead)
	mux.HandleFunc("GET /headers/{height}", s.handleHeaderByHeight)
	mux.HandleFunc("GET /headers/hash/{hash}", s.handleHeaderByHash)
	mux.HandleFunc("GET /blocks/{height}", s.handleBlock)
	mux.HandleFunc("POST /txs", s.handleSubmitTx)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{
		ErrorLog: promLogger{s.log},
		// Serve what can be gathered rather than nothing when one
		// collector fails; the failure is logged.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", handleHealthz)
	return s.logRequests(jsonMuxErrors(mux))
}

// about prefixes a backend's error with what was asked for, unless the
// error is ErrStoreCorrupt's one line, which already says where the damage
// is ("store corrupt at height 56: ..."). A height below the node's base
// reads as what it is: "header 5 pruned: this node keeps heights 11..30".
func about(what string, err error) error {
	if errors.Is(err, ErrStoreCorrupt) {
		return err
	}
	var pruned *p2psync.PrunedError
	if errors.As(err, &pruned) {
		return &prunedError{what: what, err: pruned}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.backend.Status(r.Context()))
}

func (s *Server) handleHead(w http.ResponseWriter, r *http.Request) {
	view, err := s.backend.HeadView(r.Context())
	if err != nil {
		s.writeError(w, r, about("head header", err))
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) handleHeaderByHeight(w http.ResponseWriter, r *http.Request) {
	height, err := parseHeight(r.PathValue("height"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view, err := s.backend.HeaderView(r.Context(), height)
	if err != nil {
		s.writeError(w, r, about(fmt.Sprintf("header %d", height), err))
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) handleHeaderByHash(w http.ResponseWriter, r *http.Request) {
	hash, err := parseHash(r.PathValue("hash"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view, err := s.backend.HeaderViewByHash(r.Context(), hash)
	if err != nil {
		s.writeError(w, r, about("header "+hash.String(), err))
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	height, err := parseHeight(r.PathValue("height"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view, err := s.backend.BlockView(r.Context(), height)
	if err != nil {
		s.writeError(w, r, about(fmt.Sprintf("block %d", height), err))
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// submitTxReply is the body of a 202 from POST /txs.
type submitTxReply struct {
	Pending int `json:"pending"`
}

// txDrainLimit bounds how much of an oversized POST /txs body is read and
// discarded before the 413. A client still sending when the server replies
// and closes the connection sees "connection reset" instead of the reply, so
// a moderately oversized body is read to its end; a larger declared one is
// refused unread, which a client sending "Expect: 100-continue" (curl does
// for big bodies) handles cleanly.
const txDrainLimit = MaxTxBodySize

func (s *Server) handleSubmitTx(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxTxBodySize+txDrainLimit {
		s.writeError(w, r, txTooLarge(r.ContentLength))
		return
	}
	tx, err := io.ReadAll(io.LimitReader(r.Body, MaxTxBodySize+1))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %w", errReadBody, err))
		return
	}
	if len(tx) > MaxTxBodySize {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, txDrainLimit)) // best effort, see txDrainLimit
		s.writeError(w, r, txTooLarge(r.ContentLength))
		return
	}
	pending, err := s.backend.SubmitTx(r.Context(), tx)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("submit transaction: %w", err))
		return
	}
	writeJSON(w, http.StatusAccepted, submitTxReply{Pending: pending})
}

// txTooLarge is the error for a body over MaxTxBodySize; size is its
// declared length, or -1 when the body is chunked.
func txTooLarge(size int64) error {
	if size > 0 {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTxTooLarge, size, MaxTxBodySize)
	}
	return fmt.Errorf("%w: over the limit of %d bytes", ErrTxTooLarge, MaxTxBodySize)
}

// handleHealthz reports liveness only: that the process serves requests,
// which a node does from Start, before it has synced anything.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
