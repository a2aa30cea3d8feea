package exserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"go.opentelemetry.io/otel/metric"
)

// ProtocolID is go-header's exchange protocol for a network.
func ProtocolID(networkID string) protocol.ID {
	return protocol.ID("/" + networkID + "/header-ex/v0.0.3")
}

var (
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("exchange server already started")
	// ErrStopped is returned by Start after Stop.
	ErrStopped = errors.New("exchange server stopped")
)

// Reasons a request is reset rather than answered.
var (
	errNoData     = errors.New("request has neither origin nor hash")
	errEmptyRange = errors.New("invalid range")
	errStoreOrder = errors.New("store scanned a height out of order")
)

type state int

const (
	stateNew state = iota
	stateStarted
	stateStopped
)

// Server answers exchange requests for one protocol from one Store. Its
// methods are safe for concurrent use.
type Server struct {
	host   host.Host
	proto  protocol.ID
	store  Store
	params Params
	log    *slog.Logger
	lim    *limiter
	bufs   sync.Pool // *bufio.Writer of params.BufferSize

	served  atomic.Uint64 // requests answered, OK or NOT_FOUND
	failed  atomic.Uint64 // requests reset after being admitted
	headers atomic.Uint64 // headers sent

	// ctx ends at Stop, and with it the store reads of requests in flight.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	state   state
	streams map[network.Stream]struct{} // one per handler running
	idle    chan struct{}               // closed once stopped with no handler running
	metrics metric.Registration
}

// New checks its arguments and returns a server for protocolID over st. It
// starts nothing.
func New(h host.Host, protocolID protocol.ID, st Store, opts ...Option) (*Server, error) {
	params := DefaultParams()
	for _, opt := range opts {
		opt(&params)
	}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("new exchange server: %w", err)
	}
	if h == nil || st == nil || protocolID == "" {
		return nil, fmt.Errorf("new exchange server: %w: nil host, nil store or empty protocol ID", ErrInvalidParams)
	}
	logger := params.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		host:    h,
		proto:   protocolID,
		store:   st,
		params:  params,
		log:     logger.With("protocol", string(protocolID)),
		lim:     newLimiter(params.Limits),
		streams: make(map[network.Stream]struct{}),
		idle:    make(chan struct{}),
	}
	s.bufs.New = func() any { return bufio.NewWriterSize(nil, params.BufferSize) }
	return s, nil
}

// Start registers the stream handler. ctx is used only while starting.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateStarted:
		return ErrStarted
	case stateStopped:
		return ErrStopped
	}
	reg, err := s.registerMetrics()
	if err != nil {
		return fmt.Errorf("start exchange server: %w", err)
	}
	s.metrics = reg
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.state = stateStarted
	s.host.SetStreamHandler(s.proto, s.handle)
	return nil
}

// Stop removes the stream handler, resets the streams still being served
// and waits until their handlers have returned or ctx ends. It is safe to
// call before Start and more than once; a later call waits again.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	was := s.state
	s.state = stateStopped
	var inFlight []network.Stream
	if was != stateStopped {
		for str := range s.streams {
			inFlight = append(inFlight, str)
		}
		if len(s.streams) == 0 {
			close(s.idle)
		}
	}
	s.mu.Unlock()
	if was == stateStarted {
		s.host.RemoveStreamHandler(s.proto)
		s.cancel()
		// Outside the lock: a reset writes to the connection, and the
		// handlers need the lock to leave.
		for _, str := range inFlight {
			_ = str.Reset()
		}
		if err := s.metrics.Unregister(); err != nil {
			s.log.Debug("unregister exchange server metrics", "err", err)
		}
	}
	select {
	case <-s.idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop exchange server: wait for requests in flight: %w", ctx.Err())
	}
}

// Refused is how many requests the limits have refused.
func (s *Server) Refused() uint64 { return s.lim.refused.Load() }

// Served is how many requests were answered (OK or NOT_FOUND).
func (s *Server) Served() uint64 { return s.served.Load() }

// HeadersSent is how many headers the answers carried.
func (s *Server) HeadersSent() uint64 { return s.headers.Load() }

// enter records a handler for str, unless the server is stopping.
func (s *Server) enter(str network.Stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateStarted {
		return false
	}
	s.streams[str] = struct{}{}
	return true
}

func (s *Server) leave(str network.Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, str)
	if s.state == stateStopped && len(s.streams) == 0 {
		close(s.idle)
	}
}

// running is how many handlers run.
func (s *Server) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// handle is the stream handler: limits, then the answer.
func (s *Server) handle(str network.Stream) {
	if !s.enter(str) {
		_ = str.Reset()
		return
	}
	defer s.leave(str)
	p := str.Conn().RemotePeer()
	ok, r := s.lim.admit(p)
	if !ok {
		_ = str.Reset()
		if r.log {
			s.log.Warn("refusing exchange requests from peer", "peer", p, "reason", r.why, "refused_total", s.lim.refused.Load())
		}
		return
	}
	defer s.lim.release(p)
	n, err := s.serve(str)
	if err != nil {
		_ = str.Reset()
		s.failed.Add(1)
		s.log.Debug("exchange request reset", "peer", p, "err", err)
		return
	}
	s.served.Add(1)
	s.headers.Add(uint64(n))
	if err := str.Close(); err != nil {
		s.log.Debug("close exchange stream", "peer", p, "err", err)
	}
}

