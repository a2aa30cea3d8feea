package headerstore

// SetMigrateBatch sets how many headers a migration batch copies, for tests
// that need several batches; it returns a func that restores it.
func SetMigrateBatch(n uint64) func() {
	old := migrateBatch
	migrateBatch = n
	return func() { migrateBatch = old }
}
