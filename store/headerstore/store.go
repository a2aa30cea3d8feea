package headerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/cockroachdb/pebble/v2"
)

var (
	// ErrAlreadyInitialized: Init was called on a store that holds headers.
	ErrAlreadyInitialized = errors.New("headerstore: already initialized")
	// ErrInvalidRange: a range whose end is not above its start.
	ErrInvalidRange = errors.New("headerstore: invalid range")
	// ErrNeedsMigration: the database holds go-header's layout of the store
	// (its head record) and no meta record of this one: run Migrate first,
	// or the store would begin empty beside the old headers.
	ErrNeedsMigration = errors.New("headerstore: the store is in go-header's layout; migrate it first")
	// ErrCorrupt: a record of the store cannot be decoded, or contradicts
	// another (a header stored at a height other than its own).
	ErrCorrupt = errors.New("headerstore: corrupt record")
)

// Not-found answers are go-header's sentinels themselves, never wrapped:
// go-header's ExchangeServer compares the error a store returns with
// header.ErrNotFound by ==, and would answer a wrapped one as an internal
// error instead of "not found".

// Store is a header.Store[H] over a pebble database, keyed by height (see
// the package doc). It is safe for concurrent use.
type Store[H header.Header[H]] struct {
	db   *pebble.DB
	keys keyspace
	log  *slog.Logger

	mu      sync.Mutex // serialises writers (Init, Append, DeleteBelow, Sync)
	bounds  atomic.Pointer[bounds[H]]
	changed atomic.Pointer[chan struct{}] // closed, and replaced, when bounds or durable change

	// durable is the head height of the last write whose WAL sync returned:
	// what a restart after kill -9 or power loss resumes from at least.
	durable   atomic.Uint64
	syncEvery time.Duration
	lastSync  time.Time   // under mu
	syncTimer *time.Timer // under mu: syncs what Append left unsynced
	closed    bool        // under mu
	dirty     bool        // under mu: a write below the head is not synced yet
}

// bounds is what the store holds: the heights [base, head] and the head
// itself. It is replaced, never changed, after each committed write.
type bounds[H header.Header[H]] struct {
	base, height uint64 // 0, 0 while empty
	head         H
	raw          []byte // head's encoding
}

// Option changes a Store's Parameters.
type Option func(*Parameters)

// Parameters configure a Store.
type Parameters struct {
	// Logger reports headers that fail verification in Append.
	Logger *slog.Logger
	// SyncEvery is the most time an Append may leave its write unsynced
	// (in pebble's WAL, lost to a kill -9 or power loss): an Append at
	// least SyncEvery after the last sync syncs, one sooner leaves the
	// sync to a later Append or to a timer SyncEvery away. A catch-up
	// appending hundreds of ranges a second then pays one fsync per
	// SyncEvery instead of one per range; a node following the chain at
	// one block a second syncs every append. 0 (the default) syncs every
	// append. A store with SyncEvery set must be closed (Close) before its
	// database is.
	SyncEvery time.Duration
}

// DefaultParameters discards logs.
func DefaultParameters() Parameters {
	return Parameters{Logger: slog.New(slog.DiscardHandler)}
}

// Validate reports a parameter that cannot work.
func (p Parameters) Validate() error {
	if p.Logger == nil {
		return errors.New("headerstore: Parameters.Logger is nil, want a logger")
	}
	if p.SyncEvery < 0 {
		return fmt.Errorf("headerstore: Parameters.SyncEvery %s, want 0 or more", p.SyncEvery)
	}
	return nil
}

// WithSyncEvery sets Parameters.SyncEvery.
func WithSyncEvery(d time.Duration) Option {
	return func(p *Parameters) { p.SyncEvery = d }
}

// WithLogger sets Parameters.Logger.
func WithLogger(l *slog.Logger) Option {
	return func(p *Parameters) { p.Logger = l }
}

