package p2psync_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/adversary"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// seqWithChain is a sequencer whose store already holds hs, publishing
// what comes after it.
func seqWithChain(t *testing.T, hs []*types.SignedHeader, g *types.Genesis) (*testPeer, *p2psync.Sequencer[*types.SignedHeader]) {
	t.Helper()
	p := newPeer(t, peerOpts{})
	importChain(t, p.ds, hs)
	return p, seqHeaderService(t, p, g, serviceOpts{})
}

// requireWindow checks that svc holds exactly the headers base..head of
// chain (byte for byte: header, signature and signer), and that the height
// below base is answered as pruned.
func requireWindow(t *testing.T, svc *p2psync.Service[*types.SignedHeader], chain []*types.SignedHeader, base, head uint64) {
	t.Helper()
	ctx := context.Background()
	require.Equal(t, base, svc.Base(), "base")
	require.Equal(t, head, svc.Height(), "head")
	for height := base; height <= head; height++ {
		got, err := svc.GetByHeight(ctx, height)
		require.NoError(t, err, "height %d", height)
		want, err := chain[height-1].MarshalBinary()
		require.NoError(t, err)
		raw, err := got.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, want, raw, "header %d", height)
	}
	if base > 1 {
		_, err := svc.GetByHeight(ctx, base-1)
		var pruned *p2psync.PrunedError
		require.ErrorAs(t, err, &pruned)
		require.ErrorIs(t, err, header.ErrNotFound)
		_, err = svc.Get(ctx, chain[base-2].Hash())
		require.ErrorIs(t, err, header.ErrNotFound)
	}
}

// waitBase waits until svc's base is at least want.
func waitBase(t *testing.T, svc *p2psync.Service[*types.SignedHeader], want uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return svc.Base() == want }, waitFor, tick,
		"base never reached %d: base %d, head %d", want, svc.Base(), svc.Height())
}

// A light node that syncs from the head starts at the network head, not
// the genesis header, fills its window backwards, prunes as the head moves
// with gossip, and after a restart resumes with its window intact.
func TestWindowFromHead(t *testing.T) {
	const n, retain = 2000, 500
	gen := newGenerator(t, n+400)
	hs, err := gen.Headers(n)
	require.NoError(t, err)
	seqPeer, seq := seqWithChain(t, hs, gen.Genesis)

	logger, rec := testlog.NewRecorder(t, slog.LevelInfo)
	lightPeer := newPeer(t, peerOpts{seeds: []string{seqPeer.addr()}, logger: logger})
	lightPeer.waitServes(p2psync.Headers, seqPeer.id())
	opts := serviceOpts{syncFrom: p2psync.SyncFromHead, retain: retain}
	light := headerService(t, lightPeer, gen.Genesis, opts)

	waitBase(t, light, n-retain+1)
	inits := rec.Records("initialised")
	require.Len(t, inits, 1)
	require.Equal(t, "2000", inits[0].Attrs["height"], "the first header stored is the network head")
	requireWindow(t, light, hs, n-retain+1, n)

	// The chain moves on by gossip; the window follows it.
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		h, err := gen.NextHeader()
		require.NoError(t, err)
		require.NoError(t, seq.Publish(ctx, h))
		hs = append(hs, h)
	}
	waitHead(t, light, hs[len(hs)-1].Hash())
	// Pruning runs in batches of retain/16: the base trails by less.
	head := uint64(len(hs))
	require.Eventually(t, func() bool { return light.Base()+retain/16 > head-retain+1 }, waitFor, tick,
		"the window was not pruned: base %d, head %d", light.Base(), light.Height())
	requireWindow(t, light, hs, light.Base(), head)

	// A restart keeps the window and resumes from the stored head.
	base := light.Base()
	require.NoError(t, light.Stop(ctx))
	again := newPeer(t, peerOpts{seeds: []string{seqPeer.addr()}, logger: logger})
	again.ds = lightPeer.ds
	resumed := headerService(t, again, gen.Genesis, opts)
	require.Equal(t, base, resumed.Base())
	require.Equal(t, head, resumed.Height())
	requireWindow(t, resumed, hs, base, head)
	require.Len(t, rec.Records("initialised"), 1, "a restart does not initialise again")
}

