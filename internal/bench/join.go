package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// JoinOptions describe a join benchmark: a fresh light node that starts
// at the network head and keeps a window.
type JoinOptions struct {
	Headers int // chain length; default 1 000 000
	Retain  int // the light node's window; default 100 000
	Follow  int // headers published after the window is filled; 0: none
	// RTT puts a round trip between the light node and the serving node
	// (through a netdelay relay); 0 connects them directly.
	RTT time.Duration
	// Dir holds the pebble stores; a temporary directory if empty.
	Dir      string
	Progress io.Writer
	Logger   *slog.Logger
}

// JoinResult are the figures of one join.
type JoinResult struct {
	Headers, Retain, Follow int
	RTT                     time.Duration
	// Head is the time from the node's start until its store's head is the
	// network head; Window until the whole window is stored.
	Head, Window time.Duration
	// FollowTime is the time from the first header published after the
	// window was filled until the node's head is the last one and its
	// window pruned.
	FollowTime time.Duration
	// StoreMiB and StoreMiBAfter are the live data of the node's store
	// (pebble's live tables, after a flush and once compactions settle)
	// when the window is filled and after the follow.
	StoreMiB, StoreMiBAfter float64
	// BaseAfter is the node's base after the follow.
	BaseAfter uint64
}

// String is the benchmark's summary line.
func (r JoinResult) String() string {
	s := fmt.Sprintf("join headers=%d retain=%d rtt_ms=%d head_ms=%d window_ms=%d store_mb=%.1f",
		r.Headers, r.Retain, r.RTT.Milliseconds(), r.Head.Milliseconds(), r.Window.Milliseconds(), r.StoreMiB)
	if r.Follow > 0 {
		s += fmt.Sprintf(" follow=%d follow_ms=%d store_mb_after=%.1f", r.Follow, r.FollowTime.Milliseconds(), r.StoreMiBAfter)
	}
	return s
}

func (o *JoinOptions) defaults() error {
	if o.Headers == 0 {
		o.Headers = 1_000_000
	}
	if o.Retain == 0 {
		o.Retain = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Headers < 2:
		return fmt.Errorf("--headers %d: expected at least 2", o.Headers)
	case o.Retain < 1 || o.Retain > o.Headers:
		return fmt.Errorf("--retain %d: expected 1 to --headers (%d)", o.Retain, o.Headers)
	case o.Follow < 0:
		return fmt.Errorf("--follow %d: expected 0 or more", o.Follow)
	case o.RTT < 0:
		return fmt.Errorf("--rtt %s: expected zero or more", o.RTT)
	}
	return nil
}

