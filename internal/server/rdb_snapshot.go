package server

// Snapshots without fork. Go cannot fork a live server, so BGSAVE, the AOF rewrite and
// full syncs take a point-in-time snapshot with command-level copy-on-write:
//
//   - When it starts (under the server lock) the snapshot records, per database, how many
//     entry indexes the keyspace has handed out and allocates one bit per index. Keyspace
//     entries never move, so an index names the same key until that key is deleted.
//   - A goroutine then walks the indexes in steps under the lock, writing each live entry
//     whose bit is clear and setting the bit; between steps it releases the lock and the
//     step's bytes are written to the file (fsync every 4 MB with
//     rdb-save-incremental-fsync).
//   - Clients come first (snapshot_gate.go): a step lasts at most 0.5 ms and ends within
//     a few keys as soon as a client batch waits for the lock, and the goroutine does not
//     take the lock again while one does (for at most 1 ms, then it takes a 0.1 ms step
//     regardless). A string value is copied into the step's buffer as it is and encoded
//     (LZF-compressed) outside the lock, and the bytes are written out by a thread of
//     lower scheduling priority, so that the walk's CPU time does not delay the event
//     loop's thread on a machine with few cores.
//   - Before a write command runs, the gatekeeper (call) writes every key the command's key
//     specs name that is not written yet, then sets its bit: the snapshot gets the value as
//     it was when the snapshot began. MOVE and COPY ... DB also cover the key in the target
//     database. Expiry deletions do the same through deleteExpired.
//   - Keys created after the start are marked written by a keyspace insert hook (also for
//     indexes reused from deleted keys), so they never reach the file.
//   - FLUSHALL aborts a BGSAVE, as Redis kills its child; an AOF rewrite goes on, since the
//     FLUSHALL follows its base in the new incremental file. SWAPDB, DEBUG RELOAD and, for
//     a BGSAVE, FLUSHDB change keys outside any key spec: they finish the walk
//     synchronously first.
//
// A single large value must not hold the lock for longer than a step either. In the
// background snapshots (BGSAVE, AOF rewrite):
//
//   - A string of 64 KB or more is not encoded under the lock at all: the step hands the
//     file side a reference to the live bytes, and LZF compression and the write happen
//     outside the lock. Until the file side is done with them, the gatekeeper's
//     copy-on-write step gives the key a fresh copy of its value before a command may
//     change it in place, so the snapshot's bytes never change.
//   - A large collection (a list of more than 16 nodes, a hashtable set or hash or a
//     skiplist sorted set of more than 1024 elements, a stream of more than 16 nodes) is
//     encoded across steps, about 0.5 ms at a time, and its bytes reach the file as they
//     come. Copy-on-write output for other keys meanwhile is queued behind it. A command
//     that is about to change the collection first has the rest of it encoded at once: the
//     only stall left is for a writer of the very value being written, proportional to
//     what remains of it.
//
// Keys are written in index order with SELECTDB wherever the database changes, so a file
// may select the same database more than once; Redis and redis-check-rdb accept that.
//
// Lock order: s.mu, then snapshot.ioMu. The goroutine takes ioMu before it releases s.mu
// so buffers reach the file in the order they were produced; the writer thread works for
// it while it holds ioMu.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/rdb"
	"github.com/sard-kv/sard/internal/zset"
)

const (
	snapStepBudget   = 500 * time.Microsecond
	snapCheckWork    = 16                     // keys (in valueCost units) between a step's checks of time and waiters
	snapYieldMax     = time.Millisecond       // the walk waits at most this for client batches to get the lock
	snapForcedStep   = 100 * time.Microsecond // ... then takes a step of this long regardless
	snapFlushBytes   = 4 << 20                // a step also ends when this much is buffered
	snapStepBytes    = 1 << 20                // ... or, in a background snapshot, this much
	incrementalFsync = 4 << 20                // rdb-save-incremental-fsync interval (Redis's REDIS_AUTOSYNC_BYTES)

	bigStringMin    = 64 << 10 // strings from this size go to the file side by reference
	bigNodesMin     = 16       // lists and streams with more nodes are written across steps
	bigElementsMin  = 1024     // hashtable sets and hashes, skiplist sorted sets, likewise
	bigChunkNodes   = 8        // nodes per piece of a large list or stream
	bigChunkEntries = 256      // elements per piece of a large set, hash or sorted set
)

// snapDB is one database's share of a snapshot.
type snapDB struct {
	ks      *keyspace.DB
	limit   uint32   // entry indexes at the start: later ones are new keys
	keys    int      // keys at the start, for RESIZEDB
	expires int      // keys with a TTL at the start
	done    []uint64 // bit per index: written, or created after the start
	cursor  uint32
	started bool
}

func (sd *snapDB) isDone(i uint32) bool { return sd.done[i>>6]&(1<<(i&63)) != 0 }
func (sd *snapDB) mark(i uint32)        { sd.done[i>>6] |= 1 << (i & 63) }

