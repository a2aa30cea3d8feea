package p2psync_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/diskfault"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

func importChain(t *testing.T, ds p2psync.Datastore, hs []*types.SignedHeader) {
	t.Helper()
	ctx := context.Background()
	im, err := p2psync.NewImporter[*types.SignedHeader](ctx, ds, p2psync.Headers)
	require.NoError(t, err)
	require.NoError(t, im.Append(ctx, hs...))
	require.NoError(t, im.Close(ctx))
}

func TestVerifyStore(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 300)
	hs, err := gen.Headers(300)
	require.NoError(t, err)
	verify := func(ds p2psync.Datastore, trusted []byte) (p2psync.StoreReport, error) {
		return p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis, trusted)
	}

	empty, err := verify(memStore(t), nil)
	require.NoError(t, err)
	require.True(t, empty.Empty)

	ds := memStore(t)
	importChain(t, ds, hs)
	rep, err := verify(ds, nil)
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{Base: 1, Head: 300, Begin: 1}, rep)
	require.False(t, rep.Windowed())

	fromTrusted := memStore(t)
	importChain(t, fromTrusted, hs[99:])
	rep, err = verify(fromTrusted, hs[99].Hash())
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{Base: 100, Head: 300, Begin: 100}, rep)
	require.False(t, rep.Windowed())
	// Without its trusted hash, the same chain is a window from a base
	// signed by the genesis key (TestVerifyStoreWindow).
	rep, err = verify(fromTrusted, nil)
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{Base: 100, Head: 300, Begin: 1}, rep)
	require.True(t, rep.Windowed())

	// A missing header in the middle is found.
	holed := memStore(t)
	importChain(t, holed, hs)
	require.NoError(t, holed.Pebble().Delete(heightKey("headerEx", 151), pebble.Sync))
	_, err = verify(holed, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.ErrorContains(t, err, "corrupt store: header 151: not stored, though the chain runs from 1 to 300")

	// A hash index naming the wrong height is found.
	misindexed := memStore(t)
	importChain(t, misindexed, hs)
	require.NoError(t, misindexed.Pebble().Set(indexKey("headerEx", hs[199].Hash()), binary.BigEndian.AppendUint64(nil, 11), pebble.Sync))
	_, err = verify(misindexed, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.Contains(t, err.Error(), "hash index names height 11 for "+hex.EncodeToString(hs[199].Hash())+", stored at 200")

	// Another sequencer's chain is not this chain.
	other := newGenerator(t, 10)
	foreign, err := other.Headers(10)
	require.NoError(t, err)
	alien := memStore(t)
	importChain(t, alien, foreign)
	_, err = verify(alien, nil)
	require.ErrorIs(t, err, p2psync.ErrNotSequencerKey)
}

// Each thing a report names, it names once: "header 152", "block 152",
// never "header header 152" or "block header 152".
func TestVerifyStoreNamesEachThingOnce(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 200)
	bs, err := gen.Blocks(200)
	require.NoError(t, err)
	ds := memStore(t)
	im, err := p2psync.NewImporter[*types.Block](ctx, ds, p2psync.Blocks)
	require.NoError(t, err)
	require.NoError(t, im.Append(ctx, bs...))
	require.NoError(t, im.Close(ctx))
	require.NoError(t, ds.Pebble().Delete(heightKey("blockEx", 151), pebble.Sync))

	_, err = p2psync.VerifyStore[*types.Block](ctx, ds, p2psync.Blocks, gen.Genesis, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.ErrorContains(t, err, "corrupt store: block 151: not stored")
	for _, twice := range []string{"header header", "block header", "block block"} {
		require.NotContains(t, err.Error(), twice)
	}

	other := newGenerator(t, 10)
	foreign, err := other.Headers(10)
	require.NoError(t, err)
	alien := memStore(t)
	importChain(t, alien, foreign)
	_, err = p2psync.VerifyStore[*types.SignedHeader](ctx, alien, p2psync.Headers, gen.Genesis, nil)
	require.ErrorIs(t, err, p2psync.ErrNotSequencerKey)
	require.Equal(t, 1, strings.Count(err.Error(), "header 10"), err.Error())
}

// Heights that cannot be read are all listed, and the chain around them is
// still checked: one run of check names every damaged height. The damage is
// real: a byte flipped in a data block of header records and in one of hash
// index entries of a store on disk.
func TestVerifyStoreListsUnreadableHeights(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 300)
	hs, err := gen.Headers(300)
	require.NoError(t, err)
	dir := t.TempDir()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	importChain(t, ds, hs)
	require.NoError(t, ds.Close())

	heightOf := make(map[string]uint64, len(hs))
	for _, h := range hs {
		heightOf[string(indexKey("headerEx", h.Hash()))] = h.Height()
		heightOf[string(heightKey("headerEx", h.Height()))] = h.Height()
	}
	tables, err := diskfault.Tables(dir)
	require.NoError(t, err)
	require.Len(t, tables, 1, "a clean close flushes everything to one table")
	// Choose both blocks before damaging either: FindBlock reads the table.
	// Neither holds the head's keys or the first header's (the walk checks
	// the first header when it can read it).
	var (
		records, index, unreadable []uint64
		chosen                     []diskfault.Block
	)
	for _, kind := range []string{"/headerEx/v2/h/", "/headerEx/v2/x/"} {
		blk, keys, err := diskfault.FindBlock(tables[0], func(k []byte) bool {
			h, ok := heightOf[string(k)]
			return ok && strings.HasPrefix(string(k), kind) && h != 1 && h != 300
		})
		require.NoError(t, err, kind)
		for _, k := range keys {
			if kind == "/headerEx/v2/h/" {
				records = append(records, heightOf[string(k)])
			} else {
				index = append(index, heightOf[string(k)])
			}
			unreadable = append(unreadable, heightOf[string(k)])
		}
		chosen = append(chosen, blk)
	}
	for _, blk := range chosen {
		require.NoError(t, diskfault.FlipBlock(tables[0], blk))
	}
	slices.Sort(index)
	slices.Sort(unreadable)
	unreadable = slices.Compact(unreadable) // a height may lose its record and its index entry
	t.Logf("damaged header records %v, index entries of %v", records, index)

	ds, err = store.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	rep, err := p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.ErrorIs(t, err, store.ErrCorrupt, "the first read error is wrapped")
	require.Equal(t, unreadable, rep.Unreadable, "every unreadable height, ascending")
	require.Equal(t, uint64(1), rep.Base, "checked down to genesis around the damage")
	require.Equal(t, uint64(300), rep.Head)

	// The walk goes down from the head: the first read to fail is the
	// highest damaged height's, its record if that is damaged (read by
	// height), else its index entry (read by hash).
	top := unreadable[len(unreadable)-1]
	firstErr := fmt.Sprintf(`header %d: headerstore: read header %d: store corrupt: read /headerEx/v2/h/%d: `, top, top, top)
	if !slices.Contains(records, top) {
		firstErr = fmt.Sprintf(`cannot read the hash index at %d: headerstore: read index of %s: store corrupt: read /headerEx/v2/x/%s: `,
			top, hs[top-1].Hash(), hex.EncodeToString(hs[top-1].Hash()))
	}
	listed := make([]string, 0, len(unreadable))
	for _, h := range unreadable[:min(len(unreadable), 20)] {
		listed = append(listed, strconv.FormatUint(h, 10))
	}
	list := strings.Join(listed, ", ")
	if len(unreadable) > 20 {
		list += fmt.Sprintf(" and %d more", len(unreadable)-20)
	}
	require.Regexp(t, "^"+regexp.QuoteMeta("corrupt store: cannot read headers "+list+": "+firstErr)+`.*checksum mismatch`, err.Error())
	require.NotContains(t, err.Error(), "\n", "one line")

	// A broken rule below the damage is still found: an index entry that
	// names the wrong height.
	below := uint64(2)
	for slices.Contains(unreadable, below) || slices.Contains(unreadable, below+1) {
		below++
	}
	require.Less(t, below, records[0])
	require.NoError(t, ds.Pebble().Set(indexKey("headerEx", hs[below-1].Hash()), binary.BigEndian.AppendUint64(nil, 11), pebble.Sync))
	_, err = p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.ErrorContains(t, err, fmt.Sprintf("hash index names height 11 for %s, stored at %d", hex.EncodeToString(hs[below-1].Hash()), below))
}

