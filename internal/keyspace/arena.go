package keyspace

import "encoding/binary"

// Arena layout. Keys and inline string values live in records bump-allocated
// in pointer-free pages:
//
//	[entry index u32 LE][slot|storage u16 LE][klen uvarint][key]
//	[vcap uvarint][vlen uvarint padded to the width of vcap][value area: vcap bytes]
//
// vcap is fixed for the life of a record, so a record's size never changes and
// a page can be walked record by record during compaction; vlen is padded to
// vcap's width so a value can shrink or grow within vcap in place. A record is
// live iff the entry it names points back at its location.

const (
	defaultMinPage  = 256       // first page of a DB: small tables (collection values) stay small
	defaultMaxPage  = 256 << 10 // compacting one page costs at most ~this memmove
	defaultSideMin  = 16 << 10  // string values longer than this go to the side table
	pagePoolMax     = 4         // free full-size pages kept for reuse
	maxCompactPerOp = 2         // pages one mutating call may compact

	locFree = ^uint64(0) // entry.loc of an entry on the free list

	slotMask   = 0x3fff // low 14 bits of the u16: the hash slot
	stShift    = 14     // top 2 bits: where the value lives
	stInline   = 0      // value bytes in the record
	stSide     = 1      // record value is a u32 index into db.side
	stObj      = 2      // record value is a u32 index into db.objs
	recHdrSize = 6      // entry index + slot/storage
)

type page struct {
	buf  []byte // whole page; len(buf) is its capacity
	used int    // bump pointer
	live int    // bytes of live records
}

func mkloc(p uint32, off int) uint64 { return uint64(p)<<32 | uint64(uint32(off)) }
func locPage(loc uint64) uint32      { return uint32(loc >> 32) }
func locOff(loc uint64) int          { return int(uint32(loc)) }

func uvlen(v int) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// putUvarintW writes v as a varint of exactly w bytes (non-minimal when needed).
func putUvarintW(b []byte, v, w int) {
	for i := 0; i < w-1; i++ {
		b[i] = byte(v) | 0x80
		v >>= 7
	}
	b[w-1] = byte(v)
}

func getUvarint(b []byte) (v, n int) {
	var shift uint
	for i, c := range b {
		v |= int(c&0x7f) << shift
		if c < 0x80 {
			return v, i + 1
		}
		shift += 7
	}
	return 0, 0 // unreachable for records we wrote
}

func recSize(klen, vcap int) int {
	return recHdrSize + uvlen(klen) + klen + 2*uvlen(vcap) + vcap
}

// rec is a parsed record; its slices alias the page.
type rec struct {
	b    []byte // the whole record
	kOff int
	klen int
	vw   int // width of the vcap and vlen varints
	vOff int // start of the value area
	vcap int
	vlen int
}

func (r *rec) key() []byte  { return r.b[r.kOff : r.kOff+r.klen : r.kOff+r.klen] }
func (r *rec) val() []byte  { return r.b[r.vOff : r.vOff+r.vlen : r.vOff+r.vlen] }
func (r *rec) area() []byte { return r.b[r.vOff : r.vOff+r.vcap : r.vOff+r.vcap] }
func (r *rec) size() int    { return r.vOff + r.vcap }
func (r *rec) sf() uint16   { return binary.LittleEndian.Uint16(r.b[4:]) }
func (r *rec) slot() uint16 { return r.sf() & slotMask }
func (r *rec) st() int      { return int(r.sf() >> stShift) }
func (r *rec) index() uint32 {
	return binary.LittleEndian.Uint32(r.b[r.vOff:])
}

func (r *rec) setVlen(n int) {
	putUvarintW(r.b[r.vOff-r.vw:], n, r.vw)
	r.vlen = n
}

func (r *rec) setSt(st int) {
	binary.LittleEndian.PutUint16(r.b[4:], r.slot()|uint16(st)<<stShift)
}