// snapshot serializes the dataset as it was when it was created.
type snapshot struct {
	srv      *Server
	enc      rdb.Encoder
	spare    []byte
	dbs      []snapDB
	dbi      int
	selected int
	lru, lfu bool
	walked   bool // EOF written: nothing more to record
	start    time.Time

	// Background snapshots (chunked) write large values across steps; the others (SAVE,
	// replication payloads) write everything into enc.Buf. The file receives, in order:
	// segs, then big's bytes while a large value is in progress followed by tail, then
	// enc.Buf.
	chunked  bool
	segs     []snapSeg
	big      *bigValue
	tail     []snapSeg
	shared   []*sharedStr // strings the file side still reads from the live keyspace
	keyDelay int64        // rdb-key-save-delay, µs per key (testing aid)
	inDelay  bool         // apply keyDelay on the caller (SAVE) rather than between steps

	// In a background snapshot with rdbcompression, string values are copied into enc.Buf
	// as they are and listed here; the file side encodes them (outSpans).
	lz []lzSpan

	// Buffers the file side has written go back to the producer: a walk allocating a new
	// buffer per step would let the garbage collector's headroom (as much as the live
	// heap) fill before it runs, which shows as RSS growth.
	poolMu sync.Mutex
	pool   [][]byte
	lzPool [][]lzSpan

	steps      int           // steps taken by the goroutine
	longest    time.Duration // longest of them with the lock held, wall clock
	longestCPU int64         // ... and in CPU time of the thread, µs (Linux)
	lockedCPU  int64         // CPU time of all steps, µs
	fileCPU    int64         // CPU time writing the steps' bytes, µs

	// The goroutine's steps end early when a client batch waits for the lock (gate), and
	// it does not take the lock again while one does (snapshot_gate.go).
	gate   *lockGate
	timer  *time.Timer
	writer *lowPrioWorker // writes the steps' bytes out (timedOut)
	forced bool           // this step goes on even if batches wait: they kept the walk out for snapYieldMax
	waits  string         // how long client batches waited for the lock during the walk, for logSteps

	// file side, under ioMu
	ioMu     sync.Mutex
	ioEnc    rdb.Encoder // scratch for strings encoded on the file side
	lzEnc    rdb.Encoder // a segment with its spans encoded (outSpans)
	f        *os.File
	w        *bufio.Writer
	tmp      string
	crc      uint64
	written  int64
	synced   int64
	autoSync bool
	checksum bool
	err      error
	errOp    string // what failed, for Redis's "Write error saving DB on disk(op)" line
	aborted  bool
}

// snapSeg is a piece of the file: bytes, or a string value encoded on the file side. The
// spans of raw listed in lz are string values still to be encoded (compressed) there.
type snapSeg struct {
	raw []byte
	lz  []lzSpan
	str *sharedStr
}

// lzSpan is a string value copied as it is into a step's buffer, raw[off:end], for the file
// side to encode: LZF compression is most of the encoding work and needs no lock.
type lzSpan struct{ off, end int }

// sharedStr is a large string value handed to the file side without a copy.
type sharedStr struct {
	b    []byte
	dbi  int
	ref  keyspace.Ref
	live bool        // under s.mu: b is still the key's value in the keyspace
	done atomic.Bool // the file side no longer reads b
}

// bigValue is a large collection being written across steps.
type bigValue struct {
	dbi  int
	ref  keyspace.Ref
	enc  rdb.Encoder
	next func(e *rdb.Encoder) bool // writes the next piece; true once the value is complete
}

// newSnapshot prepares a snapshot of the whole dataset at this instant; the header and the
// functions are encoded right away.
func (s *Server) newSnapshot() *snapshot {
	sn := &snapshot{srv: s, selected: -1, start: time.Now()}
	sn.enc.Compress = s.cfgBool("rdbcompression")
	sn.ioEnc.Compress = sn.enc.Compress
	sn.lzEnc.Compress = sn.enc.Compress
	sn.checksum = s.cfgBool("rdbchecksum")
	sn.autoSync = s.cfgBool("rdb-save-incremental-fsync")
	sn.lru, sn.lfu = s.isLRU(), s.isLFU()
	e := &sn.enc
	e.Buf = append(e.Buf, fmt.Sprintf("REDIS%04d", rdb.Version)...)
	e.Aux("redis-ver", VersionCompat)
	e.AuxInt("redis-bits", 64)
	e.AuxInt("ctime", time.Now().Unix())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	e.AuxInt("used-mem", int64(ms.HeapAlloc))
	s.replSaveInfoAux(e) // repl-stream-db, repl-id, repl-offset (replication_rsi.go)
	e.AuxInt("aof-base", 0)
	if s.persist.functionsDump != nil {
		for _, code := range s.persist.functionsDump() {
			e.Byte(rdb.OpFunction2)
			e.String(code)
		}
	}
	sn.dbs = make([]snapDB, len(s.dbs))
	for i, db := range s.dbs {
		n := db.ks.EntryCount()
		sn.dbs[i] = snapDB{ks: db.ks, limit: n, keys: db.ks.Len(), expires: db.ks.ExpiresLen(),
			done: make([]uint64, (n+63)/64)}
	}
	return sn
}

// background makes the snapshot one that a goroutine writes in steps while clients run:
// large values are written across steps (see the package comment above).
func (sn *snapshot) background() {
	sn.chunked = true
	sn.keyDelay = sn.srv.cfgInt("rdb-key-save-delay")
	sn.enc.Buf = append(sn.getBuf(), sn.enc.Buf...) // the header, in a step-sized buffer
}

// attach makes the running server keep the snapshot consistent: new keys are marked as
// written as they are created.
func (sn *snapshot) attach() {
	for i := range sn.dbs {
		sd := &sn.dbs[i]
		sd.ks.SetInsertHook(func(r keyspace.Ref) {
			if uint32(r) < sd.limit {
				sd.mark(uint32(r))
			}
		})
	}
}