// CheckStoredEnds refuses a store whose chain the genesis does not name,
// saying which key signed it and which the genesis expects.
func TestCheckStoredEnds(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 20)
	hs, err := gen.Headers(20)
	require.NoError(t, err)
	check := func(ds p2psync.Datastore) error {
		return p2psync.CheckStoredEnds[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis)
	}

	require.NoError(t, check(memStore(t)), "an empty store has nothing to disagree with")
	own := memStore(t)
	importChain(t, own, hs)
	require.NoError(t, check(own))
	fromTrusted := memStore(t)
	importChain(t, fromTrusted, hs[9:])
	require.NoError(t, check(fromTrusted), "the base header is checked wherever it is")
	windowed := memStore(t)
	importChain(t, windowed, hs)
	deleteBelow(t, windowed, 15)
	require.NoError(t, check(windowed), "heights below the base are not missing")

	other := newGenerator(t, 20)
	foreign, err := other.Headers(20)
	require.NoError(t, err)
	otherKey := memStore(t)
	importChain(t, otherKey, foreign)
	err = check(otherKey)
	require.ErrorIs(t, err, p2psync.ErrNotSequencerKey)
	require.ErrorContains(t, err, "stored header 20 (head)")
	require.ErrorContains(t, err, fmt.Sprintf("signed by key %x, expected %x", []byte(other.Signer.PublicKey()), []byte(gen.Genesis.SequencerPubKey)))

	otherGen, err := chaingen.New("other", 20, chaingen.Options{Key: gen.Signer.PrivateKey()})
	require.NoError(t, err)
	otherChain, err := otherGen.Headers(20)
	require.NoError(t, err)
	wrongChain := memStore(t)
	importChain(t, wrongChain, otherChain)
	err = check(wrongChain)
	require.ErrorIs(t, err, p2psync.ErrWrongChain)
	require.ErrorContains(t, err, `chain "other", expected "gm"`)
}

// heightKey and indexKey are the new store's keys (store/headerstore).
func heightKey(prefix string, height uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("/"+prefix+"/v2/h/"), height)
}

func indexKey(prefix string, hash []byte) []byte {
	return append([]byte("/"+prefix+"/v2/x/"), hash...)
}
