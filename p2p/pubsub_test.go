package p2p

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMsgID(t *testing.T) {
	id := MsgID(&pubsubpb.Message{Data: []byte("header"), From: []byte("peer-1"), Seqno: []byte{1}})
	assert.Len(t, id, 32)
	assert.Equal(t, id, MsgID(&pubsubpb.Message{Data: []byte("header"), From: []byte("peer-2"), Seqno: []byte{2}}),
		"the ID depends on the payload only")
	assert.NotEqual(t, id, MsgID(&pubsubpb.Message{Data: []byte("other header")}))
}

func TestGossipCarriesLargeMessages(t *testing.T) {
	a := startClient(t, loopbackConfig(), nil, nil)
	b := startClient(t, loopbackConfig(addrWithAll(t, a)...), nil, nil)
	require.Eventually(t, func() bool { return connected(a, b) }, eventually, tick)

	const topic = "/test-chain/header-sub/v0.0.1"
	ta, err := a.PubSub().Join(topic)
	require.NoError(t, err)
	defer ta.Close()
	tb, err := b.PubSub().Join(topic)
	require.NoError(t, err)
	defer tb.Close()
	sub, err := tb.Subscribe()
	require.NoError(t, err)
	defer sub.Cancel()
	require.Eventually(t, func() bool { return slices.Contains(ta.ListPeers(), b.ID()) }, eventually, tick)

	// Above gossipsub's 1 MiB default, within our limit.
	payload := bytes.Repeat([]byte{0xab}, 1<<20+16<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, ta.Publish(ctx, payload))
	msg, err := sub.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, a.ID(), msg.GetFrom())
	assert.True(t, bytes.Equal(payload, msg.GetData()))
	assert.Equal(t, MsgID(msg.Message), msg.ID)
}