// With no window, a node that syncs from the head fills backwards all the
// way to the genesis header: it follows the head at once and becomes
// archival in the background.
func TestHeadStartKeepsEverything(t *testing.T) {
	const n = 1500
	gen := newGenerator(t, n)
	hs, err := gen.Headers(n)
	require.NoError(t, err)
	seqPeer, _ := seqWithChain(t, hs, gen.Genesis)

	p := newPeer(t, peerOpts{seeds: []string{seqPeer.addr()}})
	p.waitServes(p2psync.Headers, seqPeer.id())
	svc := headerService(t, p, gen.Genesis, serviceOpts{syncFrom: p2psync.SyncFromHead})
	waitBase(t, svc, 1)
	requireWindow(t, svc, hs, 1, n)
}

// A peer that serves a wrong header in the backward fill is banned and
// nothing of its answer is stored; the window fills from the honest peer.
// Its head is honest (one header), so only the links of its ranges give it
// away.
func TestBackwardFillDespiteMisbehavingPeer(t *testing.T) {
	gen := newGenerator(t, advHeaders)
	hs, err := gen.Headers(advHeaders)
	require.NoError(t, err)
	honest := servingPeer(t, gen, hs)
	const retain = 1000
	for _, mode := range []adversary.Mode{adversary.TamperedAppHash, adversary.TamperedSignature, adversary.BadTopSignature, adversary.ForgedAnchor} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			adv, err := adversary.Start(ctx, adversary.Options{ChainID: chainID, Honest: hs, Mode: mode, Logger: testlog.New(t, slog.LevelWarn)})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, adv.Close()) })

			victimPeer := newPeer(t, peerOpts{seeds: []string{adv.Addr(), honest.addr()}})
			advID := adv.Client().Host().ID()
			victimPeer.waitServes(p2psync.Headers, advID, honest.id())
			// Small chunks, many of them: some reach the adversary.
			victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{
				syncFrom: p2psync.SyncFromHead, retain: retain, requestSize: 64, requestTimeout: time.Second})

			waitBase(t, victim, advHeaders-retain+1)
			requireWindow(t, victim, hs, advHeaders-retain+1, advHeaders)
			require.True(t, slices.Contains(victimPeer.client.ConnectionGater().ListBlockedPeers(), advID), "not banned")
			for _, h := range hs {
				if forged := adversary.Tamper(h, mode); string(forged.Hash()) != string(h.Hash()) {
					_, err := victim.Get(ctx, forged.Hash())
					require.ErrorIs(t, err, header.ErrNotFound, "the adversary's header %d was stored", h.Height())
				}
			}
		})
	}
}

// A fresh node syncing from genesis, with one peer that keeps only a
// window and one archival peer, catches up on the whole chain: the pruned
// peer answers not found below its window (never a partial range, which
// would get it banned), and those heights come from the archival peer.
func TestGenesisSyncFromPrunedAndArchivalPeers(t *testing.T) {
	const n, retain = 2000, 300
	gen := newGenerator(t, n)
	hs, err := gen.Headers(n)
	require.NoError(t, err)
	archival := servingPeer(t, gen, hs)

	prunedPeer := newPeer(t, peerOpts{seeds: []string{archival.addr()}})
	prunedPeer.waitServes(p2psync.Headers, archival.id())
	pruned := headerService(t, prunedPeer, gen.Genesis, serviceOpts{syncFrom: p2psync.SyncFromHead, retain: retain})
	waitBase(t, pruned, n-retain+1)

	victimPeer := newPeer(t, peerOpts{seeds: []string{prunedPeer.addr(), archival.addr()}})
	victimPeer.waitServes(p2psync.Headers, prunedPeer.id(), archival.id())
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{requestSize: 64})
	waitHead(t, victim, hs[n-1].Hash())
	requireWindow(t, victim, hs, 1, n)
	require.False(t, slices.Contains(victimPeer.client.ConnectionGater().ListBlockedPeers(), prunedPeer.id()),
		"the pruned peer was banned")
}