func parseRec(b []byte) rec {
	var r rec
	klen, n := getUvarint(b[recHdrSize:])
	r.klen = klen
	r.kOff = recHdrSize + n
	p := r.kOff + klen
	vcap, w := getUvarint(b[p:])
	vlen, _ := getUvarint(b[p+w:])
	r.vw, r.vcap, r.vlen = w, vcap, vlen
	r.vOff = p + 2*w
	r.b = b[:r.vOff+vcap]
	return r
}

func (db *DB) recAt(loc uint64) rec {
	return parseRec(db.pages[locPage(loc)].buf[locOff(loc):])
}

// keyAt is the lookup fast path: it decodes only the key.
func (db *DB) keyAt(loc uint64) []byte {
	b := db.pages[locPage(loc)].buf[locOff(loc):]
	klen, n := getUvarint(b[recHdrSize:])
	s := recHdrSize + n
	return b[s : s+klen : s+klen]
}

// alloc reserves size bytes of arena and counts them live.
func (db *DB) alloc(size int) (uint64, []byte) {
	if db.cur >= 0 {
		p := &db.pages[db.cur]
		if len(p.buf)-p.used >= size {
			off := p.used
			p.used += size
			p.live += size
			db.liveBytes += int64(size)
			return mkloc(uint32(db.cur), off), p.buf[off : off+size : off+size]
		}
	}
	var pi uint32
	if size > db.maxPage {
		// A record bigger than a page (a huge key) gets a page of its own
		// and the current page stays current.
		pi = db.addPage(make([]byte, size))
	} else {
		pi = db.addPage(db.newPageBuf(size))
		db.cur = int64(pi)
		db.compactDebt += int64(len(db.pages[pi].buf))
	}
	p := &db.pages[pi]
	p.used = size
	p.live = size
	db.liveBytes += int64(size)
	return mkloc(pi, 0), p.buf[:size:size]
}

func (db *DB) newPageBuf(need int) []byte {
	s := min(db.minPage, db.maxPage)
	for s < db.maxPage && int64(s) < db.arenaBytes/4 {
		s *= 2
	}
	for s < need {
		s *= 2
	}
	s = min(s, db.maxPage)
	if s == db.maxPage && len(db.pool) > 0 {
		b := db.pool[len(db.pool)-1]
		db.pool[len(db.pool)-1] = nil
		db.pool = db.pool[:len(db.pool)-1]
		return b
	}
	return make([]byte, s)
}

func (db *DB) addPage(buf []byte) uint32 {
	db.arenaBytes += int64(len(buf))
	if n := len(db.freePages); n > 0 {
		pi := db.freePages[n-1]
		db.freePages = db.freePages[:n-1]
		db.pages[pi] = page{buf: buf}
		return pi
	}
	db.pages = append(db.pages, page{buf: buf})
	return uint32(len(db.pages) - 1)
}

func (db *DB) freePage(pi uint32) {
	p := &db.pages[pi]
	db.arenaBytes -= int64(len(p.buf))
	if len(p.buf) == db.maxPage && len(db.pool) < pagePoolMax {
		db.pool = append(db.pool, p.buf)
	}
	*p = page{}
	if int64(pi) == db.cur {
		db.cur = -1
	}
	db.freePages = append(db.freePages, pi)
}

// freeIfEmpty frees page pi at once if nothing on it is live, so deletes give
// memory back without waiting for compaction. Only call it at the end of a
// public call: the page's bytes may be what a caller-supplied slice points to.
func (db *DB) freeIfEmpty(pi uint32) {
	if p := &db.pages[pi]; p.live == 0 && int64(pi) != db.cur && p.buf != nil {
		db.freePage(pi)
	}
}

// garbage marks the record at loc dead.
func (db *DB) garbage(loc uint64, size int) {
	db.pages[locPage(loc)].live -= size
	db.liveBytes -= int64(size)
}

