package keyspace

import (
	"bytes"
	"encoding/binary"
)

// Lookup finds key. It applies no expiry logic: the server decides whether
// the key is logically expired.
func (db *DB) Lookup(key []byte) (Ref, bool) {
	if db.rehashing() {
		db.rehash(1)
	}
	if db.Len() == 0 {
		return 0, false
	}
	idx, ok := db.find(key, db.hash(key))
	return Ref(idx), ok
}

func (db *DB) newEntry() uint32 {
	if db.freeEnt != 0 {
		idx := db.freeEnt - 1
		db.freeEnt = db.ent(idx).next
		return idx
	}
	idx := db.nEntries
	if idx == db.entCap {
		n := chunkLen(len(db.chunks))
		db.chunks = append(db.chunks, make([]entry, n))
		db.entCap += uint32(n)
	}
	db.nEntries++
	return idx
}

// insert creates a new key whose value is written by the caller into the
// returned record's value area (vlen bytes of capacity vcap, storage st).
func (db *DB) insert(key []byte, h uint32, slot uint16, st, vcap, vlen int) (uint32, rec) {
	idx := db.newEntry()
	loc, r := db.writeRec(idx, key, slot, st, vcap, vlen)
	*db.ent(idx) = entry{hash: h, loc: loc, expireAt: NoExpire}
	db.link(idx)
	if db.opts.SlotIndex {
		db.slotAdd(idx, slot&slotMask)
	}
	if db.onInsert != nil {
		db.onInsert(Ref(idx))
	}
	return idx, r
}

// SetString inserts or overwrites key with a string value. It keeps the old
// TTL iff keepTTL, otherwise clears it. It returns the entry and whether the
// key existed before. An existing key keeps its slot and LRU/LFU clock.
func (db *DB) SetString(key []byte, slot uint16, val []byte, enc uint8, keepTTL bool) (Ref, bool) {
	if db.rehashing() {
		db.rehash(1)
	}
	h := db.hash(key)
	idx, ok := db.find(key, h)
	if ok {
		if !keepTTL {
			db.clearExpire(idx)
		}
		db.storeBytes(idx, val, len(val), 0)
	} else if len(val) > db.sideMin {
		var r rec
		idx, r = db.insert(key, h, slot, stSide, 4, 4)
		binary.LittleEndian.PutUint32(r.area(), db.allocSide(bytes.Clone(val)))
	} else {
		var r rec
		idx, r = db.insert(key, h, slot, stInline, len(val), len(val))
		copy(r.area(), val)
	}
	db.setTypeEnc(db.ent(idx), TypeString, enc)
	db.maybeCompact()
	return Ref(idx), ok
}

// SetStr replaces the value of r, an existing string entry (APPEND, SETRANGE,
// INCR paths), keeping its TTL. The record may move; the Ref stays the same
// and is returned for convenience. val may alias r's current value.
func (db *DB) SetStr(r Ref, val []byte, enc uint8) Ref {
	idx := uint32(r)
	// Leave room to grow: values updated in place tend to be updated again.
	db.storeBytes(idx, val, len(val), growCap(len(val)))
	db.setTypeEnc(db.ent(idx), TypeString, enc)
	db.maybeCompact()
	return r
}

// StrForUpdate resizes r's string value to n bytes and returns it writable:
// the old bytes are kept up to n and any new tail is zeroed. It saves
// SETRANGE, SETBIT and APPEND a copy. The slice is valid until the next
// mutation.
func (db *DB) StrForUpdate(r Ref, n int) []byte {
	n = max(n, 0)
	idx := uint32(r)
	rc := db.recAt(db.ent(idx).loc)
	if rc.st() == stInline && n <= rc.vcap {
		old := rc.vlen
		rc.setVlen(n)
		b := rc.area()[:n:n]
		if n > old {
			clear(b[old:])
		}
		return b
	}
	if rc.st() == stSide {
		si := rc.index()
		b := db.side[si]
		old := len(b)
		if n <= cap(b) {
			b = b[:n]
		} else {
			nb := make([]byte, n, n+n/2)
			copy(nb, b)
			b = nb
		}
		if n > old {
			clear(b[old:])
		}
		db.setSide(si, b)
		return b[:n:n]
	}
	var cur []byte
	if rc.st() == stInline {
		cur = rc.val()
	}
	keep := min(len(cur), n)
	db.storeBytes(idx, cur[:keep], n, growCap(n))
	b := db.Str(r)
	clear(b[keep:])
	db.maybeCompact()
	return b
}