func (sn *snapshot) detach() {
	for i := range sn.dbs {
		sn.dbs[i].ks.SetInsertHook(nil)
	}
}

// keyHeader writes what precedes a value: SELECTDB when the database changes, the expiry,
// access information, the type byte and the key, as rdbSaveKeyValuePair.
func (sn *snapshot) keyHeader(e *rdb.Encoder, dbi int, r keyspace.Ref) {
	if sn.selected != dbi {
		e.Byte(rdb.OpSelectDB)
		e.Len(uint64(dbi))
		sn.selected = dbi
	}
	ks := sn.dbs[dbi].ks
	if at := ks.ExpireAt(r); at != keyspace.NoExpire {
		e.Byte(rdb.OpExpireTimeMs)
		e.Millis(at)
	}
	// Redis writes access information only when the eviction policy uses it.
	if sn.lru {
		e.Byte(rdb.OpIdle)
		e.Len(uint64(sn.srv.idleMs(ks.Clock(r)) / 1000))
	} else if sn.lfu {
		e.Byte(rdb.OpFreq)
		e.Byte(byte(sn.srv.lfuCounter(ks.Clock(r))))
	}
	e.Byte(rdbValueType(ks, r))
	e.String(ks.Key(r))
}

// writeKey encodes one key whole into the main buffer and returns a rough cost, in units of
// a small key, for the step's time checks.
func (sn *snapshot) writeKey(dbi int, r keyspace.Ref) int {
	ks := sn.dbs[dbi].ks
	if ks.Type(r) == keyspace.TypeString {
		return sn.writeString(dbi, r, ks.Str(r))
	}
	e := &sn.enc
	sn.keyHeader(e, dbi, r)
	encodeValue(e, ks, r)
	return valueCost(ks, r)
}

// writeString is writeKey for a string whose value is b. In a background snapshot a value
// that may be compressed is copied as it is, for the file side to encode.
func (sn *snapshot) writeString(dbi int, r keyspace.Ref, b []byte) int {
	e := &sn.enc
	sn.keyHeader(e, dbi, r)
	if sn.chunked && e.Compress && len(b) > 20 { // rdb.Encoder.String compresses from 21 bytes
		off := len(e.Buf)
		e.Buf = append(e.Buf, b...)
		if sn.lz == nil {
			sn.lz = sn.getSpans()
		}
		sn.lz = append(sn.lz, lzSpan{off, len(e.Buf)})
	} else {
		e.String(b)
	}
	return 1 + len(b)>>11
}

// valueCost estimates the encoding work of r's value in units of a small key.
func valueCost(ks *keyspace.DB, r keyspace.Ref) int {
	switch ks.Type(r) {
	case keyspace.TypeString:
		return 1 + len(ks.Str(r))>>11
	case keyspace.TypeList:
		return 1 + 8*ks.Obj(r).(*listValue).NodeCount()
	case keyspace.TypeSet:
		if sv := ks.Obj(r).(*setValue); sv.ht != nil {
			return 1 + sv.ht.Len()>>4
		}
	case keyspace.TypeHash:
		if hv := ks.Obj(r).(*hashValue); hv.ht != nil {
			return 1 + hv.ht.Len()>>3
		}
	case keyspace.TypeZSet:
		return 1 + ks.Obj(r).(*zset.Set).Len()>>3
	case keyspace.TypeStream:
		return 1 + 8*len(ks.Obj(r).(*streamValue).Nodes())
	}
	return 2
}

// rdbValueType is the type byte Redis 7.0 writes for r's encoding.
func rdbValueType(ks *keyspace.DB, r keyspace.Ref) byte {
	switch ks.Type(r) {
	case keyspace.TypeList:
		return rdb.TypeListQuicklist2
	case keyspace.TypeSet:
		if ks.Obj(r).(*setValue).ht != nil {
			return rdb.TypeSet
		}
		return rdb.TypeSetIntset
	case keyspace.TypeHash:
		if ks.Obj(r).(*hashValue).ht != nil {
			return rdb.TypeHash
		}
		return rdb.TypeHashListpack
	case keyspace.TypeZSet:
		if ks.Obj(r).(*zset.Set).IsBig() {
			return rdb.TypeZSet2
		}
		return rdb.TypeZSetListpack
	case keyspace.TypeStream:
		return rdb.TypeStreamListpacks2
	}
	return rdb.TypeString
}

// encodeValue writes r's value (without its type byte).
func encodeValue(e *rdb.Encoder, ks *keyspace.DB, r keyspace.Ref) {
	switch ks.Type(r) {
	case keyspace.TypeString:
		e.String(ks.Str(r))
	case keyspace.TypeList:
		e.Quicklist(ks.Obj(r).(*listValue).List)
	case keyspace.TypeSet:
		if sv := ks.Obj(r).(*setValue); sv.ht != nil {
			e.SetTable(sv.ht)
		} else {
			e.String(sv.is)
		}
	case keyspace.TypeHash:
		if hv := ks.Obj(r).(*hashValue); hv.ht != nil {
			e.HashTable(hv.ht)
		} else {
			e.String(hv.lp)
		}
	case keyspace.TypeZSet:
		if z := ks.Obj(r).(*zset.Set); z.IsBig() {
			e.ZSetBig(z)
		} else {
			e.String(z.Listpack())
		}
	case keyspace.TypeStream:
		e.Stream(ks.Obj(r).(*streamValue).Stream)
	}
}

