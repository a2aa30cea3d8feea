package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultListen is the API's default address: loopback only, because the API
// has no authentication and POST /txs accepts transactions.
const DefaultListen = "127.0.0.1:26657"

// Timeouts of the HTTP server. The API answers from local stores, so every
// request is short; the limits only stop slow or idle clients from holding
// connections.
const (
	readHeaderTimeout = 5 * time.Second
	// readTimeout covers the largest POST /txs body on a slow link.
	readTimeout  = 30 * time.Second
	writeTimeout = 30 * time.Second
	idleTimeout  = 2 * time.Minute
	// maxHeaderBytes is far above what any client of this API sends.
	maxHeaderBytes = 64 << 10
)

// Lifecycle errors.
var (
	// ErrAddrInUse is returned by Start when another process holds the address.
	ErrAddrInUse = errors.New("address already in use")
	// ErrServerStopped is returned by Start after Stop.
	ErrServerStopped = errors.New("api server stopped")
)

// Server is the HTTP API of one node. Build it with New, then Start and Stop
// it once each; it follows the lifecycle contract (README, "Lifecycle").
type Server struct {
	addr    string
	backend Backend
	log     *slog.Logger
	handler http.Handler

	// baseCtx is the parent of every request context; Stop cancels it so
	// that backend calls still running after a failed graceful shutdown end.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	mu      sync.Mutex
	srv     *http.Server  // set by a successful Start
	bound   string        // listener address, set by a successful Start
	done    chan struct{} // closed when the serving goroutine returns
	stopped bool
}

// New returns a Server that will listen on addr (host:port; port 0 picks a
// free port) and serve from b. metrics is exposed on GET /metrics; nil serves
// an empty registry. A nil logger discards logs.
func New(addr string, b Backend, metrics prometheus.Gatherer, logger *slog.Logger) (*Server, error) {
	if err := validateListenAddr(addr); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("api: backend is nil")
	}
	if metrics == nil {
		metrics = prometheus.NewRegistry()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{addr: addr, backend: b, log: logger}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.handler = s.routes(metrics)
	return s, nil
}

// validateListenAddr checks that addr is host:port with a numeric port. An
// empty host (all interfaces) is allowed, since choosing it is deliberate.
func validateListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api: listen address %q: %w; expected host:port such as %s", addr, err, DefaultListen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("api: listen address %q: port %q; expected a number from 0 to 65535", addr, port)
	}
	return nil
}

// Start binds the listen address, so that a taken port is reported here
// (wrapping ErrAddrInUse), and then serves in a goroutine that Stop ends.
// ctx bounds only the bind.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return fmt.Errorf("api: start: %w", ErrServerStopped)
	case s.srv != nil:
		return errors.New("api: start: already started")
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("api: listen on %s: %w; is another node running?", s.addr, ErrAddrInUse)
		}
		return fmt.Errorf("api: listen on %s: %w", s.addr, err)
	}

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api server failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	s.srv, s.bound, s.done = srv, ln.Addr().String(), done
	s.log.Info("api listening", "addr", s.bound)
	return nil
}

// Addr returns the address the server listens on (with the real port when
// New was given port 0), or "" before a successful Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// Stop shuts the server down gracefully: it stops accepting, waits for
// requests in flight until ctx ends, then closes what is left. It returns
// once the serving goroutine has exited. Later calls, and a call after a
// failed or no Start, return nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	defer s.cancelBase()
	if s.srv == nil {
		return nil
	}

	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Graceful shutdown ran out of time: cancel the backend calls still
		// running and drop their connections.
		s.cancelBase()
		if cerr := s.srv.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		err = fmt.Errorf("api: shutdown: %w", err)
	}
	<-s.done
	return err
}
