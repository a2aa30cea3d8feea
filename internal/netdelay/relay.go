package netdelay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MaxQueued is the most bytes one direction of one connection holds between
// reading and writing them.
const MaxQueued = 4 << 20

// readSize is the largest chunk read at once.
const readSize = 64 << 10

// Relay forwards TCP connections to a target with a one-way delay.
type Relay struct {
	ln     net.Listener
	target string
	delay  time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
	bytes  atomic.Int64 // forwarded, both directions

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open connections, closed by Close
	closed bool
}

// Listen starts a relay on listen (e.g. "127.0.0.1:0") that forwards every
// connection to target, delaying each direction by oneWay. The relay runs
// until ctx is done or Close is called.
func Listen(ctx context.Context, listen, target string, oneWay time.Duration) (*Relay, error) {
	if oneWay < 0 {
		return nil, fmt.Errorf("netdelay: one-way delay %s: expected zero or more", oneWay)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("netdelay: listen on %s: %w", listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Relay{ln: ln, target: target, delay: oneWay, cancel: cancel, conns: make(map[net.Conn]struct{})}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		<-ctx.Done()
		r.shutdown()
	}()
	go func() {
		defer r.wg.Done()
		r.accept(ctx)
	}()
	return r, nil
}

// Addr is the address clients dial.
func (r *Relay) Addr() *net.TCPAddr { return r.ln.Addr().(*net.TCPAddr) }

// Forwarded is the number of bytes the relay has delivered so far, in both
// directions together.
func (r *Relay) Forwarded() int64 { return r.bytes.Load() }

// Close stops accepting, closes every connection and waits until every
// goroutine of the relay has exited.
func (r *Relay) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// shutdown closes the listener and every open connection, which ends the
// goroutines blocked on them.
func (r *Relay) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	_ = r.ln.Close() // ends accept; its error says only that it is closed
	for c := range r.conns {
		_ = c.Close()
	}
}

// track registers c to be closed by shutdown; false if the relay is closed.
func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c)
	_ = c.Close() // both directions are done with it
}

func (r *Relay) accept(ctx context.Context) {
	var d net.Dialer
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return // closed by shutdown: the relay is stopping
		}
		if !r.track(in) {
			_ = in.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.untrack(in)
			out, err := d.DialContext(ctx, "tcp", r.target)
			if err != nil {
				return // the client sees its connection closed, as if the target refused it
			}
			if !r.track(out) {
				_ = out.Close()
				return
			}
			defer r.untrack(out)
			r.pipe(ctx, in, out)
		}()
	}
}

// pipe forwards both directions until both have ended; when one fails, the
// other is ended too.
func (r *Relay) pipe(ctx context.Context, a, b net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	abort := func() {
		cancel()
		_ = a.Close() // unblocks both directions' reads and writes
		_ = b.Close()
	}
	for _, dir := range [][2]net.Conn{{a, b}, {b, a}} {
		wg.Go(func() {
			if err := forward(ctx, dir[1], dir[0], r.delay, abort, &r.bytes); err != nil {
				abort()
			}
		})
	}
	wg.Wait()
}

// chunk is bytes read at one time; nil data marks the end of the stream.
type chunk struct {
	due  time.Time
	data []byte
}

// queue is one direction's chunks in flight, bounded by MaxQueued bytes.
type queue struct {
	mu       sync.Mutex
	chunks   []chunk
	bytes    int
	notEmpty chan struct{} // raised when a chunk is added
	space    chan struct{} // raised when bytes are written
}

func raise(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push adds c, waiting while the queue is full.
func (q *queue) push(ctx context.Context, c chunk) error {
	for {
		q.mu.Lock()
		if q.bytes == 0 || q.bytes+len(c.data) <= MaxQueued {
			q.chunks = append(q.chunks, c)
			q.bytes += len(c.data)
			q.mu.Unlock()
			raise(q.notEmpty)
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pop removes the oldest chunk, waiting while there is none.
func (q *queue) pop(ctx context.Context) (chunk, error) {
	for {
		q.mu.Lock()
		if len(q.chunks) > 0 {
			c := q.chunks[0]
			q.chunks[0] = chunk{}
			q.chunks = q.chunks[1:]
			q.mu.Unlock()
			return c, nil
		}
		q.mu.Unlock()
		select {
		case <-q.notEmpty:
		case <-ctx.Done():
			return chunk{}, ctx.Err()
		}
	}
}

// written frees n bytes of the queue.
func (q *queue) written(n int) {
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
	raise(q.space)
}

// errReader ends a direction whose reader failed other than by EOF.
var errReader = errors.New("netdelay: read failed")

// forward copies src to dst, each chunk no earlier than delay after it was
// read. At EOF it half-closes dst once everything before has been written.
// When writing fails it calls abort, which must unblock the read of src.
func forward(ctx context.Context, dst, src net.Conn, delay time.Duration, abort func(), forwarded *atomic.Int64) error {
	q := &queue{notEmpty: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readErr := make(chan error, 1)
	go func() { readErr <- read(ctx, q, src, delay) }()

	err := write(ctx, q, dst, forwarded)
	if err != nil {
		abort()
	}
	cancel()
	if rerr := <-readErr; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	return err
}

func read(ctx context.Context, q *queue, src net.Conn, delay time.Duration) error {
	buf := make([]byte, readSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			c := chunk{due: time.Now().Add(delay), data: append([]byte(nil), buf[:n]...)}
			if perr := q.push(ctx, c); perr != nil {
				return perr
			}
		}
		if errors.Is(err, io.EOF) {
			return q.push(ctx, chunk{due: time.Now().Add(delay)})
		}
		if err != nil {
			_ = q.push(ctx, chunk{due: time.Now()}) // tell the writer; it stops anyway on ctx
			return fmt.Errorf("%w: %w", errReader, err)
		}
	}
}

func write(ctx context.Context, q *queue, dst net.Conn, forwarded *atomic.Int64) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		c, err := q.pop(ctx)
		if err != nil {
			return err
		}
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if c.data == nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				if err := tc.CloseWrite(); err != nil {
					return fmt.Errorf("netdelay: half-close: %w", err)
				}
			}
			return nil
		}
		if _, err := dst.Write(c.data); err != nil {
			return fmt.Errorf("netdelay: write: %w", err)
		}
		forwarded.Add(int64(len(c.data)))
		q.written(len(c.data))
	}
}