// New opens the store kept under prefix ("headerEx", "blockEx") in db,
// reading its bounds and head; ErrNeedsMigration if only go-header's
// layout is there. The store does not own db: closing db is the
// caller's, after the store's last use.
func New[H header.Header[H]](db *pebble.DB, prefix string, opts ...Option) (*Store[H], error) {
	p := DefaultParameters()
	for _, o := range opts {
		o(&p)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	keys, err := newKeyspace(prefix)
	if err != nil {
		return nil, err
	}
	s := &Store[H]{db: db, keys: keys, log: p.Logger, syncEvery: p.SyncEvery}
	changed := make(chan struct{})
	s.changed.Store(&changed)

	b, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("headerstore %s: %w", prefix, err)
	}
	s.bounds.Store(b)
	s.durable.Store(b.height) // read back from disk: durable
	return s, nil
}

// load reads the bounds and head from the meta record.
func (s *Store[H]) load() (*bounds[H], error) {
	raw, err := s.getCopy(s.keys.meta)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		_, err := s.getCopy(s.keys.oldHead())
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			return &bounds[H]{}, nil
		case err != nil:
			return nil, fmt.Errorf("look for the old layout: %w", err)
		}
		return nil, ErrNeedsMigration
	case err != nil:
		return nil, fmt.Errorf("read meta: %w", err)
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return nil, err
	}
	headRaw, err := s.getCopy(s.keys.heightKey(m.head))
	if err != nil {
		return nil, fmt.Errorf("read head %d: %w", m.head, err)
	}
	head, err := decode[H](s.keys, headRaw, m.head)
	if err != nil {
		return nil, err
	}
	return &bounds[H]{base: m.base, height: m.head, head: head, raw: headRaw}, nil
}

// getCopy reads key; pebble.ErrNotFound if absent, a *store.CorruptError
// if its data is damaged.
func (s *Store[H]) getCopy(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if err != nil {
		return nil, s.keys.corruptAt(key, err)
	}
	out := bytes.Clone(v)
	return out, closer.Close()
}

// decode decodes the header stored at height and checks it is that height.
// UnmarshalBinary copies what it keeps (encoding.BinaryUnmarshaler's
// contract), so raw may be pebble's buffer.
func decode[H header.Header[H]](k keyspace, raw []byte, height uint64) (H, error) {
	var zero H
	h := header.New[H]()
	if err := h.UnmarshalBinary(raw); err != nil {
		return zero, k.undecodable(height, fmt.Errorf("%w: decode header %d: %w", ErrCorrupt, height, err))
	}
	if h.Height() != height {
		return zero, k.undecodable(height, fmt.Errorf("%w: header of height %d stored at %d", ErrCorrupt, h.Height(), height))
	}
	return h, nil
}

// Height returns the head's height, 0 while the store is empty. Every
// height up to it is on disk.
func (s *Store[H]) Height() uint64 { return s.bounds.Load().height }

// Base returns the lowest stored height, 0 while the store is empty.
func (s *Store[H]) Base() uint64 { return s.bounds.Load().base }

// Head returns the highest stored header, or header.ErrNoHead.
func (s *Store[H]) Head(context.Context, ...header.HeadOption[H]) (H, error) {
	b := s.bounds.Load()
	if b.height == 0 {
		var zero H
		return zero, header.ErrNoHead
	}
	return b.head, nil
}

// Get returns the header with hash, or header.ErrNotFound.
func (s *Store[H]) Get(ctx context.Context, hash header.Hash) (H, error) {
	var zero H
	height, err := s.heightOf(hash)
	if err != nil {
		return zero, err
	}
	return s.read(height)
}

// heightOf looks hash up in the index; header.ErrNotFound if absent.
func (s *Store[H]) heightOf(hash header.Hash) (uint64, error) {
	if len(hash) == 0 {
		return 0, header.ErrNotFound
	}
	raw, err := s.getCopy(s.keys.indexKey(hash))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return 0, header.ErrNotFound
	case err != nil:
		return 0, fmt.Errorf("headerstore: read index of %s: %w", hash, err)
	}
	height, err := decodeHeight(raw)
	if err != nil {
		return 0, fmt.Errorf("index of %s: %w", hash, err)
	}
	if b := s.bounds.Load(); height < b.base || height > b.height {
		// Deleted below the base since the index was read; or indexed by a
		// batch whose bounds are not published yet.
		return 0, header.ErrNotFound
	}
	return height, nil
}