// bigCollection reports whether r's value is a collection large enough to be written
// across steps.
func bigCollection(ks *keyspace.DB, r keyspace.Ref) bool {
	switch ks.Type(r) {
	case keyspace.TypeList:
		return ks.Obj(r).(*listValue).NodeCount() > bigNodesMin
	case keyspace.TypeSet:
		ht := ks.Obj(r).(*setValue).ht
		return ht != nil && ht.Len() > bigElementsMin
	case keyspace.TypeHash:
		ht := ks.Obj(r).(*hashValue).ht
		return ht != nil && ht.Len() > bigElementsMin
	case keyspace.TypeZSet:
		z := ks.Obj(r).(*zset.Set)
		return z.IsBig() && z.Len() > bigElementsMin
	case keyspace.TypeStream:
		return len(ks.Obj(r).(*streamValue).Nodes()) > bigNodesMin
	}
	return false
}

// bigWriter writes the length prefix of r's value (a bigCollection) into e and returns how
// to write the rest in pieces.
func bigWriter(e *rdb.Encoder, ks *keyspace.DB, r keyspace.Ref) func(e *rdb.Encoder) bool {
	switch ks.Type(r) {
	case keyspace.TypeList:
		q := ks.Obj(r).(*listValue).List
		n := q.NodeCount()
		e.Len(uint64(n))
		i := 0
		return func(e *rdb.Encoder) bool {
			to := min(i+bigChunkNodes, n)
			e.QuicklistNodes(q, i, to)
			i = to
			return i == n
		}
	case keyspace.TypeSet, keyspace.TypeHash:
		var ht *keyspace.DB
		hash := ks.Type(r) == keyspace.TypeHash
		if hash {
			ht = ks.Obj(r).(*hashValue).ht
		} else {
			ht = ks.Obj(r).(*setValue).ht
		}
		e.Len(uint64(ht.Len()))
		n, i := ht.EntryCount(), uint32(0)
		return func(e *rdb.Encoder) bool {
			to := min(i+bigChunkEntries, n)
			if hash {
				e.HashTableEntries(ht, i, to)
			} else {
				e.SetTableEntries(ht, i, to)
			}
			i = to
			return i == n
		}
	case keyspace.TypeZSet:
		z := ks.Obj(r).(*zset.Set)
		e.Len(uint64(z.Len()))
		hi := z.Len() - 1
		return func(e *rdb.Encoder) bool {
			lo := max(hi-bigChunkEntries+1, 0)
			e.ZSetBigRanks(z, lo, hi)
			hi = lo - 1
			return hi < 0
		}
	case keyspace.TypeStream:
		st := ks.Obj(r).(*streamValue).Stream
		n := len(st.Nodes())
		e.Len(uint64(n))
		i := 0
		return func(e *rdb.Encoder) bool {
			to := min(i+bigChunkNodes, n)
			e.StreamNodes(st, i, to)
			if i = to; i == n {
				e.StreamTail(st)
				return true
			}
			return false
		}
	}
	return nil
}

// cut closes the main buffer as a segment (the next bytes come after what is queued).
func (sn *snapshot) cut() {
	if len(sn.enc.Buf) == 0 {
		return
	}
	sn.queue(snapSeg{raw: sn.enc.Buf, lz: sn.lz})
	sn.enc.Buf, sn.lz = sn.getBuf(), nil
}

// getSpans returns an empty span list, a recycled one when there is one.
func (sn *snapshot) getSpans() []lzSpan {
	sn.poolMu.Lock()
	defer sn.poolMu.Unlock()
	if n := len(sn.lzPool); n > 0 {
		l := sn.lzPool[n-1]
		sn.lzPool = sn.lzPool[:n-1]
		return l
	}
	return make([]lzSpan, 0, snapStepBytes/64)
}

// putSpans recycles a span list the file side is done with.
func (sn *snapshot) putSpans(l []lzSpan) {
	sn.poolMu.Lock()
	if len(sn.lzPool) < 8 && cap(l) <= 1<<16 {
		sn.lzPool = append(sn.lzPool, l[:0])
	}
	sn.poolMu.Unlock()
}

// getBuf returns an empty buffer, a recycled one when there is one.
func (sn *snapshot) getBuf() []byte {
	sn.poolMu.Lock()
	defer sn.poolMu.Unlock()
	if n := len(sn.pool); n > 0 {
		b := sn.pool[n-1]
		sn.pool = sn.pool[:n-1]
		return b
	}
	// A step's bytes fit without growing it: garbage made during a walk stays in RSS
	// until the next collection, which a large heap puts off.
	return make([]byte, 0, snapStepBytes+64<<10)
}

// putBuf recycles a buffer the file side has written.
func (sn *snapshot) putBuf(b []byte) {
	if cap(b) < 16<<10 || cap(b) > 2*snapFlushBytes {
		return
	}
	sn.poolMu.Lock()
	if len(sn.pool) < 8 {
		sn.pool = append(sn.pool, b[:0])
	}
	sn.poolMu.Unlock()
}

// queue adds a finished segment in stream order: behind a large value in progress if any.
func (sn *snapshot) queue(seg snapSeg) {
	if sn.big != nil {
		sn.tail = append(sn.tail, seg)
	} else {
		sn.segs = append(sn.segs, seg)
	}
}