// Join loads a chain of o.Headers headers into a serving node (a
// sequencer's service on pebble), starts a fresh node on pebble that syncs
// from the head and keeps o.Retain headers, and times it until it serves
// the network head and until its window is filled. With o.Follow, the
// serving node then publishes that many more headers as fast as it can,
// and the node follows them by gossip, pruning its window as it goes.
func Join(ctx context.Context, o JoinOptions) (JoinResult, error) {
	if err := o.defaults(); err != nil {
		return JoinResult{}, err
	}
	res := JoinResult{Headers: o.Headers, Retain: o.Retain, Follow: o.Follow, RTT: o.RTT}
	dir, removeDir, err := benchDir(o.Dir)
	if err != nil {
		return res, err
	}
	defer removeDir()
	var closers []func() error
	defer func() { closeAll(closers) }()
	open := func(name string) (*store.DB, error) {
		ds, err := store.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		closers = append(closers, ds.Close)
		return ds, nil
	}

	gen, err := chaingen.New(benchChainID, o.Headers+o.Follow, chaingen.Options{})
	if err != nil {
		return res, err
	}
	serverDS, err := open("server")
	if err != nil {
		return res, err
	}
	if err := loadChain(ctx, gen, o.Headers, []p2psync.Datastore{serverDS}); err != nil {
		return res, err
	}
	serverClient, seq, stopServer, err := startServer(ctx, gen.Genesis, serverDS, o.Logger)
	if err != nil {
		return res, err
	}
	closers = append(closers, stopServer)
	seed := serverClient.Addrs()[0].String()
	if o.RTT > 0 {
		relay, relayed, err := relayFor(ctx, serverClient, o.RTT)
		if err != nil {
			return res, err
		}
		closers = append(closers, relay.Close)
		seed = relayed
	}

	ds, err := open("light")
	if err != nil {
		return res, err
	}
	client, err := startClient(ctx, []string{seed}, o.Logger, o.RTT > 0)
	if err != nil {
		return res, err
	}
	closers = append(closers, func() error { return client.Stop(context.Background()) })
	svc, err := p2psync.New[*types.SignedHeader](p2psync.Config{
		Kind: p2psync.Headers, Genesis: gen.Genesis, BlockTime: time.Second, Logger: o.Logger,
		SyncFrom: p2psync.SyncFromHead, Retain: uint64(o.Retain),
	}, client, ds)
	if err != nil {
		return res, err
	}

	head, base := uint64(o.Headers), uint64(o.Headers-o.Retain+1)
	start := time.Now()
	if err := svc.Start(ctx); err != nil {
		return res, fmt.Errorf("start the light node: %w", err)
	}
	closers = append(closers, func() error { return svc.Stop(context.Background()) })
	if _, err := svc.WaitHeight(ctx, head); err != nil {
		return res, fmt.Errorf("wait for the head %d: %w", head, err)
	}
	res.Head = time.Since(start)
	if err := poll(ctx, o.Progress, "window", func() (bool, string) {
		b := svc.Base()
		return b <= base, fmt.Sprintf("base %d, window from %d", b, base)
	}); err != nil {
		return res, err
	}
	res.Window = time.Since(start)
	if res.StoreMiB, err = liveMiB(ctx, ds.Pebble()); err != nil {
		return res, err
	}
	if o.Follow == 0 {
		return res, nil
	}

	followStart := time.Now()
	for i := 0; i < o.Follow; i++ {
		h, err := gen.NextHeader()
		if err != nil {
			return res, err
		}
		if err := seq.Publish(ctx, h); err != nil {
			return res, fmt.Errorf("publish header %d: %w", h.Height(), err)
		}
	}
	head += uint64(o.Follow)
	lo := head - uint64(o.Retain) + 1
	// The window is pruned in batches of a sixteenth of it (at most 4096).
	batch := min(max(uint64(o.Retain)/16, 1), 4096)
	if err := poll(ctx, o.Progress, "follow", func() (bool, string) {
		h, b := svc.Height(), svc.Base()
		return h >= head && b+batch > lo, fmt.Sprintf("head %d of %d, base %d", h, head, b)
	}); err != nil {
		return res, err
	}
	res.FollowTime = time.Since(followStart)
	res.BaseAfter = svc.Base()
	if res.StoreMiBAfter, err = liveMiB(ctx, ds.Pebble()); err != nil {
		return res, err
	}
	return res, nil
}

// poll waits until done says so, a line to w every second, for at most
// ten minutes.
func poll(ctx context.Context, w io.Writer, what string, done func() (bool, string)) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	began, lastLine := time.Now(), time.Now()
	for {
		ok, state := done()
		if ok {
			return nil
		}
		if time.Since(began) > 10*time.Minute {
			return fmt.Errorf("%s: not done after %s: %s", what, time.Since(began).Round(time.Second), state)
		}
		if w != nil && time.Since(lastLine) >= time.Second {
			lastLine = time.Now()
			fmt.Fprintf(w, "join: %s: %s after %s\n", what, state, time.Since(began).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// liveMiB flushes db, waits (up to 30 s) for its compactions to settle, and
// returns the size of its live tables in MiB.
func liveMiB(ctx context.Context, db *pebble.DB) (float64, error) {
	if err := db.Flush(); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.Metrics().Compact.NumInProgress > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return float64(db.Metrics().Table.Local.LiveSize) / (1 << 20), nil
}
