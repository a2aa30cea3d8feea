package exserver

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

// TestSameAnswersAsGoHeader sends the same requests to go-header's own
// ExchangeServer and to this one, both serving the same go-header store, and
// compares what comes back byte for byte, and how each stream ends.
func TestSameAnswersAsGoHeader(t *testing.T) {
	const readDeadline = 300 * time.Millisecond
	chain := makeChain(t, 40)
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)

	stores := map[string][]*types.SignedHeader{
		"full":  chain,     // heights 1..40
		"based": chain[9:], // heights 10..40, as after a trusted-hash start
		"empty": chain[:0], // no head yet
	}
	for name, c := range stores {
		st := newHeaderStore(t, c)
		startGoHeader(t, srvHost, "gh-"+name, st, readDeadline)
		startServer(t, srvHost, "ex-"+name, FromHeaderStore(st), WithReadDeadline(readDeadline))
	}

	origin := func(o, amount uint64) *p2p_pb.HeaderRequest {
		return &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: o}, Amount: amount}
	}
	byHash := func(h []byte) *p2p_pb.HeaderRequest {
		return &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: h}, Amount: 1}
	}
	frame := func(body []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(body))), body...) }
	absent := bytes.Repeat([]byte{0xab}, 32)

	type want struct {
		msgs  int
		code  p2p_pb.StatusCode
		reset bool
	}
	cases := []struct {
		name     string
		store    string
		req      *p2p_pb.HeaderRequest // or raw
		raw      []byte
		keepOpen bool // send raw and wait: the read deadline
		want     want
	}{
		{name: "head", req: origin(0, 1), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "head, amount 0", req: origin(0, 0), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "head, amount over 512", req: origin(0, 600), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "head, amount 5", req: origin(0, 5), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "by hash, present", req: byHash(chain[9].Hash()), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "by hash, head", req: byHash(chain[39].Hash()), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "by hash, absent", req: byHash(absent), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "by hash, short", req: byHash([]byte{1, 2, 3}), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "by hash, empty", req: byHash([]byte{}), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "range, middle", req: origin(10, 5), want: want{msgs: 5, code: p2p_pb.StatusCode_OK}},
		{name: "range, first height", req: origin(1, 1), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "range, first ten", req: origin(1, 10), want: want{msgs: 10, code: p2p_pb.StatusCode_OK}},
		{name: "range, the head", req: origin(40, 1), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "range, ending at the head", req: origin(31, 10), want: want{msgs: 10, code: p2p_pb.StatusCode_OK}},
		{name: "range, past the head", req: origin(35, 20), want: want{msgs: 6, code: p2p_pb.StatusCode_OK}},
		{name: "range, the whole chain in 512", req: origin(1, 512), want: want{msgs: 40, code: p2p_pb.StatusCode_OK}},
		{name: "range, just above the head", req: origin(41, 5), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "range, far above the head", req: origin(1000, 10), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "range, 513", req: origin(1, 513), want: want{reset: true}},
		{name: "range, 513 above the head", req: origin(1000, 513), want: want{reset: true}},
		{name: "range, amount 0 in the chain", req: origin(5, 0), want: want{reset: true}},
		{name: "range, amount 0 after the head", req: origin(41, 0), want: want{reset: true}},
		{name: "range, amount 0 above the head", req: origin(42, 0), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "range, wrapping past 2^64", req: origin(math.MaxUint64-4, 10), want: want{reset: true}},
		{name: "range, at 2^64-1", req: origin(math.MaxUint64, 1), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "no origin and no hash", req: &p2p_pb.HeaderRequest{Amount: 5}, want: want{reset: true}},
		{name: "empty message", raw: frame(nil), want: want{reset: true}},
		{name: "not protobuf", raw: frame([]byte{0xff, 0xff, 0xff}), want: want{reset: true}},
		{name: "wrong wire type", raw: frame([]byte{0x0a, 0x01, 0x01}), want: want{reset: true}},
		{name: "frame over 1 MiB", raw: binary.AppendUvarint(nil, 2<<20), want: want{reset: true}},
		{name: "truncated frame", raw: []byte{10, 0x08}, want: want{reset: true}},
		{name: "nothing sent", raw: nil, want: want{reset: true}},
		{name: "nothing sent, stream left open", raw: nil, keepOpen: true, want: want{reset: true}},
		{name: "half a request, stream left open", raw: []byte{10, 0x08}, keepOpen: true, want: want{reset: true}},
		{name: "bytes after the request", raw: append(encodeRequest(t, origin(3, 2)), 0xff, 0xff), want: want{msgs: 2, code: p2p_pb.StatusCode_OK}},

		{name: "based: head", store: "based", req: origin(0, 1), want: want{msgs: 1, code: p2p_pb.StatusCode_OK}},
		{name: "based: range at the base", store: "based", req: origin(10, 5), want: want{msgs: 5, code: p2p_pb.StatusCode_OK}},
		{name: "based: range below the base", store: "based", req: origin(2, 5), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "based: range across the base", store: "based", req: origin(5, 10), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
		{name: "based: by hash below the base", store: "based", req: byHash(chain[3].Hash()), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},

		{name: "empty: head", store: "empty", req: origin(0, 1), want: want{reset: true}},
		{name: "empty: range", store: "empty", req: origin(1, 5), want: want{reset: true}},
		{name: "empty: by hash", store: "empty", req: byHash(chain[0].Hash()), want: want{msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store
			if store == "" {
				store = "full"
			}
			raw := tc.raw
			if tc.req != nil {
				raw = encodeRequest(t, tc.req)
			}
			theirs := ask(t, client, srvHost.ID(), ProtocolID("gh-"+store), raw, tc.keepOpen)
			ours := ask(t, client, srvHost.ID(), ProtocolID("ex-"+store), raw, tc.keepOpen)
			require.Equal(t, theirs.reset, ours.reset, "stream reset: go-header %v, exserver %v", theirs, ours)
			require.True(t, bytes.Equal(theirs.raw, ours.raw), "answers differ: go-header %v, exserver %v", theirs, ours)

			// And the answer is the one the table expects.
			msgs := ours.messages(t)
			require.Equal(t, tc.want.reset, ours.reset)
			require.Len(t, msgs, tc.want.msgs)
			for _, m := range msgs {
				require.Equal(t, tc.want.code, m.StatusCode)
			}
		})
	}
}

// TestAmountZeroFromTheFirstHeight is where the server departs from
// go-header on purpose: go-header answers amount 0 from height 1 with the
// whole chain, however long; this server resets it, as it resets amount 0
// from any other stored height.
func TestAmountZeroFromTheFirstHeight(t *testing.T) {
	chain := makeChain(t, 600)
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	st := newHeaderStore(t, chain)
	startGoHeader(t, srvHost, "gh", st, time.Second)
	startServer(t, srvHost, "ex", FromHeaderStore(st))
	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 1}, Amount: 0})

	theirs := ask(t, client, srvHost.ID(), ProtocolID("gh"), req, false)
	require.False(t, theirs.reset)
	require.Len(t, theirs.messages(t), 600, "go-header sends the whole chain, over %d", header.MaxRangeRequestSize)

	ours := ask(t, client, srvHost.ID(), ProtocolID("ex"), req, false)
	require.True(t, ours.reset)
	require.Empty(t, ours.raw)
}