// read returns the stored header at height; header.ErrNotFound if absent.
func (s *Store[H]) read(height uint64) (H, error) {
	var zero H
	if b := s.bounds.Load(); height == b.height && b.height != 0 {
		return b.head, nil
	}
	key := s.keys.heightKey(height)
	v, closer, err := s.db.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return zero, header.ErrNotFound
	case err != nil:
		return zero, fmt.Errorf("headerstore: read header %d: %w", height, s.keys.corruptAt(key, err))
	}
	defer closer.Close()
	return decode[H](s.keys, v, height)
}

// GetByHeight returns the header at height. For a height above the head it
// waits until that height is appended or ctx ends, as go-header's store
// does. Height 0, and heights below the base, are header.ErrNotFound
// (go-header's store answers 0 with an error of its own).
func (s *Store[H]) GetByHeight(ctx context.Context, height uint64) (H, error) {
	var zero H
	if height == 0 {
		return zero, header.ErrNotFound
	}
	if err := s.waitFor(ctx, height); err != nil {
		return zero, err
	}
	if height < s.Base() {
		return zero, header.ErrNotFound
	}
	return s.read(height)
}

// WaitHeight returns once the head is at height or above, or with ctx's
// error.
func (s *Store[H]) WaitHeight(ctx context.Context, height uint64) error {
	return s.waitFor(ctx, height)
}

// waitFor returns once height is stored, or with ctx's error.
func (s *Store[H]) waitFor(ctx context.Context, height uint64) error {
	for {
		// Load the channel before the height: a write publishes its bounds
		// before it closes the channel, so a height seen too low here is
		// followed by a close of the channel loaded.
		changed := *s.changed.Load()
		if s.Height() >= height {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// publish makes b the store's bounds and wakes every waiter.
func (s *Store[H]) publish(b *bounds[H]) {
	s.bounds.Store(b)
	s.notify()
}

// notify wakes the waiters for a height or a durable height.
func (s *Store[H]) notify() {
	next := make(chan struct{})
	close(*s.changed.Swap(&next))
}

// WaitDurable returns once height is durable (see DurableHeight), or with
// ctx's error.
func (s *Store[H]) WaitDurable(ctx context.Context, height uint64) error {
	for {
		changed := *s.changed.Load()
		if s.durable.Load() >= height {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// GetRangeByHeight returns the headers (from.Height(), to), as go-header's
// store does.
func (s *Store[H]) GetRangeByHeight(ctx context.Context, from H, to uint64) ([]H, error) {
	return s.GetRange(ctx, from.Height()+1, to)
}

// GetRange returns the headers [from, to). Like go-header's store it waits
// until to-1 is stored (or ctx ends); a range that begins below the base is
// header.ErrNotFound, and one that is empty or reversed is ErrInvalidRange
// (go-header's store waits forever for a range that ends at 0).
func (s *Store[H]) GetRange(ctx context.Context, from, to uint64) ([]H, error) {
	if from >= to {
		return nil, fmt.Errorf("%w: [%d, %d)", ErrInvalidRange, from, to)
	}
	if err := s.waitFor(ctx, to-1); err != nil {
		return nil, err
	}
	if from == 0 || from < s.Base() {
		return nil, header.ErrNotFound
	}
	out := make([]H, 0, to-from)
	err := s.scan(ctx, from, to, func(height uint64, raw []byte) error {
		h, err := decode[H](s.keys, raw, height)
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from {
		// Deleted below a new base while the scan ran.
		return nil, header.ErrNotFound
	}
	return out, nil
}

// Has reports whether the header with hash is stored.
func (s *Store[H]) Has(_ context.Context, hash header.Hash) (bool, error) {
	_, err := s.heightOf(hash)
	switch {
	case errors.Is(err, header.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// HasAt reports whether the header at height is stored: base <= height <=
// head. go-header's store answers true for any height up to its head, even
// below where its chain begins; go-header's ExchangeServer, which asks it,
// then finds the header missing and answers not found all the same.
func (s *Store[H]) HasAt(_ context.Context, height uint64) bool {
	b := s.bounds.Load()
	return height != 0 && b.base <= height && height <= b.height
}
