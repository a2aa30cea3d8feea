package headerstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// layoutVersion names this layout in every key, so a later one can live
// beside it while a migration copies.
const layoutVersion = "v2"

// keyspace builds the keys of one store.
type keyspace struct {
	root   []byte // "/<prefix>/": the store's whole key range, old layout included
	base   []byte // "/<prefix>/v2/": this layout
	height []byte // base + "h/"
	index  []byte // base + "x/"
	meta   []byte // base + "meta"
}

func newKeyspace(prefix string) (keyspace, error) {
	if prefix == "" || strings.ContainsAny(prefix, "/\x00") {
		return keyspace{}, fmt.Errorf("headerstore: prefix %q: want a non-empty name without '/'", prefix)
	}
	root := "/" + prefix + "/"
	base := root + layoutVersion + "/"
	return keyspace{
		root:   []byte(root),
		base:   []byte(base),
		height: []byte(base + "h/"),
		index:  []byte(base + "x/"),
		meta:   []byte(base + "meta"),
	}, nil
}

// oldHead is go-header's head record, "/<prefix>/head" (its store/keys.go).
func (k keyspace) oldHead() []byte {
	return append(bytes.Clone(k.root), "head"...)
}

func (k keyspace) heightKey(height uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(k.height), height)
}

// heightOf returns the height a header key names.
func (k keyspace) heightOf(key []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(key, k.height)
	if !ok || len(rest) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(rest), true
}

func (k keyspace) indexKey(hash []byte) []byte {
	return append(bytes.Clone(k.index), hash...)
}

// end returns the first key after every key that begins with prefix.
func end(prefix []byte) []byte {
	e := bytes.Clone(prefix)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] < 0xff {
			e[i]++
			return e[:i+1]
		}
	}
	return nil // prefix is all 0xff: no bound
}

// meta is the store's bounds record: the stored heights are [base, head].
// Both are 0 while the store is empty.
type meta struct {
	base, head uint64
}

func (m meta) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), m.base), m.head)
}

func decodeMeta(raw []byte) (meta, error) {
	if len(raw) != 16 {
		return meta{}, fmt.Errorf("%w: meta record of %d bytes, want 16", ErrCorrupt, len(raw))
	}
	m := meta{base: binary.BigEndian.Uint64(raw), head: binary.BigEndian.Uint64(raw[8:])}
	if m.base == 0 || m.base > m.head {
		return meta{}, fmt.Errorf("%w: meta record base %d, head %d", ErrCorrupt, m.base, m.head)
	}
	return m, nil
}

func encodeHeight(height uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), height)
}

func decodeHeight(raw []byte) (uint64, error) {
	if len(raw) != 8 {
		return 0, fmt.Errorf("%w: hash index entry of %d bytes, want 8", ErrCorrupt, len(raw))
	}
	return binary.BigEndian.Uint64(raw), nil
}
