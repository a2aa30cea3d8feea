// Package headerstore is a go-header header.Store[H] kept directly in the
// node's pebble database, ordered by height.
//
// go-header's own store keys each header by its hash (hex text) and keeps a
// height -> hash index beside it. Headers then land in pebble in random key
// order, so pebble rewrites them again and again as it compacts (a 1 000 000
// header catch-up wrote 12 times what it stored), and a range is one random
// read per header, walked back by hash from its end. It also appends
// asynchronously, so what it reports as its head may not be on disk yet.
//
// This store keys headers by height in an order-preserving key: an append is
// a sequential write that pebble's compactions mostly move down the levels
// without rewriting, and a range is one iterator scan. go-datastore has no
// seek, so the store works on the *pebble.DB itself (store.DB.Pebble), in the
// same database as the node's datastore, which go-ds-pebble keys by the raw
// bytes of a datastore key string. Every key here begins with
// "/<prefix>/v2/", so nothing else in the database shares it: the
// datastore's other users write elsewhere, and go-header's old layout under
// "/<prefix>/" (hex hashes, decimal heights, "head") sorts below "v".
//
// The layout, under "/<prefix>/v2/":
//
//	h/<height, 8 bytes big-endian>  the header's MarshalBinary encoding
//	x/<hash bytes>                   the header's height, 8 bytes big-endian
//	meta                             base and head heights, 8 bytes each
//
// Append verifies, writes the headers, their index entries and the new meta
// in one batch committed with pebble.Sync, and returns after the commit: the
// head a Store reports is always on disk, and a kill -9 loses nothing Append
// returned for. Writers are serialised; readers never wait for them.
//
// The stored heights are the contiguous range [base, head]. The base may be
// above the chain's first height (a store begun from a trusted header); a
// height below it is answered as not found. The meta record's base is what a
// retention window moves: DeleteBelow raises it, and a backward fill would
// write verified headers below it and lower it, each in one batch with the
// meta.
//
// A read of data pebble finds damaged (a failed checksum) fails with a
// *store.CorruptError, store.ErrCorrupt to errors.Is, naming the key read
// ("/headerEx/v2/h/1234", "/headerEx/v2/x/<hex hash>"), as store.DB's
// datastore reads do; it is never a not-found. Not-found answers are
// go-header's sentinels, unwrapped. A range fails only if it holds a
// damaged header: a scan never reads past its last height.
package headerstore
