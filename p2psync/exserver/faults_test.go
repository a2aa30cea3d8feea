package exserver

import (
	"context"
	"errors"
	"testing"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/stretchr/testify/require"
)

var errDisk = errors.New("disk on fire")

// faultyStore has heights 1..100; each method fails as told.
type faultyStore struct {
	headErr, hashErr error
	scanGives        int   // headers yielded before scanErr
	scanErr          error // returned after scanGives headers
	scanFrom         int64 // added to each yielded height (a store out of order)
}

func (f faultyStore) HeadBytes(context.Context) (uint64, []byte, error) {
	return 100, []byte("head"), f.headErr
}

func (f faultyStore) BytesByHash(context.Context, header.Hash) ([]byte, error) {
	return []byte("by hash"), f.hashErr
}

func (f faultyStore) ScanBytes(_ context.Context, from, to uint64, fn func(uint64, []byte) error) error {
	for h := from; h < to && int(h-from) < f.scanGives; h++ {
		if err := fn(uint64(int64(h)+f.scanFrom), []byte("header")); err != nil {
			return err
		}
	}
	return f.scanErr
}

// TestStoreFaults: what the store says decides the answer; an error that
// is not "not found" resets the stream, as go-header's server does.
func TestStoreFaults(t *testing.T) {
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	head := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 0}, Amount: 1})
	hash := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: []byte{1}}, Amount: 1})
	rng := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 10}, Amount: 8})

	cases := []struct {
		name  string
		store faultyStore
		req   []byte
		msgs  int
		code  p2p_pb.StatusCode
		reset bool
	}{
		{name: "head: store error", store: faultyStore{headErr: errDisk}, req: head, reset: true},
		{name: "head: no head", store: faultyStore{headErr: header.ErrNoHead}, req: head, reset: true},
		{name: "head: not found", store: faultyStore{headErr: header.ErrNotFound}, req: head, msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND},
		{name: "hash: store error", store: faultyStore{hashErr: errDisk}, req: hash, reset: true},
		{name: "hash: timeout", store: faultyStore{hashErr: context.DeadlineExceeded}, req: hash, reset: true},
		{name: "hash: wrapped not found", store: faultyStore{hashErr: errors.Join(errDisk, header.ErrNotFound)}, req: hash, msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND},
		{name: "range: head unreadable", store: faultyStore{headErr: errDisk, scanGives: 8}, req: rng, reset: true},
		{name: "range: whole", store: faultyStore{scanGives: 8}, req: rng, msgs: 8, code: p2p_pb.StatusCode_OK},
		{name: "range: store ends early", store: faultyStore{scanGives: 3}, req: rng, msgs: 3, code: p2p_pb.StatusCode_OK},
		{name: "range: nothing stored", store: faultyStore{}, req: rng, msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND},
		{name: "range: error at once", store: faultyStore{scanErr: errDisk}, req: rng, reset: true},
		{name: "range: timeout at once", store: faultyStore{scanErr: context.DeadlineExceeded}, req: rng, msgs: 1, code: p2p_pb.StatusCode_NOT_FOUND},
		{name: "range: error part-way", store: faultyStore{scanGives: 3, scanErr: errDisk}, req: rng, reset: true},
		{name: "range: heights out of order", store: faultyStore{scanGives: 8, scanFrom: 1}, req: rng, reset: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			network := "faulty-" + string(rune('a'+i))
			startServer(t, srvHost, network, tc.store)
			r := ask(t, client, srvHost.ID(), ProtocolID(network), tc.req, false)
			require.Equal(t, tc.reset, r.reset, "%v", r)
			if tc.reset {
				require.Empty(t, r.raw, "nothing reaches the client of a reset answer")
				return
			}
			msgs := r.messages(t)
			require.Len(t, msgs, tc.msgs)
			for _, m := range msgs {
				require.Equal(t, tc.code, m.StatusCode)
			}
		})
	}
}
