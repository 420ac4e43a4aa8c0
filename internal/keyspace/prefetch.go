package keyspace

// Prefetch warms the cache lines a batch of lookups will touch. A lookup is a chain of
// dependent loads (bucket head, entry, record), each a likely cache miss on a large table;
// done one key at a time the misses of a pipeline are serialized. Here each stage loads the
// next address for every key before moving on, so the CPU overlaps the misses of all keys.
// It changes nothing and returns a value only to keep the loads from being optimized away.
func (db *DB) Prefetch(keys [][]byte) uint32 {
	if db.Len() == 0 || len(keys) < 2 {
		return 0
	}
	var heads [64]uint32
	n := min(len(keys), len(heads))
	tab := db.tab[0]
	if db.rehashing() && len(db.tab[1]) > 0 {
		tab = db.tab[1] // new keys land in the new table while rehashing
	}
	if len(tab) == 0 {
		return 0
	}
	mask := uint32(len(tab) - 1)
	for i := 0; i < n; i++ {
		heads[i] = tab[db.hash(keys[i])&mask]
	}
	var sink uint32
	var locs [64]uint64
	for i := 0; i < n; i++ {
		if e := heads[i]; e != 0 {
			locs[i] = db.ent(e - 1).loc
		}
	}
	for i := 0; i < n; i++ {
		if l := locs[i]; l != 0 {
			p := locPage(l)
			if int(p) < len(db.pages) {
				if b := db.pages[p].buf; int(locOff(l)) < len(b) {
					sink += uint32(b[locOff(l)])
				}
			}
		}
	}
	return sink
}
