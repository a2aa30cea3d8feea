package p2psync_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/adversary"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// A range answer is authenticated by the signature of its highest header
// and hash links down (DESIGN §8), not by each header's own signature. A
// peer whose answer has a genuine top over a header it changed — a field
// with the old signature kept, or the signature itself — is caught by the
// links and banned, as is one whose top signature, or the header below a
// chunk that the chunk must extend, is forged; the
// honest chain syncs, and nothing the adversary changed is stored.
func TestLinkedVerificationCatchesTampering(t *testing.T) {
	gen := newGenerator(t, advHeaders)
	hs, err := gen.Headers(advHeaders)
	require.NoError(t, err)
	honest := servingPeer(t, gen, hs)

	cases := []struct {
		mode   adversary.Mode
		reason error // what the ban must cite
	}{
		{adversary.TamperedDataHash, types.ErrLastHeaderHashMismatch},
		{adversary.TamperedTime, types.ErrLastHeaderHashMismatch},
		{adversary.TamperedAppHash, types.ErrLastHeaderHashMismatch},
		{adversary.TamperedSignature, types.ErrLastCommitHashMismatch},
		{adversary.BadTopSignature, types.ErrInvalidSignature},
		{adversary.ForgedAnchor, types.ErrLastHeaderHashMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ctx := context.Background()
			adv, err := adversary.Start(ctx, adversary.Options{ChainID: chainID, Honest: hs, Mode: tc.mode, Logger: testlog.New(t, slog.LevelWarn)})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, adv.Close()) })

			logger, rec := testlog.NewRecorder(t, slog.LevelInfo)
			victimPeer := newPeer(t, peerOpts{seeds: []string{adv.Addr(), honest.addr()}, logger: logger})
			victimPeer.waitServes(p2psync.Headers, adv.Client().Host().ID(), honest.id())
			// Small requests, many of them: the chunks, spread over both
			// peers in random order, reach the adversary for certain.
			victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{requestTimeout: time.Second, requestSize: 64})

			waitHead(t, victim, hs[len(hs)-1].Hash())
			requireSameChain(t, &sequencer{gen: gen, history: blocksOf(hs)}, victim, 1)
			// Every stored header, signature included, is checked on its
			// own: a tampered signature that slipped through would show.
			report, err := p2psync.VerifyStore[*types.SignedHeader](ctx, victimPeer.ds, p2psync.Headers, gen.Genesis, nil)
			require.NoError(t, err)
			require.Equal(t, uint64(advHeaders), report.Head)
			for _, h := range hs {
				if forged := adversary.Tamper(h, tc.mode); string(forged.Hash()) != string(h.Hash()) {
					_, err := victim.Get(ctx, forged.Hash())
					require.ErrorIs(t, err, header.ErrNotFound, "the adversary's header %d was stored", h.Height())
				}
			}

			advID := adv.Client().Host().ID()
			require.Positive(t, adv.Served(), "the adversary was never asked anything")
			require.True(t, slices.Contains(victimPeer.client.ConnectionGater().ListBlockedPeers(), advID), "not banned")
			var reasons []string
			for _, r := range rec.Records("banned peer") {
				if r.Attrs["peer"] == advID.String() {
					reasons = append(reasons, r.Attrs["reason"])
				}
			}
			require.Len(t, reasons, 1, "the ban is logged once")
			require.True(t, strings.Contains(reasons[0], tc.reason.Error()), "banned for %q, expected %q", reasons[0], tc.reason)
		})
	}
}