// growCap is the value capacity given to a string that is being modified.
func growCap(n int) int {
	if n < 16 {
		return 16
	}
	return n + n/4
}

// storeBytes makes entry idx's value n bytes long with val (len(val) <= n,
// possibly aliasing the current value) as its prefix; bytes past len(val) are
// unspecified. A new inline record gets capacity max(n, vcap); an existing
// record or side buffer that fits is reused.
func (db *DB) storeBytes(idx uint32, val []byte, n, vcap int) {
	rc := db.recAt(db.ent(idx).loc)
	st := rc.st()
	if n > db.sideMin {
		if st == stSide {
			si := rc.index()
			b := db.side[si]
			if cap(b) < n || cap(b) > 2*n {
				b = make([]byte, n)
			}
			b = b[:n]
			copy(b, val) // memmove: val may alias the old buffer
			db.setSide(si, b)
			return
		}
		b := make([]byte, n)
		copy(b, val)
		if st == stObj {
			db.freeObj(rc.index())
		}
		db.putIndex(idx, &rc, stSide, db.allocSide(b))
		return
	}
	if st != stSide && n <= rc.vcap {
		if st == stObj {
			db.freeObj(rc.index())
			rc.setSt(stInline)
		}
		copy(rc.area(), val)
		rc.setVlen(n)
		return
	}
	nr := db.relocate(idx, &rc, max(n, vcap), stInline, val)
	nr.setVlen(n)
	switch st {
	case stSide:
		db.freeSide(rc.index()) // after the copy: val may alias it
	case stObj:
		db.freeObj(rc.index())
	}
}

// putIndex stores a side-table index as entry idx's value.
func (db *DB) putIndex(idx uint32, rc *rec, st int, vi uint32) {
	if rc.vcap >= 4 {
		binary.LittleEndian.PutUint32(rc.area(), vi)
		rc.setVlen(4)
		rc.setSt(st)
		return
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], vi)
	db.relocate(idx, rc, 4, st, b[:])
}

// SetObj inserts or overwrites key with a collection value of type typ. It
// keeps the old TTL iff keepTTL and reports whether the key existed.
func (db *DB) SetObj(key []byte, slot uint16, typ, enc uint8, obj any, keepTTL bool) (Ref, bool) {
	if db.rehashing() {
		db.rehash(1)
	}
	h := db.hash(key)
	idx, ok := db.find(key, h)
	if ok {
		if !keepTTL {
			db.clearExpire(idx)
		}
		rc := db.recAt(db.ent(idx).loc)
		switch rc.st() {
		case stObj:
			db.objs[rc.index()] = obj
		case stSide:
			si := rc.index()
			db.putIndex(idx, &rc, stObj, db.allocObj(obj))
			db.freeSide(si)
		default:
			db.putIndex(idx, &rc, stObj, db.allocObj(obj))
		}
	} else {
		var r rec
		idx, r = db.insert(key, h, slot, stObj, 4, 4)
		binary.LittleEndian.PutUint32(r.area(), db.allocObj(obj))
	}
	db.setTypeEnc(db.ent(idx), typ, enc)
	db.maybeCompact()
	return Ref(idx), ok
}

// Delete removes key and reports whether it existed.
func (db *DB) Delete(key []byte) bool {
	if db.rehashing() {
		db.rehash(1)
	}
	if db.Len() == 0 {
		return false
	}
	idx, ok := db.find(key, db.hash(key))
	if !ok {
		return false
	}
	db.unlink(idx)
	db.freeIfEmpty(db.release(idx))
	db.shrinkIfNeeded()
	return true
}

// DeleteRef removes the key r refers to.
func (db *DB) DeleteRef(r Ref) {
	idx := uint32(r)
	if idx >= db.nEntries || db.ent(idx).loc == locFree {
		return
	}
	db.unlink(idx)
	db.freeIfEmpty(db.release(idx))
	db.shrinkIfNeeded()
}

// release frees an unlinked entry, its record and its value, and returns
// the page the record was on.
func (db *DB) release(idx uint32) uint32 {
	en := db.ent(idx)
	rc := db.recAt(en.loc)
	switch rc.st() {
	case stSide:
		db.freeSide(rc.index())
	case stObj:
		db.freeObj(rc.index())
	}
	db.garbage(en.loc, rc.size())
	db.clearExpire(idx)
	if db.opts.SlotIndex {
		db.slotRemove(idx, rc.slot())
	}
	pi := locPage(en.loc)
	*en = entry{next: db.freeEnt, loc: locFree, expireAt: NoExpire}
	db.freeEnt = idx + 1
	return pi
}

