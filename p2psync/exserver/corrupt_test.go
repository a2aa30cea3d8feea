package exserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"testing"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/diskfault"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// damagedStore stores chain in a new on-disk database, flips a byte in one
// data block of header records and one of hash index entries (not the
// head's), and reopens it. It returns the store and the heights whose
// record, and whose index entry, cannot be read.
func damagedStore(t *testing.T, chain []*types.SignedHeader) (st *headerstore.Store[*types.SignedHeader], records, index []uint64) {
	t.Helper()
	const prefix = "headerEx"
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, chain[0]))
	require.NoError(t, st.Append(ctx, chain[1:]...))
	require.NoError(t, db.Close())

	byHash := make(map[string]uint64, len(chain))
	for _, h := range chain {
		byHash[string(h.Hash())] = h.Height()
	}
	head := uint64(len(chain))
	recordPrefix, indexPrefix := []byte("/"+prefix+"/v2/h/"), []byte("/"+prefix+"/v2/x/")
	heightOf := func(k []byte) (uint64, bool) {
		if rest, ok := bytes.CutPrefix(k, recordPrefix); ok && len(rest) == 8 {
			return binary.BigEndian.Uint64(rest), true
		}
		if rest, ok := bytes.CutPrefix(k, indexPrefix); ok {
			h, known := byHash[string(rest)]
			return h, known
		}
		return 0, false
	}
	tables, err := diskfault.Tables(dir)
	require.NoError(t, err)
	require.Len(t, tables, 1, "a clean close flushes everything to one table")
	var chosen []diskfault.Block
	for _, kind := range [][]byte{recordPrefix, indexPrefix} {
		blk, keys, err := diskfault.FindBlock(tables[0], func(k []byte) bool {
			h, ok := heightOf(k)
			return ok && bytes.HasPrefix(k, kind) && h != head
		})
		require.NoError(t, err)
		var heights []uint64
		for _, k := range keys {
			h, _ := heightOf(k)
			heights = append(heights, h)
		}
		slices.Sort(heights)
		if bytes.Equal(kind, recordPrefix) {
			records = heights
		} else {
			index = heights
		}
		chosen = append(chosen, blk)
	}
	for _, blk := range chosen {
		require.NoError(t, diskfault.FlipBlock(tables[0], blk))
	}

	db, err = store.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	st, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	return st, records, index
}

// TestCorruptReadIsReset: a request whose answer needs a header record or
// index entry the disk has damaged is reset with nothing sent. NOT_FOUND
// would tell the peer this node lacks a header it holds, and a partial or
// garbled answer could get an honest node struck. Every other request is
// answered as before.
func TestCorruptReadIsReset(t *testing.T) {
	chain := makeChain(t, 600)
	st, records, index := damagedStore(t, chain)
	t.Logf("damaged records %v, index entries of %v", records, index)
	first, last := records[0], records[len(records)-1]
	onlyIndex := slices.DeleteFunc(slices.Clone(index), func(h uint64) bool { return slices.Contains(records, h) })
	require.NotEmpty(t, onlyIndex)

	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	srv := startServer(t, srvHost, "corrupt", st)
	proto := ProtocolID("corrupt")
	byRange := func(from, amount uint64) []byte {
		return encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: from}, Amount: amount})
	}
	byHash := func(height uint64) []byte {
		return encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: chain[height-1].Hash()}, Amount: 1})
	}

	resets := map[string][]byte{
		"a damaged height":                       byRange(first, 1),
		"a range over the damage":                byRange(first-3, 8),
		"a range that ends in the damage":        byRange(first-7, 8),
		"a range that begins in the damage":      byRange(last, 8),
		"the most allowed, across the damage":    byRange(first-300, 512),
		"the hash of a damaged record":           byHash(first),
		"the hash of a damaged index entry":      byHash(onlyIndex[0]),
		"the hash of the last damaged index one": byHash(onlyIndex[len(onlyIndex)-1]),
	}
	for name, req := range resets {
		r := ask(t, client, srvHost.ID(), proto, req, false)
		require.True(t, r.reset, "%s: %v", name, r)
		if !bytes.Equal(req, resets["the most allowed, across the damage"]) {
			// The longest answer may fill the write buffer before the
			// scan reaches the damage; the reset still tells the client
			// that nothing it received is the answer.
			require.Empty(t, r.raw, "%s: nothing reaches the client of a reset answer", name)
		}
	}
	// The server counts a failed answer just after it resets the stream.
	eventually(t, func() bool { return srv.failed.Load() == uint64(len(resets)) }, "every reset answer to be counted as failed")

	oks := []struct {
		name          string
		req           []byte
		msgs          int
		code          p2p_pb.StatusCode
		wantFirstHash []byte
	}{
		{"the range just below the damage", byRange(first-8, 8), 8, p2p_pb.StatusCode_OK, chain[first-9].Hash()},
		{"the range just above the damage", byRange(last+1, 8), 8, p2p_pb.StatusCode_OK, chain[last].Hash()},
		{"a damaged index entry's record, by height", byRange(onlyIndex[0], 1), 1, p2p_pb.StatusCode_OK, chain[onlyIndex[0]-1].Hash()},
		{"the head", byRange(0, 1), 1, p2p_pb.StatusCode_OK, chain[len(chain)-1].Hash()},
		{"an unknown hash", encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: make([]byte, 32)}, Amount: 1}), 1, p2p_pb.StatusCode_NOT_FOUND, nil},
	}
	for _, c := range oks {
		r := ask(t, client, srvHost.ID(), proto, c.req, false)
		require.False(t, r.reset, "%s: %v", c.name, r)
		msgs := r.messages(t)
		require.Len(t, msgs, c.msgs, c.name)
		require.Equal(t, c.code, msgs[0].StatusCode, c.name)
		if c.wantFirstHash != nil {
			var h types.SignedHeader
			require.NoError(t, h.UnmarshalBinary(msgs[0].Body), c.name)
			require.Equal(t, c.wantFirstHash, []byte(h.Hash()), c.name)
		}
	}
}
