// Package keyspace is one logical Redis database: a chained, incrementally
// rehashed hash index and an arena of keys and string values, laid out so that
// the garbage collector has no per-key pointers to walk.
//
// Layout. Every key has a fixed-size, pointer-free entry in a chunked entry
// table; buckets are []uint32 heads of entry chains; key bytes and string
// values up to a threshold live in records bump-allocated in large []byte
// pages (see arena.go). Only large string values (a [][]byte side table) and
// collection values (a []any side table) are Go objects, one per key.
//
// Concurrency. A DB does no locking: every call must happen under the server's
// global lock.
//
// VALIDITY OF RESULTS. Every []byte returned by this package (Key, Str,
// StrForUpdate) points into the arena and is valid ONLY until the next call
// that writes or removes keys: SetString, SetStr, StrForUpdate, SetObj,
// Delete, DeleteRef, Rename, Clear, Swap, Compact. Those may move or reuse
// the bytes; copy them if you need them longer. Lookup, Scan, ForEach,
// RandomKey, the accessors, SetExpireAt, SetClock, SetEnc and RehashStep
// never move arena bytes, so MGET-style code may hold several values while it
// keeps looking keys up. A Ref stays valid until its key is deleted (Rename
// keeps it); Clear and Swap invalidate all Refs.
//
// Maintenance. Mutating calls rehash and compact a bounded amount on their
// own; the server cron should also call RehashStep and Compact so that idle
// databases shrink and partly empty arena pages are reclaimed.
//
// Hashing uses hash/maphash with a per-DB random seed, so SCAN cursors are
// only meaningful within one process, as in Redis.
package keyspace

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// Ref is a handle to a live entry; valid until the next mutation of the DB.
type Ref uint32

// Value types, stored in 4 bits of an entry.
const (
	TypeString uint8 = iota
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
)

// NoExpire is what ExpireAt returns for a key without a TTL.
const NoExpire int64 = -1

// NumSlots is the number of cluster hash slots; slot numbers are taken modulo it.
const NumSlots = 16384

// Options configures a DB.
type Options struct {
	SlotIndex bool // keep per-slot counts and per-slot key lists (cluster mode)
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	// firstChunk is the size of the first entry chunk; the next smallChunks-1 double it,
	// holding smallEntries entries in all before the fixed-size chunks start.
	firstChunk   = 8
	smallChunks  = 7
	smallEntries = firstChunk * (1<<smallChunks - 1)

	clockMask = 1<<24 - 1
	typeShift = 24
	encShift  = 28
)

// entry is one key's index record; it has no pointers, so the GC skips it.
type entry struct {
	next     uint32 // chain: entry index+1, 0 = end; free list link when free
	hash     uint32
	loc      uint64 // arena location of the record; locFree when free
	expireAt int64  // unix ms; NoExpire when none
	meta     uint32 // clock(24) | type(4) | enc(4)
	slotPrev uint32 // per-slot list, entry index+1
	slotNext uint32
	expPos   uint32 // position+1 in db.expires, 0 = no TTL
}

// DB is one logical database (SELECT n). The zero value is not usable; call New.
type DB struct {
	seed maphash.Seed
	opts Options

	tab       [2][]uint32 // bucket heads; tab[1] only while rehashing
	used      [2]int
	rehashIdx int // next tab[0] bucket to move; -1 when not rehashing

	chunks   [][]entry
	entCap   uint32 // entries the chunks can hold
	nEntries uint32 // entries ever handed out (high-water mark)
	freeEnt  uint32 // free list head, index+1

	pages       []page
	cur         int64 // current page, -1 none
	freePages   []uint32
	pool        [][]byte
	arenaBytes  int64
	liveBytes   int64
	compactDebt int64 // page bytes opened and not yet paid for by compaction
	minPage     int
	maxPage     int
	sideMin     int

	side      [][]byte
	sideFree  []uint32
	sideBytes int64

	objs    []any
	objFree []uint32

	expires   []uint32 // entry indices of keys with a TTL
	expCursor int

	slotCount []uint32
	slotHead  []uint32

	onInsert func(Ref) // SetInsertHook
}

// New returns an empty database.
func New(opts Options) *DB {
	db := &DB{seed: maphash.MakeSeed(), opts: opts}
	db.reset()
	return db
}

func (db *DB) reset() {
	seed, opts, hook := db.seed, db.opts, db.onInsert
	minPage, maxPage, sideMin := db.minPage, db.maxPage, db.sideMin
	if maxPage == 0 {
		minPage, maxPage, sideMin = defaultMinPage, defaultMaxPage, defaultSideMin
	}
	*db = DB{seed: seed, opts: opts, rehashIdx: -1, cur: -1,
		minPage: minPage, maxPage: maxPage, sideMin: sideMin, onInsert: hook}
	if opts.SlotIndex {
		db.slotCount = make([]uint32, NumSlots)
		db.slotHead = make([]uint32, NumSlots)
	}
}

// Clear drops every key (FLUSHDB). The memory is handed to the GC in a few
// large pieces, so this costs nothing per key.
func (db *DB) Clear() {
	db.reset()
}

// Swap exchanges the contents of two databases (SWAPDB). Refs into either
// become invalid.
func Swap(a, b *DB) {
	*a, *b = *b, *a
}

func (db *DB) ent(i uint32) *entry {
	if i >= smallEntries {
		j := i - smallEntries
		return &db.chunks[smallChunks+j>>chunkBits][j&(chunkSize-1)]
	}
	// The first chunks double from firstChunk entries, so a table holding a handful of
	// members (a small set or hash value) does not pay for a full chunk.
	k := bits.Len32(i/firstChunk+1) - 1
	return &db.chunks[k][i-firstChunk*(1<<k-1)]
}

