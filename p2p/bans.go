package p2p

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"

	"github.com/headersync/headersync/internal/boundedmap"
)

// go-header bans a misbehaving peer by adding it to a BasicConnectionGater's
// block list, which keeps it for ever; so does anything else calling
// BlockPeer. Identities cost nothing to make, so a peer that misbehaves under
// a fresh one each time would grow that list without bound. The banList
// bounds it: a ban lasts banTTL and at most maxBans are kept, the oldest
// dropped first, and a ban that ends is lifted in the gater. Bans made
// through Client.Ban are recorded at once; those go-header makes by calling
// BlockPeer directly are adopted by the next sweep, their time counted from
// then.

const (
	// defaultBanTTL is long enough to make misbehaving pointless, short
	// enough that an honest peer banned by mistake (a bug, a flaky disk)
	// comes back on its own.
	defaultBanTTL = time.Hour
	// defaultMaxBans bounds the block list's memory; a node sees far fewer
	// misbehaving identities than this unless it is under a flood.
	defaultMaxBans = 4096
	// maxBanSweep is the longest time between two sweeps: how late an
	// expired ban may be lifted, and a direct BlockPeer adopted.
	maxBanSweep = time.Minute
)

// banList records the runtime bans of the gater.
type banList struct {
	gater *conngater.BasicConnectionGater
	log   *slog.Logger
	every time.Duration // between sweeps

	// mu makes each ban, and each sweep, one step: the record and the
	// gater's block list never disagree for another caller to see.
	mu   sync.Mutex
	bans *boundedmap.Map[peer.ID, string] // peer -> reason
}

func newBanList(gater *conngater.BasicConnectionGater, maxBans int, ttl time.Duration, log *slog.Logger) *banList {
	b := &banList{
		gater: gater,
		log:   log,
		every: min(max(ttl/4, time.Millisecond), maxBanSweep),
		bans:  boundedmap.New[peer.ID, string](maxBans, ttl),
	}
	// Called synchronously by the map, within a ban or sweep holding mu.
	b.bans.OnEvict = func(p peer.ID, reason string) {
		if err := b.gater.UnblockPeer(p); err != nil {
			b.log.Error("lift ban", "peer", p, "err", err)
			return
		}
		b.log.Debug("ban lifted", "peer", p, "reason", reason)
	}
	return b
}

// ban blocks p in the gater and records it, lifting the oldest ban if the
// list is full. A peer banned again has its time restarted.
func (b *banList) ban(p peer.ID, reason string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.gater.BlockPeer(p); err != nil {
		return err
	}
	b.bans.Put(p, reason)
	return nil
}

// sweep lifts the bans that have expired and adopts peers blocked in the
// gater without a record (go-header's).
func (b *banList) sweep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.gater.ListBlockedPeers() {
		if _, ok := b.bans.Get(p); ok {
			continue
		}
		// Get lifted an expired ban; a peer still blocked had no record.
		if !b.gater.InterceptPeerDial(p) {
			b.bans.Put(p, "blocked by go-header")
		}
	}
}

// len counts the bans recorded.
func (b *banList) len() int { return b.bans.Len() }

// run sweeps until ctx ends.
func (b *banList) run(ctx context.Context) {
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.sweep()
		}
	}
}

// Ban refuses p in both directions, whatever the configuration says, and
// closes its connections. The ban lasts an hour (WithBanLimits), and at most
// 4096 are kept, the oldest lifted first, so that fresh identities of a
// misbehaving peer cannot grow the list without bound. reason is kept for
// the log. It is valid before Start.
func (c *Client) Ban(p peer.ID, reason string) {
	if err := c.bans.ban(p, reason); err != nil {
		c.logger.Error("ban peer", "peer", p, "reason", reason, "err", err)
	}
	if h := c.Host(); h != nil {
		if err := h.Network().ClosePeer(p); err != nil {
			c.logger.Debug("close banned peer", "peer", p, "err", err)
		}
	}
}