// Blocks keep a window the same way: a block service that syncs from the
// head fills backwards, each block's data checked against its header.
func TestBlockWindowFromHead(t *testing.T) {
	const n, retain = 300, 100
	gen := newGenerator(t, n)
	seq := startSequencer(t, gen, peerOpts{}, true)
	seq.publish(n)

	p := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	p.waitServes(p2psync.Blocks, seq.peer.id())
	svc := startService[*types.Block](t, p, p2psync.Blocks, gen.Genesis, serviceOpts{syncFrom: p2psync.SyncFromHead, retain: retain})
	require.Eventually(t, func() bool { return svc.Base() == n-retain+1 && svc.Height() == n }, waitFor, tick,
		"window not filled: base %d, head %d", svc.Base(), svc.Height())
	ctx := context.Background()
	for height := uint64(n - retain + 1); height <= n; height++ {
		got, err := svc.GetByHeight(ctx, height)
		require.NoError(t, err)
		want := seq.history[height-1]
		require.Equal(t, want.Hash(), got.Hash())
		require.Equal(t, want.Data(), got.Data())
	}
}

// A sequencer keeps its whole chain, and where to sync from is one of two
// words: a config that says otherwise is refused before anything starts.
func TestWindowConfigRefused(t *testing.T) {
	gen := newGenerator(t, 1)
	p := newPeer(t, peerOpts{})
	cfg := serviceConfig(p, p2psync.Headers, gen.Genesis, serviceOpts{sequencer: true, retain: 10})
	_, err := p2psync.NewSequencer[*types.SignedHeader](cfg, p.client, p.ds)
	require.ErrorContains(t, err, "keeps its whole chain")

	cfg = serviceConfig(p, p2psync.Headers, gen.Genesis, serviceOpts{syncFrom: "tail"})
	_, err = p2psync.New[*types.SignedHeader](cfg, p.client, p.ds)
	require.ErrorContains(t, err, `sync from "tail"`)

	from, err := p2psync.ParseSyncFrom("")
	require.NoError(t, err)
	require.Equal(t, p2psync.SyncFromGenesis, from)
}

// A fresh node among many peers that keep only a window and one archival
// peer: a chunk goes on to the next peer as long as peers answer that they
// do not have it (cheap, and no fault), so no range fails while the
// archival peer is there, however many pruned peers come first.
func TestGenesisSyncAmongManyPrunedPeers(t *testing.T) {
	const n, retain, pruned = 1000, 100, 12
	gen := newGenerator(t, n)
	hs, err := gen.Headers(n)
	require.NoError(t, err)
	archival := servingPeer(t, gen, hs)

	seeds := []string{archival.addr()}
	ids := []peer.ID{archival.id()}
	for i := 0; i < pruned; i++ {
		p := newPeer(t, peerOpts{seeds: []string{archival.addr()}})
		p.waitServes(p2psync.Headers, archival.id())
		svc := headerService(t, p, gen.Genesis, serviceOpts{syncFrom: p2psync.SyncFromHead, retain: retain})
		waitBase(t, svc, n-retain+1)
		seeds, ids = append(seeds, p.addr()), append(ids, p.id())
	}

	logger, rec := testlog.NewRecorder(t, slog.LevelInfo)
	victimPeer := newPeer(t, peerOpts{seeds: seeds, logger: logger})
	victimPeer.waitServes(p2psync.Headers, ids...)
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{requestSize: 64})
	waitHead(t, victim, hs[n-1].Hash())
	requireWindow(t, victim, hs, 1, n)
	require.Zero(t, rec.Count("range fetch failed; retrying"), "a range failed though the archival peer had it")
	require.Empty(t, victimPeer.client.ConnectionGater().ListBlockedPeers(), "a pruned peer was banned")
}