// walkKey writes a key reached by the walk. In a background snapshot a large string goes to
// the file side by reference and a large collection starts being written across steps.
func (sn *snapshot) walkKey(dbi int, r keyspace.Ref) int {
	if !sn.chunked {
		return sn.writeKey(dbi, r)
	}
	ks := sn.dbs[dbi].ks
	if ks.Type(r) == keyspace.TypeString {
		b := ks.Str(r)
		if len(b) >= bigStringMin {
			sn.keyHeader(&sn.enc, dbi, r)
			ss := &sharedStr{b: b, dbi: dbi, ref: r, live: true}
			sn.shared = append(sn.shared, ss)
			sn.cut()
			sn.queue(snapSeg{str: ss})
			return 2
		}
		return sn.writeString(dbi, r, b)
	}
	if !bigCollection(ks, r) {
		return sn.writeKey(dbi, r)
	}
	sn.cut()
	big := &bigValue{dbi: dbi, ref: r}
	big.enc.Buf = sn.getBuf()
	big.enc.Compress = sn.enc.Compress
	sn.keyHeader(&big.enc, dbi, r)
	big.next = bigWriter(&big.enc, ks, r)
	sn.big = big
	return 2
}

// cowKey writes a key about to change (or, with deleting, to disappear). A large string
// is copied (or shared, when it is being deleted and so won't change) rather than encoded
// under the lock; anything else is encoded whole.
func (sn *snapshot) cowKey(dbi int, r keyspace.Ref, deleting bool) {
	ks := sn.dbs[dbi].ks
	if sn.chunked && ks.Type(r) == keyspace.TypeString {
		if b := ks.Str(r); len(b) >= bigStringMin {
			sn.keyHeader(&sn.enc, dbi, r)
			if !deleting {
				b = append([]byte(nil), b...)
			}
			sn.cut()
			sn.queue(snapSeg{str: &sharedStr{b: b, dbi: dbi, ref: r}})
			return
		}
	}
	sn.writeKey(dbi, r)
}

// advanceBig writes pieces of the large value in progress until it is complete (true), the
// deadline passes or the buffer is full (false). A zero deadline means no time limit.
func (sn *snapshot) advanceBig(deadline time.Time) bool {
	b := sn.big
	for {
		if b.next(&b.enc) {
			sn.endBig()
			return true
		}
		if len(b.enc.Buf) >= snapFlushBytes || (!deadline.IsZero() && (sn.yield() || time.Now().After(deadline))) {
			return false
		}
	}
}

// endBig puts the completed large value, then what was queued behind it, in stream order.
func (sn *snapshot) endBig() {
	b := sn.big
	sn.big = nil
	if len(b.enc.Buf) > 0 {
		sn.segs = append(sn.segs, snapSeg{raw: b.enc.Buf})
	}
	sn.segs = append(sn.segs, sn.tail...)
	sn.tail = nil
}

// step writes entries for about budget (0: until the buffer is full), then returns whether
// the walk is over; the last step appends EOF.
func (sn *snapshot) step(budget time.Duration) bool {
	if sn.walked {
		return true
	}
	sn.pruneShared()
	var deadline time.Time
	if budget > 0 {
		deadline = time.Now().Add(budget)
	}
	if sn.big != nil && !sn.advanceBig(deadline) {
		return false
	}
	work := 0
	for sn.dbi < len(sn.dbs) {
		sd := &sn.dbs[sn.dbi]
		if !sd.started {
			sd.started = true
			if sd.keys > 0 {
				sn.enc.Byte(rdb.OpSelectDB)
				sn.enc.Len(uint64(sn.dbi))
				sn.selected = sn.dbi
				sn.enc.Byte(rdb.OpResizeDB)
				sn.enc.Len(uint64(sd.keys))
				sn.enc.Len(uint64(sd.expires))
			}
		}
		for sd.cursor < sd.limit {
			i := sd.cursor
			sd.cursor++
			if sd.isDone(i) {
				continue
			}
			r, ok := sd.ks.RefAt(i)
			if !ok {
				continue
			}
			work += sn.walkKey(sn.dbi, r)
			sd.mark(i)
			if sn.big != nil && !sn.advanceBig(deadline) {
				return false
			}
			if sn.keyDelay != 0 {
				if sn.inDelay {
					debugDelay(sn.keyDelay)
				} else if budget > 0 {
					return false // the goroutine waits between steps, without the lock
				}
			}
			if len(sn.enc.Buf) >= snapFlushBytes || (sn.chunked && len(sn.enc.Buf) >= snapStepBytes) {
				return false
			}
			if work >= snapCheckWork {
				work = 0
				if budget > 0 && (sn.yield() || time.Now().After(deadline)) {
					return false
				}
			}
		}
		sn.dbi++
	}
	sn.enc.Byte(rdb.OpEOF)
	sn.walked = true
	return true
}

// yield reports whether a client batch waits for the lock: a background step then ends.
func (sn *snapshot) yield() bool {
	return sn.gate != nil && !sn.forced && sn.gate.busy()
}

// saveKey writes key (in db) now if the snapshot still needs it: called before anything
// changes or deletes it.
func (sn *snapshot) saveKey(dbi int, key []byte, deleting bool) {
	if sn.walked && len(sn.shared) == 0 {
		return
	}
	if r, ok := sn.dbs[dbi].ks.Lookup(key); ok {
		sn.saveRef(dbi, r, deleting)
	}
}