// Rename moves r's value, TTL, type, encoding and clock to newKey, deleting
// any existing newKey first, and returns the entry now holding newKey. If
// newKey is r's own name nothing changes.
func (db *DB) Rename(r Ref, newKey []byte, newSlot uint16) Ref {
	idx := uint32(r)
	rc := db.recAt(db.ent(idx).loc)
	if bytes.Equal(rc.key(), newKey) {
		return r
	}
	if other, ok := db.find(newKey, db.hash(newKey)); ok {
		db.unlink(other)
		db.release(other)
	}
	db.unlink(idx)
	en := db.ent(idx)
	rc = db.recAt(en.loc)
	oldLoc := en.loc
	loc, nr := db.writeRec(idx, newKey, newSlot, rc.st(), rc.vlen, rc.vlen)
	copy(nr.area(), rc.val())
	db.garbage(oldLoc, rc.size())
	en.loc = loc
	en.hash = db.hash(newKey)
	db.link(idx)
	if db.opts.SlotIndex {
		db.slotRemove(idx, rc.slot())
		db.slotAdd(idx, newSlot&slotMask)
	}
	db.shrinkIfNeeded()
	db.maybeCompact()
	return r
}

func (db *DB) allocSide(b []byte) uint32 {
	db.sideBytes += int64(cap(b))
	if n := len(db.sideFree); n > 0 {
		si := db.sideFree[n-1]
		db.sideFree = db.sideFree[:n-1]
		db.side[si] = b
		return si
	}
	db.side = append(db.side, b)
	return uint32(len(db.side) - 1)
}

func (db *DB) setSide(si uint32, b []byte) {
	db.sideBytes += int64(cap(b) - cap(db.side[si]))
	db.side[si] = b
}

func (db *DB) freeSide(si uint32) {
	db.sideBytes -= int64(cap(db.side[si]))
	db.side[si] = nil
	db.sideFree = append(db.sideFree, si)
}

func (db *DB) allocObj(o any) uint32 {
	if n := len(db.objFree); n > 0 {
		oi := db.objFree[n-1]
		db.objFree = db.objFree[:n-1]
		db.objs[oi] = o
		return oi
	}
	db.objs = append(db.objs, o)
	return uint32(len(db.objs) - 1)
}

func (db *DB) freeObj(oi uint32) {
	db.objs[oi] = nil
	db.objFree = append(db.objFree, oi)
}

func (db *DB) slotAdd(idx uint32, slot uint16) {
	en := db.ent(idx)
	head := db.slotHead[slot]
	en.slotPrev, en.slotNext = 0, head
	if head != 0 {
		db.ent(head - 1).slotPrev = idx + 1
	}
	db.slotHead[slot] = idx + 1
	db.slotCount[slot]++
}

func (db *DB) slotRemove(idx uint32, slot uint16) {
	en := db.ent(idx)
	if en.slotPrev != 0 {
		db.ent(en.slotPrev - 1).slotNext = en.slotNext
	} else {
		db.slotHead[slot] = en.slotNext
	}
	if en.slotNext != 0 {
		db.ent(en.slotNext - 1).slotPrev = en.slotPrev
	}
	en.slotPrev, en.slotNext = 0, 0
	db.slotCount[slot]--
}

// SlotLen is the number of keys in slot (0 unless Options.SlotIndex).
func (db *DB) SlotLen(slot uint16) int {
	if !db.opts.SlotIndex {
		return 0
	}
	return int(db.slotCount[slot&slotMask])
}

// SlotKeys calls fn for up to max keys of slot (all if max < 0) until fn
// returns false (CLUSTER GETKEYSINSLOT). Requires Options.SlotIndex. fn must
// not mutate the DB.
func (db *DB) SlotKeys(slot uint16, max int, fn func(r Ref) bool) {
	if !db.opts.SlotIndex {
		return
	}
	for e := db.slotHead[slot&slotMask]; e != 0 && max != 0; max-- {
		next := db.ent(e - 1).slotNext
		if !fn(Ref(e - 1)) {
			return
		}
		e = next
	}
}