// chunkLen is the size of chunk k: doubling from firstChunk, then chunkSize.
func chunkLen(k int) int {
	if k < smallChunks {
		return firstChunk << k
	}
	return chunkSize
}

// Len is the number of keys.
func (db *DB) Len() int { return db.used[0] + db.used[1] }

// ExpiresLen is the number of keys with a TTL.
func (db *DB) ExpiresLen() int { return len(db.expires) }

// Key returns r's name. The slice aliases the arena: valid until the next mutation.
func (db *DB) Key(r Ref) []byte { return db.keyAt(db.ent(uint32(r)).loc) }

// Type returns r's value type (TypeString...).
func (db *DB) Type(r Ref) uint8 { return uint8(db.ent(uint32(r)).meta>>typeShift) & 0xf }

// Enc returns r's encoding, a number 0..15 that only the server interprets.
func (db *DB) Enc(r Ref) uint8 { return uint8(db.ent(uint32(r)).meta >> encShift) }

// SetEnc sets r's encoding (0..15).
func (db *DB) SetEnc(r Ref, enc uint8) {
	e := db.ent(uint32(r))
	e.meta = e.meta&^(0xf<<encShift) | uint32(enc&0xf)<<encShift
}

func (db *DB) setTypeEnc(e *entry, typ, enc uint8) {
	e.meta = e.meta&clockMask | uint32(typ&0xf)<<typeShift | uint32(enc&0xf)<<encShift
}

// Clock returns r's 24-bit LRU/LFU field.
func (db *DB) Clock(r Ref) uint32 { return db.ent(uint32(r)).meta & clockMask }

// SetClock sets r's 24-bit LRU/LFU field; higher bits of v are ignored.
func (db *DB) SetClock(r Ref, v uint32) {
	e := db.ent(uint32(r))
	e.meta = e.meta&^clockMask | v&clockMask
}

// Slot returns the hash slot r was stored with.
func (db *DB) Slot(r Ref) uint16 {
	loc := db.ent(uint32(r)).loc
	return binary.LittleEndian.Uint16(db.pages[locPage(loc)].buf[locOff(loc)+4:]) & slotMask
}

// Str returns r's string value (nil for other types). The slice aliases the
// arena: valid until the next mutation.
func (db *DB) Str(r Ref) []byte {
	rc := db.recAt(db.ent(uint32(r)).loc)
	switch rc.st() {
	case stInline:
		return rc.val()
	case stSide:
		b := db.side[rc.index()]
		return b[:len(b):len(b)]
	}
	return nil
}

// Obj returns r's collection value (nil for strings).
func (db *DB) Obj(r Ref) any {
	rc := db.recAt(db.ent(uint32(r)).loc)
	if rc.st() != stObj {
		return nil
	}
	return db.objs[rc.index()]
}

// ExpireAt returns r's absolute expiry in unix milliseconds, or NoExpire (-1).
func (db *DB) ExpireAt(r Ref) int64 { return db.ent(uint32(r)).expireAt }

// SetExpireAt sets r's absolute expiry in unix milliseconds; NoExpire (-1)
// removes it. Any other value, even one in the past, is stored as given: the
// server decides what is expired.
func (db *DB) SetExpireAt(r Ref, ms int64) {
	idx := uint32(r)
	if ms == NoExpire {
		db.clearExpire(idx)
		return
	}
	e := db.ent(idx)
	e.expireAt = ms
	if e.expPos == 0 {
		db.expires = append(db.expires, idx)
		e.expPos = uint32(len(db.expires))
	}
}

func (db *DB) clearExpire(idx uint32) {
	e := db.ent(idx)
	e.expireAt = NoExpire
	if e.expPos == 0 {
		return
	}
	p := e.expPos - 1
	last := uint32(len(db.expires) - 1)
	if p != last {
		moved := db.expires[last]
		db.expires[p] = moved
		db.ent(moved).expPos = p + 1
	}
	db.expires = db.expires[:last]
	e.expPos = 0
}

// Stats is a snapshot of a DB's size and memory figures.
type Stats struct {
	Keys, Expires int
	Buckets       int   // both tables while rehashing
	ArenaBytes    int64 // bytes of arena pages in use (not counting the free-page pool)
	LiveBytes     int64 // bytes of live records in them
	SideBytes     int64 // capacity of large string values held outside the arena
	Rehashing     bool
}

// Stats reports size and memory figures.
func (db *DB) Stats() Stats {
	return Stats{
		Keys:       db.Len(),
		Expires:    len(db.expires),
		Buckets:    len(db.tab[0]) + len(db.tab[1]),
		ArenaBytes: db.arenaBytes,
		LiveBytes:  db.liveBytes,
		SideBytes:  db.sideBytes,
		Rehashing:  db.rehashIdx >= 0,
	}
}

const entrySize = 40 // unsafe.Sizeof(entry{}), checked by a test

// MemoryUsage estimates the bytes r costs: its entry, its record, its share of
// the buckets and, for large strings, the side buffer. Collection values are
// the server's to add.
func (db *DB) MemoryUsage(r Ref) int {
	rc := db.recAt(db.ent(uint32(r)).loc)
	n := entrySize + rc.size()
	if k := db.Len(); k > 0 {
		n += 4 * (len(db.tab[0]) + len(db.tab[1])) / k
	}
	if rc.st() == stSide {
		n += cap(db.side[rc.index()])
	}
	return n
}