func (sn *snapshot) saveRef(dbi int, r keyspace.Ref, deleting bool) {
	if len(sn.shared) > 0 {
		sn.protectShared(dbi, r, deleting)
	}
	if sn.walked {
		return
	}
	if b := sn.big; b != nil && b.dbi == dbi && b.ref == r {
		// Deleting does not change the value the snapshot is reading: it can go on.
		if !deleting {
			sn.advanceBig(time.Time{})
		}
		return
	}
	sd := &sn.dbs[dbi]
	if uint32(r) >= sd.limit || sd.isDone(uint32(r)) {
		return
	}
	sn.cowKey(dbi, r, deleting)
	sd.mark(uint32(r))
}

// protectShared keeps the snapshot's strings intact: before r's value may change in place,
// a value the file side still reads is replaced in the keyspace by a copy. A key about to
// be deleted keeps its bytes untouched, so it only stops being tracked.
func (sn *snapshot) protectShared(dbi int, r keyspace.Ref, deleting bool) {
	keep := sn.shared[:0]
	for _, ss := range sn.shared {
		if ss.done.Load() || !ss.live {
			continue
		}
		if ss.dbi == dbi && ss.ref == r {
			ss.live = false
			if !deleting {
				unshareString(sn.dbs[dbi].ks, r, ss.b)
			}
			continue
		}
		keep = append(keep, ss)
	}
	clear(sn.shared[len(keep):])
	sn.shared = keep
}

// pruneShared drops the shared strings the file side is done with.
func (sn *snapshot) pruneShared() {
	keep := sn.shared[:0]
	for _, ss := range sn.shared {
		if ss.live && !ss.done.Load() {
			keep = append(keep, ss)
		}
	}
	clear(sn.shared[len(keep):])
	sn.shared = keep
}

// forgetShared stops tracking the shared strings of database dbi (all with -1): a flush
// drops their values without changing them.
func (sn *snapshot) forgetShared(dbi int) {
	for _, ss := range sn.shared {
		if dbi < 0 || ss.dbi == dbi {
			ss.live = false
		}
	}
}

// unshareString gives r a private copy of its value if it still is b, so that b stays as
// the snapshot saw it: the value is first made small (which drops b from the keyspace) and
// then set back from b, which allocates a new buffer.
func unshareString(ks *keyspace.DB, r keyspace.Ref, b []byte) {
	if ks.Type(r) != keyspace.TypeString {
		return
	}
	cur := ks.Str(r)
	if len(cur) != len(b) || len(b) == 0 || &cur[0] != &b[0] {
		return
	}
	enc := ks.Enc(r)
	ks.SetStr(r, nil, enc)
	ks.SetStr(r, b, enc)
}

// take hands the buffered bytes to the writer side (snapshots written in one piece: SAVE,
// replication payloads).
func (sn *snapshot) take() []byte {
	b := sn.enc.Buf
	sn.enc.Buf = sn.spare[:0]
	sn.spare = nil
	return b
}

// takeSegs hands what is ready to the file side, in order: the queued segments, then the
// bytes of a large value in progress or, when there is none, the main buffer.
func (sn *snapshot) takeSegs() []snapSeg {
	out := sn.segs
	sn.segs = nil
	if b := sn.big; b != nil {
		if len(b.enc.Buf) > 0 {
			out = append(out, snapSeg{raw: b.enc.Buf})
			b.enc.Buf = sn.getBuf()
		}
	} else if len(sn.enc.Buf) > 0 {
		out = append(out, snapSeg{raw: sn.enc.Buf, lz: sn.lz})
		sn.enc.Buf, sn.lz = sn.getBuf(), nil
	}
	return out
}

// outSegs writes segments to the file. Called with ioMu held, usually without s.mu.
func (sn *snapshot) outSegs(segs []snapSeg) {
	for _, seg := range segs {
		if seg.str == nil {
			if seg.lz != nil {
				sn.outSpans(seg.raw, seg.lz)
				sn.putSpans(seg.lz)
			} else {
				sn.out(seg.raw)
			}
			sn.putBuf(seg.raw)
			continue
		}
		if sn.err == nil && !sn.aborted {
			head, body := sn.ioEnc.StringParts(seg.str.b)
			sn.out(head)
			sn.out(body)
			sn.ioEnc.ReleaseScratch()
		}
		seg.str.done.Store(true)
	}
}

// outSpans writes raw with its spans (string values copied as they are) encoded as
// rdb.Encoder.String would have encoded them. Called with ioMu held.
func (sn *snapshot) outSpans(raw []byte, spans []lzSpan) {
	if sn.err != nil || sn.aborted {
		return
	}
	e := &sn.lzEnc
	if e.Buf == nil {
		e.Buf = make([]byte, 0, max(len(raw), snapStepBytes+64<<10))
	}
	e.Buf = e.Buf[:0]
	pos := 0
	for _, sp := range spans {
		e.Buf = append(e.Buf, raw[pos:sp.off]...)
		e.String(raw[sp.off:sp.end])
		pos = sp.end
	}
	e.Buf = append(e.Buf, raw[pos:]...)
	sn.out(e.Buf)
	if cap(e.Buf) > 2*snapFlushBytes {
		e.Buf = nil
	}
}

// open creates the temporary file.
func (sn *snapshot) open(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	sn.f, sn.tmp = f, name
	sn.w = bufio.NewWriterSize(f, 256<<10)
	return nil
}

