// Package diskfault damages a stopped node's pebble files as a failing disk
// would, for tests: one flipped byte in a table (.sst) file, inside a data
// block (reads of the keys in that block fail) or in the footer (the table
// cannot be opened at all). It also tells which keys a flipped data block
// holds, read with pebble's table reader rather than with the store under
// test.
package diskfault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Tables returns the table files in the pebble directory dir, sorted.
func Tables(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return nil, fmt.Errorf("list tables in %s: %w", dir, err)
	}
	slices.Sort(paths)
	return paths, nil
}

// Block is one data block of a table: where it lies in the file.
type Block struct {
	Offset, Length uint64
}

// DataBlocks returns the data blocks of the table at path, in file order.
func DataBlocks(path string) ([]Block, error) {
	r, err := open(path, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	layout, err := r.Layout()
	if err != nil {
		return nil, fmt.Errorf("layout of %s: %w", path, err)
	}
	blocks := make([]Block, len(layout.Data))
	for i, h := range layout.Data {
		blocks[i] = Block{Offset: h.Offset, Length: h.Length}
	}
	return blocks, nil
}

// flipOffset is the byte of b that FlipBlock flips: inside its contents,
// away from the block trailer (compression type and checksum).
func (b Block) flipOffset() int64 { return int64(b.Offset + b.Length/2) }

// KeysIn returns the keys of the table at path that sit in block b: those
// a read fails on once b is damaged. It damages a copy in memory, not the
// file.
func KeysIn(path string, b Block) ([][]byte, error) {
	all, err := keys(path, nil)
	if err != nil {
		return nil, err
	}
	var in [][]byte
	err = withPointIter(path, &b, func(it sstable.Iterator) error {
		for _, k := range all {
			if kv := it.SeekGE(k, 0); kv == nil && it.Error() != nil {
				in = append(in, k)
			}
		}
		return nil
	})
	return in, err
}

// ErrNoBlock: no data block of the table holds only the keys asked for.
var ErrNoBlock = errors.New("no data block holds only such keys")

// FindBlock returns a data block of the table at path whose keys (as
// KeysIn tells them) all pass want, and those keys. It searches from the
// middle of the file outwards, away from the first and last keys, which a
// store often reads to open; ErrNoBlock if no block qualifies.
func FindBlock(path string, want func(key []byte) bool) (Block, [][]byte, error) {
	blocks, err := DataBlocks(path)
	if err != nil {
		return Block{}, nil, err
	}
	for i := range blocks {
		b := blocks[(len(blocks)/2+i)%len(blocks)]
		keys, err := KeysIn(path, b)
		if err != nil {
			return Block{}, nil, err
		}
		if len(keys) > 0 && !slices.ContainsFunc(keys, func(k []byte) bool { return !want(k) }) {
			return b, keys, nil
		}
	}
	return Block{}, nil, fmt.Errorf("%s: %w", path, ErrNoBlock)
}

// FlipBlock flips one byte in the middle of block b of the table at path.
func FlipBlock(path string, b Block) error {
	return flipAt(path, b.flipOffset())
}

// FlipFooter flips the last byte of the table at path, part of its magic
// number: pebble then refuses the table as a whole.
func FlipFooter(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return flipAt(path, info.Size()-1)
}

func flipAt(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		_ = f.Close()
		return fmt.Errorf("read %s at %d: %w", path, off, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// keys returns every key in the table at path, in order.
func keys(path string, damaged *Block) ([][]byte, error) {
	var out [][]byte
	err := withPointIter(path, damaged, func(it sstable.Iterator) error {
		for kv := it.First(); kv != nil; kv = it.Next() {
			out = append(out, slices.Clone(kv.K.UserKey))
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("iterate %s: %w", path, err)
		}
		return nil
	})
	return out, err
}

// withPointIter runs f over a point iterator of the table at path, opened
// as if block damaged (if any) were damaged.
func withPointIter(path string, damaged *Block, f func(sstable.Iterator) error) error {
	r, err := open(path, damaged)
	if err != nil {
		return err
	}
	defer r.Close()
	it, err := r.NewPointIter(context.Background(), sstable.IterOptions{})
	if err != nil {
		return fmt.Errorf("iterate %s: %w", path, err)
	}
	defer it.Close()
	return f(it)
}

// open opens the table at path for reading, as if block damaged (if any)
// had one byte flipped as FlipBlock flips it.
func open(path string, damaged *Block) (*sstable.Reader, error) {
	f, err := vfs.Default.Open(path)
	if err != nil {
		return nil, err
	}
	var file sstable.ReadableFile = f
	if damaged != nil {
		file = flippedFile{File: f, at: damaged.flipOffset()}
	}
	readable, err := sstable.NewSimpleReadable(file)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("read %s: %w", path, err), f.Close())
	}
	r, err := sstable.NewReader(context.Background(), readable, sstable.ReaderOptions{})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open table %s: %w", path, err), readable.Close())
	}
	return r, nil
}

// flippedFile reads a file as if the byte at offset at were flipped.
type flippedFile struct {
	vfs.File
	at int64
}

func (f flippedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if i := f.at - off; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	return n, err
}
