package main

import (
	"bytes"
	"context"
	"crypto/rand"
	encbinary "encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/adversary"
	"github.com/headersync/headersync/internal/diskfault"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// damage is what flipped data blocks took from a stopped node's chain of
// one kind: the heights whose record (header or block), and those whose
// hash index entry, sat in them.
type damage struct {
	records, index map[uint64]bool
}

// byHeight are the heights a read by height fails on, ascending: the store
// keys its records by height, so such a read reads the record alone.
func (d damage) byHeight() []uint64 {
	return slices.Sorted(maps.Keys(d.records))
}

// byHashFails says whether a read by hash of height's record fails: it
// reads the hash index entry, then the record.
func (d damage) byHashFails(height uint64) bool {
	return d.index[height] || d.records[height]
}

// heights are the damaged heights, ascending: record or index entry, those
// check names.
func (d damage) heights() []uint64 {
	return unique(d.byHeight(), slices.Sorted(maps.Keys(d.index)))
}

// rangeFails says whether an exchange request for heights from..to fails:
// the server scans the records from..to in height order and reads no index.
func (d damage) rangeFails(from, to uint64) bool {
	for h := from; h <= to; h++ {
		if d.records[h] {
			return true
		}
	}
	return false
}

// be decodes the heights in the store's keys; "binary" names the
// executable under test in this package.
var be = encbinary.BigEndian

// blockKind is what a data block of the node's table holds: the records,
// or the hash index entries, of one chain (headers or blocks).
type blockKind struct{ isHeader, isIndex bool }

// corruptDataBlocks flips a byte in four data blocks of the node's data
// dir: one holding only header records, one only header index entries, and
// the same for blocks, all of heights strictly between 1 and the head (the
// node must still read its head and first header to start); it returns
// what it damaged. What a block holds is read with pebble's own table
// reader, not with the store under test.
func corruptDataBlocks(t *testing.T, home string, chain []*types.Block) (table string, headers, blocks damage) {
	t.Helper()
	heightOf := make(map[string]uint64, len(chain))
	for _, b := range chain {
		heightOf[string(b.Hash())] = b.Height()
	}
	head := uint64(len(chain))
	// classify returns what key k holds (the store's layout is in
	// store/headerstore's package doc), or false if it is not an ordinary
	// height's record or index entry.
	classify := func(k []byte) (height uint64, kind blockKind, ok bool) {
		for _, c := range []struct {
			prefix   string
			isHeader bool
		}{{"/headerEx/v2/", true}, {"/blockEx/v2/", false}} {
			rest, found := bytes.CutPrefix(k, []byte(c.prefix))
			if !found {
				continue
			}
			if raw, isRecord := bytes.CutPrefix(rest, []byte("h/")); isRecord && len(raw) == 8 {
				h := be.Uint64(raw)
				return h, blockKind{isHeader: c.isHeader}, h > 1 && h < head
			}
			if hash, isIndex := bytes.CutPrefix(rest, []byte("x/")); isIndex {
				h, known := heightOf[string(hash)]
				return h, blockKind{isHeader: c.isHeader, isIndex: true}, known && h > 1 && h < head
			}
		}
		return 0, blockKind{}, false // a meta record, or a record of the node's own
	}

	tables, err := diskfault.Tables(config.Home(home).DataDir())
	require.NoError(t, err)
	require.NotEmpty(t, tables, "a clean stop leaves the imported chain in tables")
	headers = damage{records: map[uint64]bool{}, index: map[uint64]bool{}}
	blocks = damage{records: map[uint64]bool{}, index: map[uint64]bool{}}
	// One block of each kind's keys, found from the middle of the file
	// outwards, in one table: the damage is then one file's.
	table = tables[len(tables)-1]
	dataBlocks, err := diskfault.DataBlocks(table)
	require.NoError(t, err)
	// Choose every block before damaging any: KeysIn reads the table.
	var (
		flipped = map[blockKind]bool{}
		chosen  []diskfault.Block
	)
	// ordinary reports whether block j holds only ordinary heights' keys of
	// one kind. The meta records and the node's own records (the
	// cross-check's height) sort between the kinds' keys: a block next to
	// one holding them is passed over too, so that no damage can reach them,
	// whatever a key's exact place in its block.
	ordinary := func(j int) (kind blockKind, ok bool) {
		if j < 0 || j >= len(dataBlocks) {
			return blockKind{}, true
		}
		keys, err := diskfault.KeysIn(table, dataBlocks[j])
		require.NoError(t, err)
		for n, k := range keys {
			_, kk, fine := classify(k)
			if !fine || (n > 0 && kk != kind) {
				return blockKind{}, false
			}
			kind = kk
		}
		return kind, len(keys) > 0
	}
	for i := range dataBlocks {
		j := (len(dataBlocks)/2 + i) % len(dataBlocks)
		blk := dataBlocks[j]
		kind, ok := ordinary(j)
		if !ok || flipped[kind] {
			continue
		}
		if _, ok := ordinary(j - 1); !ok {
			continue
		}
		if _, ok := ordinary(j + 1); !ok {
			continue
		}
		keys, err := diskfault.KeysIn(table, blk)
		require.NoError(t, err)
		d := blocks
		if kind.isHeader {
			d = headers
		}
		for _, k := range keys {
			h, _, _ := classify(k)
			if kind.isIndex {
				d.index[h] = true
			} else {
				d.records[h] = true
			}
		}
		flipped[kind] = true
		chosen = append(chosen, blk)
		if len(flipped) == 4 {
			for _, blk := range chosen {
				require.NoError(t, diskfault.FlipBlock(table, blk))
			}
			return table, headers, blocks
		}
	}
	t.Fatalf("%s has no data block of ordinary heights' records and one of index entries for each of headers and blocks: found %v", table, flipped)
	return "", damage{}, damage{}
}

// requireCorruptReply requires err to be the API's 500 for a corrupt store
// at what ("height 56", "header <hash>"), the store having failed to read
// key.
func requireCorruptReply(t *testing.T, err error, what, key string) {
	t.Helper()
	var httpErr *api.HTTPError
	require.ErrorAs(t, err, &httpErr, what)
	require.Equal(t, http.StatusInternalServerError, httpErr.StatusCode, what)
	require.Regexp(t, fmt.Sprintf(`^store corrupt at %s: read %s: .*checksum mismatch.*; run headersync check$`,
		regexp.QuoteMeta(what), regexp.QuoteMeta(key)), httpErr.Message)
}

// A full node whose data dir has damaged data blocks starts, answers every
// read of a damaged height with a clear error (a 500 on the API, a reset
// stream on the exchange), serves every other height, cross-checks around
// the damage, logs it once and stops cleanly; check then names the damaged
// heights and exits 1. pebble's default corruption handler ended the process
// on the first read.
func TestCorruptDataFileIsAnErrorNotACrash(t *testing.T) {
	const chainLen = 3000
	seqHome, fullHome, _ := homes(t)
	chain := importChainAs(t, seqHome, fullHome, chainLen)
	table, headers, blocks := corruptDataBlocks(t, fullHome, chain)
	t.Logf("flipped a byte in four blocks of %s: headers %v, index of %v; blocks %v, index of %v", filepath.Base(table),
		headers.byHeight(), slices.Sorted(maps.Keys(headers.index)), blocks.byHeight(), slices.Sorted(maps.Keys(blocks.index)))

	ports := newPorts(t)
	full := start(t, "full", fullHome, ports)
	ctx := context.Background()
	for _, b := range chain {
		height := b.Height()
		at := fmt.Sprintf("height %d", height)
		h, err := full.api.Header(ctx, strconv.FormatUint(height, 10))
		if headers.records[height] {
			requireCorruptReply(t, err, at, fmt.Sprintf("/headerEx/v2/h/%d", height))
		} else {
			require.NoError(t, err, "header %d", height)
			require.Equal(t, hex.EncodeToString(b.Hash()), h.Hash.String(), "header %d", height)
		}
		got, err := full.api.Block(ctx, height)
		if blocks.records[height] {
			requireCorruptReply(t, err, at, fmt.Sprintf("/blockEx/v2/h/%d", height))
		} else {
			require.NoError(t, err, "block %d", height)
			require.Equal(t, hex.EncodeToString(b.Hash()), got.Header.Hash.String(), "block %d", height)
		}
	}
	// By hash, the index entry is read first, then the record.
	for _, height := range headers.heights() {
		hash := chain[height-1].Hash()
		_, err := full.api.Header(ctx, hash.String())
		key := "/headerEx/v2/x/" + hex.EncodeToString(hash)
		if !headers.index[height] {
			key = fmt.Sprintf("/headerEx/v2/h/%d", height)
		}
		requireCorruptReply(t, err, "header "+hash.String(), key)
	}

	// Over the exchange, a damaged height is a reset stream: the protocol
	// has no error status, and NOT_FOUND or an invalid header would mislead
	// the asking peer or get this honest one banned.
	client := exchangeClient(t, fullHome, ports)
	for _, c := range []struct {
		kind p2psync.Kind
		d    damage
	}{{p2psync.Headers, headers}, {p2psync.Blocks, blocks}} {
		proto := protocol.ID(c.kind.ProtocolID("gm"))
		ask := func(from, to uint64) {
			t.Helper()
			n, err := client.request(proto, from, to-from+1)
			if c.d.rangeFails(from, to) {
				require.Error(t, err, "%s %d..%d: the stream must be reset", c.kind, from, to)
				require.Zero(t, n, "%s %d..%d: no answer, not even a status", c.kind, from, to)
				return
			}
			require.NoError(t, err, "%s %d..%d", c.kind, from, to)
			require.Equal(t, int(to-from+1), n, "%s %d..%d", c.kind, from, to)
		}
		for _, h := range c.d.heights() {
			ask(h, h)
			ask(h-1, min(h+6, chainLen))
			n, err := client.requestHash(proto, chain[h-1].Hash())
			if c.d.byHashFails(h) {
				require.Error(t, err, "%s %d by hash: the stream must be reset", c.kind, h)
				require.Zero(t, n, "%s %d by hash: no answer, not even a status", c.kind, h)
			} else {
				require.NoError(t, err, "%s %d by hash", c.kind, h)
				require.Equal(t, 1, n, "%s %d by hash", c.kind, h)
			}
		}
		for _, h := range []uint64{1, chainLen / 3, chainLen} {
			ask(h, h)
		}
	}

	// The cross-check stepped over what it could not read and went on.
	require.Eventually(t, func() bool {
		st, ok := full.tryStatus()
		return ok && st.CrossCheck != nil && st.CrossCheck.CheckedHeight >= chainLen
	}, waitFor, tick, "the cross-check stalled at a damaged height")
	st := full.status()
	require.Equal(t, uint64(len(unique(headers.byHeight(), blocks.byHeight()))), st.CrossCheck.Unreadable)
	require.Zero(t, st.CrossCheck.Mismatches)
	full.terminate()

	log, err := os.ReadFile(full.log.Name())
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(log), "store corrupt: a data file"), "the damage is logged once:\n%s", log)
	require.NotContains(t, string(log), "goroutine ")

	out, errOut, code := cli(t, "check", "--home", fullHome)
	require.Equal(t, 1, code, "check must fail on a damaged store: %s", out)
	require.NotContains(t, errOut, "goroutine ")
	require.Equal(t, 1, strings.Count(errOut, "\n"), "one error line: %q", errOut)
	require.True(t, strings.HasPrefix(errOut, "headersync: "), errOut)
	for what, hs := range map[string][]uint64{"header": headers.heights(), "block": blocks.heights()} {
		if len(hs) > 0 {
			require.Contains(t, errOut, "cannot read "+plural(what, len(hs))+" "+listedHeights(hs)+":")
		}
	}
}