// serve reads one request and writes its answer. An error means the
// stream is to be reset.
func (s *Server) serve(str network.Stream) (int, error) {
	if err := str.SetReadDeadline(time.Now().Add(s.params.ReadDeadline)); err != nil {
		// As go-header: a stream without deadlines is still served.
		s.log.Debug("set read deadline", "err", err)
	}
	var req p2p_pb.HeaderRequest
	if _, err := serde.Read(str, &req); err != nil {
		return 0, fmt.Errorf("read request: %w", err)
	}
	// The request is all a peer sends; whether its side closes cleanly
	// does not change the answer.
	_ = str.CloseRead()

	ctx, cancel := context.WithTimeout(s.ctx, s.params.RequestTimeout)
	defer cancel()
	w := s.bufs.Get().(*bufio.Writer)
	w.Reset(str)
	defer func() {
		w.Reset(nil)
		s.bufs.Put(w)
	}()
	a := answer{str: str, w: w, deadline: s.params.WriteDeadline, log: s.log}

	var (
		n   int
		err error
	)
	switch d := req.Data.(type) {
	case *p2p_pb.HeaderRequest_Hash:
		n, err = a.one(s.store.BytesByHash(ctx, d.Hash))
	case *p2p_pb.HeaderRequest_Origin:
		if d.Origin == 0 {
			_, raw, herr := s.store.HeadBytes(ctx)
			n, err = a.one(raw, herr)
		} else {
			n, err = s.serveRange(ctx, a, d.Origin, req.Amount)
		}
	default:
		err = errNoData
	}
	if err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("write answer: %w", err)
	}
	return n, nil
}

// serveRange answers a request for amount headers from from >= 1. The
// headers go into the writer as the store yields them: a slow peer holds the
// store's iterator until the write deadline.
func (s *Server) serveRange(ctx context.Context, a answer, from, amount uint64) (int, error) {
	if overLimit(amount) {
		return 0, fmt.Errorf("%w: %d asked", header.ErrHeadersLimitExceeded, amount)
	}
	head, _, err := s.store.HeadBytes(ctx)
	if err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	plan := planRange(from, amount, head)
	switch plan.kind {
	case answerReset:
		return 0, fmt.Errorf("%w [%d, %d+%d): %s", errEmptyRange, from, from, amount, plan.why)
	case answerNotFound:
		return 0, a.notFound()
	}
	a.setDeadline()
	var (
		n    uint64
		werr error
	)
	err = s.store.ScanBytes(ctx, plan.from, plan.to, func(height uint64, raw []byte) error {
		if height != plan.from+n {
			return fmt.Errorf("%w: %d after %d headers from %d", errStoreOrder, height, n, plan.from)
		}
		n++
		if werr = writeResponse(a.w, p2p_pb.StatusCode_OK, raw); werr != nil {
			return werr
		}
		return nil
	})
	switch {
	case werr != nil:
		return 0, fmt.Errorf("write header %d: %w", plan.from+n-1, werr)
	case n == 0 && (err == nil || errors.Is(err, header.ErrNotFound) || errors.Is(err, context.DeadlineExceeded)):
		// Nothing stored from `from` on: go-header's store reports the
		// missing header, or its timeout, as not found.
		return 0, a.notFound()
	case err != nil:
		return 0, fmt.Errorf("scan [%d, %d): %w", plan.from, plan.to, err)
	}
	return int(n), nil
}

// answer writes the answer to one request.
type answer struct {
	str      network.Stream
	w        *bufio.Writer
	deadline time.Duration
	log      *slog.Logger
}

// setDeadline starts the write deadline, as go-header does, once the
// answer is about to be written.
func (a answer) setDeadline() {
	if err := a.str.SetWriteDeadline(time.Now().Add(a.deadline)); err != nil {
		// As go-header: a stream without deadlines is still served.
		a.log.Debug("set write deadline", "err", err)
	}
}

// one answers with a single header read from the store.
func (a answer) one(raw []byte, err error) (int, error) {
	switch {
	case errors.Is(err, header.ErrNotFound):
		return 0, a.notFound()
	case err != nil:
		return 0, fmt.Errorf("read from store: %w", err)
	}
	a.setDeadline()
	if err := writeResponse(a.w, p2p_pb.StatusCode_OK, raw); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	return 1, nil
}

func (a answer) notFound() error {
	a.setDeadline()
	if err := writeResponse(a.w, p2p_pb.StatusCode_NOT_FOUND, nil); err != nil {
		return fmt.Errorf("write not found: %w", err)
	}
	return nil
}
