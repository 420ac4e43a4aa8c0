package keyspace

import (
	"bytes"
	"hash/maphash"
)

// The hash index: power-of-two bucket arrays of chained entries, grown at load
// factor 1 and shrunk below 10% fill, rehashed incrementally from tab[0] to
// tab[1] a few buckets per operation so that no single call stalls. Bucket
// index is hash&mask in both tables, which is what lets SCAN's reverse-binary
// cursor cover a table across resizes.

const (
	minBuckets = 4
	minFillPct = 10 // shrink when fewer than this percent of buckets are used
)

func (db *DB) hash(key []byte) uint32 { return uint32(maphash.Bytes(db.seed, key)) }

func (db *DB) rehashing() bool { return db.rehashIdx >= 0 }

// find returns the index of key's entry.
func (db *DB) find(key []byte, h uint32) (uint32, bool) {
	for t := 0; t < 2; t++ {
		tab := db.tab[t]
		if len(tab) == 0 {
			break
		}
		for e := tab[h&uint32(len(tab)-1)]; e != 0; {
			en := db.ent(e - 1)
			if en.hash == h && bytes.Equal(db.keyAt(en.loc), key) {
				return e - 1, true
			}
			e = en.next
		}
		if !db.rehashing() {
			break
		}
	}
	return 0, false
}

// link puts entry idx (already carrying its hash) into the table.
func (db *DB) link(idx uint32) {
	db.expandIfNeeded()
	t := 0
	if db.rehashing() {
		t = 1
	}
	tab := db.tab[t]
	en := db.ent(idx)
	b := en.hash & uint32(len(tab)-1)
	en.next = tab[b]
	tab[b] = idx + 1
	db.used[t]++
}

// unlink removes entry idx from its chain.
func (db *DB) unlink(idx uint32) {
	en := db.ent(idx)
	for t := 0; t < 2; t++ {
		tab := db.tab[t]
		if len(tab) == 0 {
			break
		}
		b := en.hash & uint32(len(tab)-1)
		prev := uint32(0)
		for e := tab[b]; e != 0; e = db.ent(e - 1).next {
			if e-1 == idx {
				if prev == 0 {
					tab[b] = en.next
				} else {
					db.ent(prev - 1).next = en.next
				}
				en.next = 0
				db.used[t]--
				return
			}
			prev = e
		}
		if !db.rehashing() {
			break
		}
	}
	panic("keyspace: unlink of an entry not in the table") // internal invariant, not input
}

func nextPow2(n int) int {
	s := minBuckets
	for s < n {
		s *= 2
	}
	return s
}

// resize starts moving to a table of at least size buckets.
func (db *DB) resize(size int) {
	if db.rehashing() {
		return
	}
	s := nextPow2(size)
	if s == len(db.tab[0]) {
		return
	}
	if len(db.tab[0]) == 0 {
		db.tab[0] = make([]uint32, s)
		return
	}
	db.tab[1] = make([]uint32, s)
	db.rehashIdx = 0
}

// Reserve sizes the table of an empty database for n keys at once, as Redis's dictExpand
// on an RDB file's RESIZEDB hint, so that loading does not rehash as it grows.
func (db *DB) Reserve(n int) {
	if db.used[0]+db.used[1] == 0 && !db.rehashing() && n > len(db.tab[0]) {
		db.tab[0] = make([]uint32, nextPow2(n))
	}
}

func (db *DB) expandIfNeeded() {
	if db.rehashing() {
		return
	}
	if len(db.tab[0]) == 0 {
		db.resize(minBuckets)
	} else if db.used[0] >= len(db.tab[0]) {
		db.resize(db.used[0] + 1)
	}
}

func (db *DB) shrinkIfNeeded() {
	if db.rehashing() || len(db.tab[0]) <= minBuckets {
		return
	}
	if db.used[0]*100/len(db.tab[0]) < minFillPct {
		db.resize(db.used[0])
	}
}

// rehash moves up to n non-empty buckets (visiting at most 10n empty ones)
// from tab[0] to tab[1]; it reports whether rehashing is still in progress.
func (db *DB) rehash(n int) bool {
	if !db.rehashing() {
		return false
	}
	t0, t1 := db.tab[0], db.tab[1]
	m1 := uint32(len(t1) - 1)
	empty := n * 10
	for ; n > 0 && db.used[0] != 0; n-- {
		for t0[db.rehashIdx] == 0 {
			db.rehashIdx++
			if empty--; empty == 0 {
				return true
			}
		}
		for e := t0[db.rehashIdx]; e != 0; {
			en := db.ent(e - 1)
			next := en.next
			b := en.hash & m1
			en.next = t1[b]
			t1[b] = e
			db.used[0]--
			db.used[1]++
			e = next
		}
		t0[db.rehashIdx] = 0
		db.rehashIdx++
	}
	if db.used[0] != 0 {
		return true
	}
	db.tab[0], db.tab[1] = t1, nil
	db.used[0], db.used[1] = db.used[1], 0
	db.rehashIdx = -1
	return false
}

// RehashStep does the cron's share of table maintenance: it starts a shrink
// if the table is under 10% full and moves up to n buckets of a rehash in
// progress. It reports whether more rehashing remains.
func (db *DB) RehashStep(n int) bool {
	db.shrinkIfNeeded()
	return db.rehash(max(n, 1))
}
