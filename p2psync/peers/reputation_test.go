package peers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

func TestJudgeSortsAnswersIntoStrikesBansAndNothing(t *testing.T) {
	var bans []peer.ID
	r := NewReputation(func(p peer.ID, _ error) { bans = append(bans, p) }, nil)
	ctx := context.Background()
	const p = peer.ID("p")

	r.Judge(ctx, p, errors.New("stream reset"))
	r.Judge(ctx, p, errors.New("timeout"))
	require.Equal(t, 2, r.Strikes(p), "failures to answer are strikes")

	for _, err := range []error{
		fmt.Errorf("peer p: %w", header.ErrNotFound),
		fmt.Errorf("header 9: %w", header.ErrFromFuture),
		fmt.Errorf("chunk: %w", ErrInconclusive),
	} {
		r.Judge(ctx, p, err)
		require.Equal(t, 2, r.Strikes(p), "%v says nothing about the peer", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	r.Judge(cancelled, p, errors.New("stream reset"))
	require.Equal(t, 2, r.Strikes(p), "a request we cancelled is not the peer's failure")

	r.Judge(ctx, p, nil)
	require.Zero(t, r.Strikes(p), "an answer clears the strikes")
	require.Empty(t, bans)

	fault := &Fault{Peer: p, Err: errors.New("bad signature")}
	r.Judge(ctx, p, fmt.Errorf("headers 1 to 9: %w", fault))
	r.Judge(ctx, p, fault)
	require.Equal(t, []peer.ID{p}, bans, "a fault bans the peer, once")
	require.True(t, r.Banned(p))
}

func TestStrikesFade(t *testing.T) {
	r := NewReputation(nil, nil)
	r.strikes = newStrikes(0) // expire at once
	r.Judge(context.Background(), "p", errors.New("timeout"))
	require.Zero(t, r.Strikes("p"), "a strike older than its memory is forgotten")
}

func TestOrderPutsStrikesLastAndKeepsOrderAmongEquals(t *testing.T) {
	r := NewReputation(nil, nil)
	ctx := context.Background()
	r.Judge(ctx, "a", errors.New("timeout"))
	r.Judge(ctx, "a", errors.New("timeout"))
	r.Judge(ctx, "c", errors.New("timeout"))
	ps := []peer.ID{"a", "b", "c", "d"}
	r.Order(ps)
	require.Equal(t, []peer.ID{"b", "d", "c", "a"}, ps)
}
