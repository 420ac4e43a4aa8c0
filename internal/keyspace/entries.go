package keyspace

// Entry-level access for point-in-time snapshots: an entry index is stable for a key's
// whole life (Rename keeps it), so a snapshot can walk indexes and keep one bit per entry.

// EntryCount is the number of entry indexes ever handed out: every live Ref is below it.
func (db *DB) EntryCount() uint32 { return db.nEntries }

// RefAt returns the entry at index i when it holds a live key.
func (db *DB) RefAt(i uint32) (Ref, bool) {
	if i >= db.nEntries || db.ent(i).loc == locFree {
		return 0, false
	}
	return Ref(i), true
}

// SetInsertHook installs fn to be called with every newly created entry (nil removes it).
// Snapshots use it to tell keys created after they began from the ones they must write.
func (db *DB) SetInsertHook(fn func(Ref)) { db.onInsert = fn }