// A table pebble cannot open at all (its footer is damaged) stops start and
// check with one line saying the store is corrupt, not blaming another node.
func TestCorruptTableIsRefusedAtOpen(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	importChainAs(t, seqHome, fullHome, 500)
	tables, err := diskfault.Tables(config.Home(fullHome).DataDir())
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	require.NoError(t, diskfault.FlipFooter(tables[0]))

	ports := newPorts(t)
	for _, args := range [][]string{
		{"start", "--home", fullHome, "--p2p.listen", ports.listen(), "--api.listen", ports.apiAddr()},
		{"check", "--home", fullHome},
	} {
		_, errOut, code := cli(t, args...)
		require.Equal(t, 1, code, "%s: %s", args[0], errOut)
		// start logs the damaged file before it gives up; the error is the
		// last line, and the only one of its kind.
		require.Regexp(t, `(?m)\A(?:time=.*\n)*headersync: open datastore .*: store corrupt: [^\n]*\n\z`, errOut, args[0])
		require.NotContains(t, errOut, "another node")
		require.NotContains(t, errOut, "goroutine ")
	}
}

// exchange is a libp2p peer of the test's own, connected to one node.
type exchange struct {
	t      *testing.T
	client *p2p.Client
	target peer.ID
}

// exchangeClient connects a fresh libp2p peer to the node at home.
func exchangeClient(t *testing.T, home string, ports nodePorts) *exchange {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	c, err := p2p.New(p2p.Config{Listen: []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")}}, key, "gm", nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	id, err := peer.Decode(mustCLI(t, "node-id", "--home", home))
	require.NoError(t, err)
	addr, err := multiaddr.NewMultiaddr(ports.listen())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Host().Connect(ctx, peer.AddrInfo{ID: id, Addrs: []multiaddr.Multiaddr{addr}}))
	return &exchange{t: t, client: c, target: id}
}

// request asks for amount headers from height and returns how many answers
// came before the stream ended, and how it ended.
func (e *exchange) request(proto protocol.ID, from, amount uint64) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return adversary.Request(ctx, e.client.Host(), e.target, proto,
		&p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: from}, Amount: amount})
}

// requestHash asks for the header with hash and returns how many answers
// came before the stream ended, and how it ended.
func (e *exchange) requestHash(proto protocol.ID, hash []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return adversary.Request(ctx, e.client.Host(), e.target, proto,
		&p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: hash}, Amount: 1})
}

func plural(what string, n int) string {
	if n == 1 {
		return what
	}
	return what + "s"
}

func joinHeights(hs []uint64) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = strconv.FormatUint(h, 10)
	}
	return strings.Join(s, ", ")
}

// listedHeights is how check lists heights in its one line: every one up
// to 20 (a damaged block of records holds fewer; one of hash index entries,
// whose keys are random, about 70), then how many more.
func listedHeights(hs []uint64) string {
	const most = 20
	if len(hs) <= most {
		return joinHeights(hs)
	}
	return fmt.Sprintf("%s and %d more", joinHeights(hs[:most]), len(hs)-most)
}

// unique returns the distinct heights of all lists.
func unique(lists ...[]uint64) []uint64 {
	var all []uint64
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}