// out writes a buffer to the file, keeping the CRC and the incremental fsync; the buffer
// is recycled. Called with ioMu held.
func (sn *snapshot) out(b []byte) {
	if sn.err == nil && !sn.aborted {
		sn.crc = crc64.Update(sn.crc, b)
		if _, err := sn.w.Write(b); err != nil {
			sn.err, sn.errOp = err, "rdbSaveRio"
		}
		sn.written += int64(len(b))
		if sn.err == nil && sn.autoSync && sn.written-sn.synced >= incrementalFsync {
			if err := sn.w.Flush(); err != nil {
				sn.err, sn.errOp = err, "rdbSaveRio"
			} else if err := sn.f.Sync(); err != nil {
				sn.err, sn.errOp = err, "rdbSaveRio"
			}
			sn.synced = sn.written
		}
	}
	if !sn.chunked && cap(b) <= 2*snapFlushBytes && cap(b) >= 64<<10 {
		sn.spare = b[:0]
	}
}

// finish writes the checksum, syncs, closes and renames the file into place. Failures are
// logged in Redis's words.
func (sn *snapshot) finish(dst string) error {
	log := sn.srv.log
	fail := func(op string, err error) error {
		log.Warningf("Write error saving DB on disk(%s): %s", op, strerror(err))
		sn.cleanup()
		return err
	}
	if sn.err != nil {
		return fail(sn.errOp, sn.err)
	}
	var sum uint64
	if sn.checksum {
		sum = sn.crc
	}
	var trailer [8]byte
	for i := range trailer {
		trailer[i] = byte(sum >> (8 * i))
	}
	if _, err := sn.w.Write(trailer[:]); err != nil {
		return fail("rdbSaveRio", err)
	}
	if err := sn.w.Flush(); err != nil {
		return fail("fflush", err)
	}
	if err := sn.f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := sn.f.Close(); err != nil {
		sn.f = nil
		os.Remove(sn.tmp)
		log.Warningf("Write error saving DB on disk(%s): %s", "fclose", strerror(err))
		return err
	}
	sn.f = nil
	if err := os.Rename(sn.tmp, dst); err != nil {
		log.Warningf("Error moving temp DB file %s on the final destination %s (in server root dir %s): %s", sn.tmp, dst, cwd(), strerror(err))
		os.Remove(sn.tmp)
		return err
	}
	syncDir(dst)
	return nil
}

// cleanup closes and removes the temporary file, once. Called with ioMu held.
func (sn *snapshot) cleanup() {
	if sn.f != nil {
		sn.f.Close()
		os.Remove(sn.tmp)
		sn.f = nil
	}
}

// abort stops the snapshot: the file side finishes the piece it is writing, then the
// temporary file is removed and nothing more is written. Called with s.mu held.
func (sn *snapshot) abort() {
	sn.ioMu.Lock()
	sn.aborted = true
	sn.cleanup()
	sn.ioMu.Unlock()
	sn.detach()
}

func firstErr(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes a rename durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil // nothing to sync on this platform
	}
	defer d.Close()
	d.Sync()
	return nil
}

func cwd() string {
	d, _ := os.Getwd()
	return d
}

// timedStep runs one step of the walk under the lock (detaching the snapshot when the walk
// is over) and records how long it held the lock, in wall-clock and CPU time (logSteps).
// It returns the step's segments, to be written once the lock is released.
func (sn *snapshot) timedStep() (done bool, segs []snapSeg) {
	t0 := time.Now()
	c0, _ := threadCPUTime()
	budget := snapStepBudget
	if sn.forced {
		budget = snapForcedStep
	}
	done = sn.step(budget)
	if done {
		sn.detach()
	}
	segs = sn.takeSegs()
	c1, _ := threadCPUTime()
	sn.steps++
	sn.longest = max(sn.longest, time.Since(t0))
	if c1 >= c0 {
		sn.longestCPU = max(sn.longestCPU, c1-c0)
		sn.lockedCPU += c1 - c0
	}
	return done, segs
}

// runSteps is the walk of a background snapshot: a step under the lock, its bytes to the
// file without it, until the walk is over, it fails or it is aborted. It returns with
// ioMu held and s.mu not held; the last step's bytes are written.
func (sn *snapshot) runSteps(stop func() bool) {
	s := sn.srv
	// On its own thread the goroutine's CPU time per step can be read (logSteps).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sn.startGate()
	defer sn.stopGate()
	for {
		sn.lockForStep()
		if sn.aborted || stop() {
			sn.ioMu.Lock()
			s.mu.Unlock()
			return
		}
		done, segs := sn.timedStep()
		sn.ioMu.Lock()
		s.mu.Unlock()
		sn.timedOut(segs, nil)
		if done || sn.err != nil {
			return
		}
		sn.ioMu.Unlock()
		if sn.keyDelay != 0 {
			debugDelay(sn.keyDelay)
		}
		runtime.Gosched() // let the clients waiting for the lock in first
	}
}

// timedOut writes a step's segments on the writer thread, counting the CPU time it takes
// (logSteps), then runs after (if any) there too.
func (sn *snapshot) timedOut(segs []snapSeg, after func()) {
	fn := func() {
		c0, _ := threadCPUTime()
		sn.outSegs(segs)
		if after != nil {
			after()
		}
		c1, _ := threadCPUTime()
		if c1 >= c0 {
			sn.fileCPU += c1 - c0
		}
	}
	if sn.writer == nil {
		fn()
		return
	}
	sn.writer.run(fn)
}

// startGate makes the goroutine's steps give way to client batches and starts recording
// how long those wait for the lock.
func (sn *snapshot) startGate() {
	s := sn.srv
	sn.gate = &s.persist.gate
	sn.timer = time.NewTimer(time.Hour)
	sn.timer.Stop()
	s.mu.Lock()
	sn.gate.watch()
	s.mu.Unlock()
	sn.writer = startLowPrioWorker()
}

