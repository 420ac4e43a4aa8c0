package keyspace

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// newSmall returns a DB with tiny pages and a tiny side-table threshold so
// that tests exercise page turnover, dedicated pages, compaction and side
// values with small inputs.
func newSmall(opts Options) *DB {
	db := New(opts)
	db.minPage, db.maxPage, db.sideMin = 64, 256, 40
	return db
}

// checkInvariants cross-checks every redundant structure of the DB.
func (db *DB) checkInvariants() error {
	live := 0
	for i := uint32(0); i < db.nEntries; i++ {
		if db.ent(i).loc != locFree {
			live++
		}
	}
	if live != db.Len() {
		return fmt.Errorf("live entries %d, Len %d", live, db.Len())
	}
	free := 0
	for e := db.freeEnt; e != 0; e = db.ent(e - 1).next {
		if db.ent(e-1).loc != locFree {
			return fmt.Errorf("entry %d on free list but live", e-1)
		}
		if free++; free > int(db.nEntries) {
			return fmt.Errorf("free list cycle")
		}
	}
	if free+live != int(db.nEntries) {
		return fmt.Errorf("free %d + live %d != entries %d", free, live, db.nEntries)
	}
	seen := make(map[uint32]bool)
	for t := 0; t < 2; t++ {
		tab := db.tab[t]
		if t == 1 && !db.rehashing() {
			if tab != nil || db.used[1] != 0 {
				return fmt.Errorf("tab[1] present while not rehashing")
			}
			break
		}
		if len(tab)&(len(tab)-1) != 0 {
			return fmt.Errorf("table %d size %d not a power of two", t, len(tab))
		}
		n := 0
		for b, head := range tab {
			if t == 0 && db.rehashing() && b < db.rehashIdx && head != 0 {
				return fmt.Errorf("bucket %d below rehashIdx %d not empty", b, db.rehashIdx)
			}
			for e := head; e != 0; e = db.ent(e - 1).next {
				idx := e - 1
				en := db.ent(idx)
				if en.loc == locFree {
					return fmt.Errorf("free entry %d in table", idx)
				}
				if seen[idx] {
					return fmt.Errorf("entry %d linked twice", idx)
				}
				seen[idx] = true
				if int(en.hash&uint32(len(tab)-1)) != b {
					return fmt.Errorf("entry %d in wrong bucket", idx)
				}
				n++
			}
		}
		if n != db.used[t] {
			return fmt.Errorf("table %d has %d entries, used says %d", t, n, db.used[t])
		}
	}
	if len(seen) != live {
		return fmt.Errorf("table holds %d entries, %d live", len(seen), live)
	}
	pageLive := make([]int, len(db.pages))
	var sideBytes int64
	sideUsed := map[uint32]bool{}
	objUsed := map[uint32]bool{}
	keys := map[string]bool{}
	for i := uint32(0); i < db.nEntries; i++ {
		en := db.ent(i)
		if en.loc == locFree {
			continue
		}
		pi := locPage(en.loc)
		if int(pi) >= len(db.pages) || db.pages[pi].buf == nil || locOff(en.loc) >= db.pages[pi].used {
			return fmt.Errorf("entry %d points at a bad location %x", i, en.loc)
		}
		rc := db.recAt(en.loc)
		if binary.LittleEndian.Uint32(rc.b) != i {
			return fmt.Errorf("record of entry %d names entry %d", i, binary.LittleEndian.Uint32(rc.b))
		}
		if rc.vlen > rc.vcap {
			return fmt.Errorf("entry %d vlen %d > vcap %d", i, rc.vlen, rc.vcap)
		}
		if en.hash != db.hash(rc.key()) {
			return fmt.Errorf("entry %d hash mismatch", i)
		}
		if keys[string(rc.key())] {
			return fmt.Errorf("key %q twice", rc.key())
		}
		keys[string(rc.key())] = true
		pageLive[pi] += rc.size()
		switch rc.st() {
		case stSide:
			si := rc.index()
			if sideUsed[si] || db.side[si] == nil {
				return fmt.Errorf("bad side index %d", si)
			}
			sideUsed[si] = true
			if rc.vlen != 4 {
				return fmt.Errorf("side record vlen %d", rc.vlen)
			}
		case stObj:
			oi := rc.index()
			if objUsed[oi] {
				return fmt.Errorf("obj index %d shared", oi)
			}
			objUsed[oi] = true
		case stInline:
		default:
			return fmt.Errorf("bad storage kind")
		}
		if (en.expireAt == NoExpire) != (en.expPos == 0) {
			return fmt.Errorf("entry %d expireAt %d expPos %d", i, en.expireAt, en.expPos)
		}
		if en.expPos != 0 && db.expires[en.expPos-1] != i {
			return fmt.Errorf("entry %d expPos wrong", i)
		}
	}
	for si, b := range db.side {
		sideBytes += int64(cap(b))
		if b != nil && !sideUsed[uint32(si)] {
			return fmt.Errorf("side %d leaked", si)
		}
	}
	if sideBytes != db.sideBytes {
		return fmt.Errorf("sideBytes %d, actual %d", db.sideBytes, sideBytes)
	}
	for oi, o := range db.objs {
		if o != nil && !objUsed[uint32(oi)] {
			return fmt.Errorf("obj %d leaked", oi)
		}
	}
	var lb, ab int64
	for pi := range db.pages {
		p := &db.pages[pi]
		if p.live != pageLive[pi] {
			return fmt.Errorf("page %d live %d, actual %d", pi, p.live, pageLive[pi])
		}
		if p.used > len(p.buf) {
			return fmt.Errorf("page %d overfull", pi)
		}
		lb += int64(p.live)
		ab += int64(len(p.buf))
	}
	if lb != db.liveBytes || ab != db.arenaBytes {
		return fmt.Errorf("liveBytes %d/%d arenaBytes %d/%d", db.liveBytes, lb, db.arenaBytes, ab)
	}
	if len(db.expires) != countExp(db) {
		return fmt.Errorf("expires index has %d, entries with TTL %d", len(db.expires), countExp(db))
	}
	if db.opts.SlotIndex {
		total := 0
		for s := 0; s < NumSlots; s++ {
			n := 0
			prev := uint32(0)
			for e := db.slotHead[s]; e != 0; e = db.ent(e - 1).slotNext {
				en := db.ent(e - 1)
				if en.slotPrev != prev {
					return fmt.Errorf("slot %d list prev link broken", s)
				}
				if db.Slot(Ref(e-1)) != uint16(s) {
					return fmt.Errorf("slot %d list holds key of slot %d", s, db.Slot(Ref(e-1)))
				}
				prev = e
				if n++; n > db.Len() {
					return fmt.Errorf("slot %d list cycle", s)
				}
			}
			if uint32(n) != db.slotCount[s] {
				return fmt.Errorf("slot %d count %d, list %d", s, db.slotCount[s], n)
			}
			total += n
		}
		if total != db.Len() {
			return fmt.Errorf("slot lists hold %d keys, Len %d", total, db.Len())
		}
	}
	return nil
}

func countExp(db *DB) int {
	n := 0
	for i := uint32(0); i < db.nEntries; i++ {
		if en := db.ent(i); en.loc != locFree && en.expPos != 0 {
			n++
		}
	}
	return n
}

// keyOf copies a Ref's key out of the arena.
func keyOf(db *DB, r Ref) string { return string(bytes.Clone(db.Key(r))) }
