package keyspace

import "math/bits"

// Scan visits the entries of one bucket of the table (while rehashing: one
// bucket of the smaller table and every bucket of the larger one that it
// expands to) and returns the next cursor; 0 means the scan is complete.
//
// Redis's SCAN guarantee holds: a key present from the first call (cursor 0)
// to the last is visited at least once, even if the table grows or shrinks in
// between; keys may be visited more than once. That follows from advancing the
// cursor on its reversed bits (high bits of the bucket index first), so the
// buckets already covered stay covered when the mask gains or loses bits.
// Cursors depend on the per-DB hash seed, so they only mean something to the
// process that issued them. fn must not mutate the DB.
func (db *DB) Scan(cursor uint64, fn func(r Ref)) uint64 {
	if db.Len() == 0 {
		return 0
	}
	v := cursor
	if !db.rehashing() {
		t := db.tab[0]
		m := uint64(len(t) - 1)
		db.visit(t[v&m], fn)
		return revIncr(v, m)
	}
	small, large := db.tab[0], db.tab[1]
	if len(small) > len(large) {
		small, large = large, small
	}
	m0, m1 := uint64(len(small)-1), uint64(len(large)-1)
	db.visit(small[v&m0], fn)
	// Then every bucket of the large table whose low bits are v&m0.
	for {
		db.visit(large[v&m1], fn)
		v = revIncr(v, m1)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// revIncr increments the bits of v under mask m in reverse bit order.
func revIncr(v, m uint64) uint64 {
	v |= ^m
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}

func (db *DB) visit(head uint32, fn func(r Ref)) {
	for e := head; e != 0; {
		next := db.ent(e - 1).next
		fn(Ref(e - 1))
		e = next
	}
}

// ForEach calls fn for every key, in no particular order, until fn returns
// false (KEYS, DEBUG DIGEST, snapshots). It walks the entry table rather than
// the buckets, so lookups during the walk (which may rehash) are safe; fn may
// delete the key it is given, but must not insert.
func (db *DB) ForEach(fn func(r Ref) bool) {
	for i := uint32(0); i < db.nEntries; i++ {
		if db.ent(i).loc == locFree {
			continue
		}
		if !fn(Ref(i)) {
			return
		}
	}
}

// RandomKey picks a key (RANDOMKEY, eviction sampling). rnd(n) must return a
// uniform integer in [0, n). When the entry table is dense it draws entries
// uniformly, which is fairer than Redis's bucket-then-chain pick; otherwise it
// falls back to that pick.
func (db *DB) RandomKey(rnd func(n int) int) (Ref, bool) {
	if db.Len() == 0 {
		return 0, false
	}
	for try := 0; try < 16; try++ {
		i := uint32(rnd(int(db.nEntries)))
		if db.ent(i).loc != locFree {
			return Ref(i), true
		}
	}
	// Sparse entry table: pick a non-empty bucket, then an element of its
	// chain, as Redis does.
	for try := 0; try < 100; try++ {
		var head uint32
		if db.rehashing() {
			// tab[0] below rehashIdx is empty: skip it.
			n0 := len(db.tab[0]) - db.rehashIdx
			i := rnd(n0 + len(db.tab[1]))
			if i < n0 {
				head = db.tab[0][db.rehashIdx+i]
			} else {
				head = db.tab[1][i-n0]
			}
		} else {
			head = db.tab[0][rnd(len(db.tab[0]))]
		}
		if head == 0 {
			continue
		}
		n := 0
		for e := head; e != 0; e = db.ent(e - 1).next {
			n++
		}
		e := head
		for k := rnd(n); k > 0; k-- {
			e = db.ent(e - 1).next
		}
		return Ref(e - 1), true
	}
	// A nearly empty table (mass deletes while a rehash blocked shrinking):
	// walk the entries from a random point rather than probe forever.
	start := uint32(rnd(int(db.nEntries)))
	for k := uint32(0); k < db.nEntries; k++ {
		i := (start + k) % db.nEntries
		if db.ent(i).loc != locFree {
			return Ref(i), true
		}
	}
	return 0, false
}

// SampleExpiring calls fn for up to n keys that have a TTL, for the active
// expire cycle. With rnd non-nil the keys are drawn at random (possibly
// repeating); with rnd nil they are taken round-robin, continuing where the
// previous call stopped. fn may delete the key it is given, nothing else.
func (db *DB) SampleExpiring(n int, rnd func(n int) int, fn func(r Ref)) {
	for ; n > 0 && len(db.expires) > 0; n-- {
		var p int
		if rnd != nil {
			p = rnd(len(db.expires))
		} else {
			if db.expCursor >= len(db.expires) {
				db.expCursor = 0
			}
			p = db.expCursor
			db.expCursor++
		}
		idx := db.expires[p]
		fn(Ref(idx))
		if rnd == nil && p < len(db.expires) && db.expires[p] != idx {
			// fn removed the key and another took its place: visit that one next.
			db.expCursor = p
		}
	}
}