// stopGate ends the recording started by startGate.
func (sn *snapshot) stopGate() {
	sn.waits = sn.gate.unwatch()
	if sn.writer != nil {
		sn.writer.stop()
		sn.writer = nil
	}
}

// lockForStep takes the command lock for the next step once no client batch waits for it.
func (sn *snapshot) lockForStep() {
	sn.forced = sn.gate.waitIdle(snapYieldMax, sn.timer)
	sn.srv.mu.Lock()
}

// logSteps reports how the walk shared the command lock, at verbose level.
func (sn *snapshot) logSteps(what string) {
	sn.srv.log.Verbosef("%s: %d steps, longest %.3f ms with the command lock held (%.3f ms of CPU time); CPU time %d ms under the lock, %d ms writing out; %s",
		what, sn.steps, float64(sn.longest.Microseconds())/1000, float64(sn.longestCPU)/1000,
		sn.lockedCPU/1000, sn.fileCPU/1000, sn.waits)
}

// finishWalk completes a running snapshot's walk on the caller (lock held), for commands
// that change keys outside their key specs. The goroutine then only finalizes.
func (sn *snapshot) finishWalk() {
	if sn.walked {
		return
	}
	sn.ioMu.Lock()
	if sn.chunked {
		for !sn.step(0) {
			sn.outSegs(sn.takeSegs())
		}
		sn.outSegs(sn.takeSegs())
	} else {
		for !sn.step(0) {
			sn.out(sn.take())
		}
		sn.out(sn.take())
	}
	sn.ioMu.Unlock()
	sn.detach()
}

// bgsaveFinishSync completes the running snapshot's walk, whoever runs it.
func (s *Server) bgsaveFinishSync() {
	if sn := s.persist.bgsave; sn != nil {
		sn.finishWalk()
	}
}

// bgsaveAbort stops the running snapshot and removes its file (Redis's killRDBChild; an
// AOF rewrite notices and cleans up).
func (s *Server) bgsaveAbort() {
	sn := s.persist.bgsave
	if sn == nil {
		return
	}
	sn.abort()
	s.persist.bgsave = nil
	s.log.Warningf("Background saving terminated by signal 10")
}

// snapshotBeforeWrite is the gatekeeper's copy-on-write step, before a write command runs
// while a snapshot walks the dataset.
func (s *Server) snapshotBeforeWrite(c *Client, cmd *Command) {
	sn := s.persist.bgsave
	if sn == nil || (sn.walked && len(sn.shared) == 0) {
		return
	}
	rewrite := s.aof.rw != nil && s.aof.rw.sn == sn
	deleting := false
	switch cmd.FullName {
	case "flushall":
		if !rewrite {
			s.bgsaveAbort()
			return
		}
		// The rewrite's base may keep what it has: the FLUSHALL follows it in the new
		// incremental file.
		sn.forgetShared(-1)
		return
	case "flushdb":
		if !rewrite {
			sn.finishWalk()
		}
		sn.forgetShared(c.db.id)
		return
	case "swapdb":
		sn.finishWalk()
		if len(c.argv) == 3 {
			for _, a := range c.argv[1:] {
				if id, err := strconv.Atoi(string(a)); err == nil && id >= 0 && id < len(s.dbs) {
					sn.unshareDB(id)
				}
			}
		}
		return
	case "move":
		if len(c.argv) == 3 {
			if id, err := strconv.Atoi(string(c.argv[2])); err == nil && id >= 0 && id < len(s.dbs) {
				sn.saveKey(id, c.argv[1], false)
			}
		}
	case "copy":
		for i := 3; i+1 < len(c.argv); i++ {
			if strings.EqualFold(string(c.argv[i]), "db") {
				if id, err := strconv.Atoi(string(c.argv[i+1])); err == nil && id >= 0 && id < len(s.dbs) {
					sn.saveKey(id, c.argv[2], false)
				}
			}
		}
	case "del", "unlink":
		deleting = true
	}
	if !cmd.Spec.HasKeys() && cmd.Spec.Flags&commands.FlagMovableKeys == 0 {
		return
	}
	idx, err := cmd.Spec.GetKeys(c.argv)
	if err != nil {
		return
	}
	for _, i := range idx {
		if i < len(c.argv) {
			sn.saveKey(c.db.id, c.argv[i], deleting)
		}
	}
}

// unshareDB gives every key of database dbi whose value the file side still reads its own
// copy (SWAPDB moves values between databases behind the snapshot's back).
func (sn *snapshot) unshareDB(dbi int) {
	for _, ss := range sn.shared {
		if ss.live && ss.dbi == dbi && !ss.done.Load() {
			ss.live = false
			unshareString(sn.dbs[dbi].ks, ss.ref, ss.b)
		}
	}
}

// snapshotBeforeKey covers a key changed outside the running command's key specs (the
// destination of a blocked BLMOVE served by another client's push).
func (s *Server) snapshotBeforeKey(db *DB, key []byte) {
	if sn := s.persist.bgsave; sn != nil {
		sn.saveKey(db.id, key, false)
	}
}

// snapshotBeforeDelete covers deletions that no key spec announces (expiry).
func (s *Server) snapshotBeforeDelete(db *DB, r keyspace.Ref) {
	if sn := s.persist.bgsave; sn != nil {
		sn.saveRef(db.id, r, true)
	}
}
