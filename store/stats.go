package store

import "github.com/cockroachdb/pebble/v2"

// Pebble returns the database beneath the datastore, for stores that need
// more than go-datastore offers (an iterator with seek, range deletions).
// Keys written through it must stay clear of other users' prefixes.
func (d *DB) Pebble() *pebble.DB { return d.Datastore.DB }

// DiskStats returns, from pebble's own metrics, the bytes written to disk
// since the database opened (write-ahead log, flushed tables, compacted
// tables, blob files) and the bytes it occupies on disk now.
func (d *DB) DiskStats() (written, size uint64) {
	return DiskStats(d.Pebble())
}

// DiskStats is DB.DiskStats for any pebble database.
func DiskStats(db *pebble.DB) (written, size uint64) {
	m := db.Metrics()
	var tables uint64
	for i := range m.Levels {
		l := &m.Levels[i]
		tables += l.TableBytesFlushed + l.TableBytesCompacted + l.BlobBytesFlushed + l.BlobBytesCompacted
	}
	return m.WAL.BytesWritten + tables, m.DiskSpaceUsage()
}