// writeRec allocates a record for entry idx and fills in everything but the
// value bytes; it returns the record's location and its value area.
func (db *DB) writeRec(idx uint32, key []byte, slot uint16, st, vcap, vlen int) (uint64, rec) {
	size := recSize(len(key), vcap)
	loc, b := db.alloc(size)
	binary.LittleEndian.PutUint32(b, idx)
	binary.LittleEndian.PutUint16(b[4:], slot&slotMask|uint16(st)<<stShift)
	n := recHdrSize + putUvarint(b[recHdrSize:], len(key))
	kOff := n
	copy(b[n:], key)
	n += len(key)
	w := uvlen(vcap)
	putUvarintW(b[n:], vcap, w)
	putUvarintW(b[n+w:], vlen, w)
	return loc, rec{b: b, kOff: kOff, klen: len(key), vw: w, vOff: n + 2*w, vcap: vcap, vlen: vlen}
}

func putUvarint(b []byte, v int) int {
	w := uvlen(v)
	putUvarintW(b, v, w)
	return w
}

// relocate moves entry idx to a new record with value capacity vcap holding
// val (which may alias the old record) and storage kind st.
func (db *DB) relocate(idx uint32, old *rec, vcap, st int, val []byte) rec {
	en := db.ent(idx)
	oldLoc := en.loc
	loc, r := db.writeRec(idx, old.key(), old.slot(), st, vcap, len(val))
	copy(r.area(), val)
	db.garbage(oldLoc, old.size())
	en.loc = loc
	return r
}

// maybeCompact runs at the end of mutating calls, after every caller-supplied
// slice has been copied, so that compaction never frees bytes still being read.
// Each page opened adds its size to a debt that is paid by freeing pages (at
// most maxCompactPerOp per call), which keeps the arena within about twice the
// live bytes without any help from the cron.
func (db *DB) maybeCompact() {
	for n := 0; db.compactDebt > 0 && n < maxCompactPerOp; n++ {
		pi, ok := db.worstPage()
		if !ok {
			db.compactDebt = 0
			return
		}
		db.compactDebt -= int64(len(db.pages[pi].buf))
		db.compactPage(pi)
	}
}

// worstPage returns the non-current page with the smallest live fraction,
// provided at most half of it is live.
func (db *DB) worstPage() (uint32, bool) {
	best, found := uint32(0), false
	var bestLive, bestCap int
	for i := range db.pages {
		p := &db.pages[i]
		if p.buf == nil || int64(i) == db.cur || p.live*2 > len(p.buf) {
			continue
		}
		// p.live/len(p.buf) < bestLive/bestCap
		if !found || p.live*bestCap < bestLive*len(p.buf) {
			best, found, bestLive, bestCap = uint32(i), true, p.live, len(p.buf)
		}
	}
	return best, found
}

// compactPage moves the live records of page pi to the current page and frees it.
func (db *DB) compactPage(pi uint32) {
	buf := db.pages[pi].buf
	used := db.pages[pi].used
	for off := 0; off < used && db.pages[pi].live > 0; {
		r := parseRec(buf[off:])
		size := r.size()
		idx := binary.LittleEndian.Uint32(buf[off:])
		loc := mkloc(pi, off)
		if idx < db.nEntries && db.ent(idx).loc == loc {
			nloc, nb := db.alloc(size)
			copy(nb, r.b)
			db.ent(idx).loc = nloc
			db.garbage(loc, size)
		}
		off += size
	}
	db.freePage(pi)
}

// Compact compacts up to maxPages arena pages that are at most half live,
// worst first, moving their live records to the current page. For the cron;
// mutating calls already do a bounded amount of this on their own.
func (db *DB) Compact(maxPages int) {
	for ; maxPages > 0; maxPages-- {
		pi, ok := db.worstPage()
		if !ok {
			break
		}
		db.compactPage(pi)
	}
	db.compactDebt = 0
}
