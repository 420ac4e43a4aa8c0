package server

// RDB persistence: SAVE, BGSAVE, LASTSAVE, save points, loading at start-up and DEBUG
// RELOAD. The file format itself is package rdb.
//
// Snapshots without fork. Go cannot fork a live server, so BGSAVE is a point-in-time
// snapshot taken with command-level copy-on-write:
//
//   - When it starts (under the server lock) the snapshot records, per database, how many
//     entry indexes the keyspace has handed out and allocates one bit per index. Keyspace
//     entries never move, so an index names the same key until that key is deleted.
//   - A goroutine then walks the indexes in steps of about 0.5 ms under the lock, writing
//     each live entry whose bit is clear and setting the bit; between steps it releases
//     the lock and writes the step's bytes to temp-<pid>.rdb (fsync every 4 MB with
//     rdb-save-incremental-fsync).
//   - Before a write command runs, the gatekeeper (call) writes every key the command's key
//     specs name that is not written yet, then sets its bit: the snapshot gets the value as
//     it was when the snapshot began. MOVE and COPY ... DB also cover the key in the target
//     database. Expiry deletions do the same through deleteExpired.
//   - Keys created after the start are marked written by a keyspace insert hook (also for
//     indexes reused from deleted keys), so they never reach the file.
//   - FLUSHALL aborts a running BGSAVE, as Redis kills its child; FLUSHDB, SWAPDB and DEBUG
//     RELOAD, which change keys outside any key spec, first finish the snapshot
//     synchronously.
//
// Keys are written in index order with SELECTDB wherever the database changes, so a file
// may select the same database more than once; Redis and redis-check-rdb accept that. A
// single huge value is written in one step: the bound is per key, not per byte.
//
// Lock order: s.mu, then snapshot.ioMu. The goroutine takes ioMu before it releases s.mu
// so buffers reach the file in the order they were produced.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/rdb"
	"github.com/sard-kv/sard/internal/zset"
)

const (
	snapStepBudget   = 500 * time.Microsecond
	snapFlushBytes   = 4 << 20 // a step also ends when this much is buffered
	incrementalFsync = 4 << 20 // rdb-save-incremental-fsync interval (Redis's REDIS_AUTOSYNC_BYTES)
	bgsaveRetryDelay = 5       // seconds before save points retry after a failure
)

// errMisconf is Redis 7.0's refusal of writes after a failed background save.
const errMisconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// persistState is the RDB side of the server (under s.mu).
type persistState struct {
	lastSave        int64 // unix s of the last successful save (start time before any)
	lastBgsaveOK    bool
	lastBgsaveTry   int64
	lastBgsaveSecs  int64
	saves           int64
	bgsave          *snapshot // running BGSAVE, nil when none
	bgsaveScheduled bool
	dirtyAtStart    int64
	loadedKeys      int64
	expiredOnLoad   int64

	// Function library hooks, filled in by the functions family: the libraries' code to
	// write (FUNCTION2 records) and how to load one back.
	functionsDump func() [][]byte
	functionsLoad func(code []byte, replace bool) error
}

func (s *Server) initPersistence() {
	s.persist.lastSave = s.startTime.Unix()
	s.persist.lastBgsaveOK = true
	s.persist.lastBgsaveSecs = -1
}

func (s *Server) lastSaveTime() int64 { return s.persist.lastSave }

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

	// file side, under ioMu
	ioMu     sync.Mutex
	f        *os.File
	w        *bufio.Writer
	tmp      string
	crc      uint64
	written  int64
	synced   int64
	autoSync bool
	checksum bool
	err      error
	aborted  bool
}

// newSnapshot prepares a snapshot of the whole dataset at this instant; the header and the
// functions are encoded right away.
func (s *Server) newSnapshot() *snapshot {
	sn := &snapshot{srv: s, selected: -1, start: time.Now()}
	sn.enc.Compress = s.cfgBool("rdbcompression")
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

// writeKey encodes one key with its expiry and access information, as rdbSaveKeyValuePair.
func (sn *snapshot) writeKey(dbi int, r keyspace.Ref) {
	e := &sn.enc
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
	encodeValue(e, ks, r)
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

// step writes entries for about budget (0: until the buffer is full), then returns whether
// the walk is over; the last step appends EOF.
func (sn *snapshot) step(budget time.Duration) bool {
	if sn.walked {
		return true
	}
	deadline := time.Now().Add(budget)
	n := 0
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
			sn.writeKey(sn.dbi, r)
			sd.mark(i)
			n++
			if len(sn.enc.Buf) >= snapFlushBytes || (budget > 0 && n&15 == 0 && time.Now().After(deadline)) {
				return false
			}
		}
		sn.dbi++
	}
	sn.enc.Byte(rdb.OpEOF)
	sn.walked = true
	return true
}

// saveKey writes key (in db) now if the snapshot still needs it: called before anything
// changes or deletes it.
func (sn *snapshot) saveKey(dbi int, key []byte) {
	if sn.walked {
		return
	}
	sd := &sn.dbs[dbi]
	r, ok := sd.ks.Lookup(key)
	if ok {
		sn.saveRef(dbi, r)
	}
}

func (sn *snapshot) saveRef(dbi int, r keyspace.Ref) {
	sd := &sn.dbs[dbi]
	if sn.walked || uint32(r) >= sd.limit || sd.isDone(uint32(r)) {
		return
	}
	sn.writeKey(dbi, r)
	sd.mark(uint32(r))
}

// take hands the buffered bytes to the writer side.
func (sn *snapshot) take() []byte {
	b := sn.enc.Buf
	sn.enc.Buf = sn.spare[:0]
	sn.spare = nil
	return b
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
			sn.err = err
		}
		sn.written += int64(len(b))
		if sn.err == nil && sn.autoSync && sn.written-sn.synced >= incrementalFsync {
			if err := sn.w.Flush(); err != nil {
				sn.err = err
			} else if err := sn.f.Sync(); err != nil {
				sn.err = err
			}
			sn.synced = sn.written
		}
	}
	if cap(b) <= 2*snapFlushBytes {
		sn.spare = b[:0]
	}
}

// finish writes the checksum, syncs, closes and renames the file into place.
func (sn *snapshot) finish(dst string) error {
	if sn.err != nil {
		sn.cleanup()
		return sn.err
	}
	var sum uint64
	if sn.checksum {
		sum = sn.crc
	}
	var trailer [8]byte
	for i := range trailer {
		trailer[i] = byte(sum >> (8 * i))
	}
	err := firstErr(
		func() error { _, err := sn.w.Write(trailer[:]); return err },
		sn.w.Flush, sn.f.Sync, sn.f.Close,
		func() error { return os.Rename(sn.tmp, dst) },
		func() error { return syncDir(dst) },
	)
	if err != nil {
		sn.f.Close()
		os.Remove(sn.tmp)
	}
	return err
}

func (sn *snapshot) cleanup() {
	if sn.f != nil {
		sn.f.Close()
		os.Remove(sn.tmp)
	}
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

// rdbFilename is dbfilename, relative to dir (the process runs in dir, as Redis does).
func (s *Server) rdbFilename() string { return s.cfgStr("dbfilename") }

func (s *Server) tempName() string { return fmt.Sprintf("temp-%d.rdb", os.Getpid()) }

// saveSync is rdbSave: the whole dataset to dbfilename with the lock held.
func (s *Server) saveSync() error {
	sn := s.newSnapshot()
	if err := sn.open(s.tempName()); err != nil {
		s.log.Warningf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %v", sn.tmp, cwd(), err)
		return err
	}
	for {
		done := sn.step(0)
		sn.out(sn.take())
		if done || sn.err != nil {
			break
		}
	}
	if err := sn.finish(s.rdbFilename()); err != nil {
		s.log.Warningf("Write error saving DB on disk: %v", err)
		return err
	}
	s.log.Noticef("DB saved on disk")
	s.persist.lastSave = time.Now().Unix()
	s.persist.lastBgsaveOK = true
	s.persist.saves++
	s.dirty = 0
	return nil
}

func cwd() string {
	d, _ := os.Getwd()
	return d
}

// bgsaveStart begins a background save.
func (s *Server) bgsaveStart() error {
	sn := s.newSnapshot()
	if err := sn.open(s.tempName()); err != nil {
		s.log.Warningf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %v", sn.tmp, cwd(), err)
		s.persist.lastBgsaveOK = false
		s.persist.lastBgsaveTry = time.Now().Unix()
		return err
	}
	s.persist.dirtyAtStart = s.dirty
	s.persist.lastBgsaveTry = time.Now().Unix()
	s.persist.bgsave = sn
	sn.attach()
	s.log.Noticef("Background saving started by pid %d", os.Getpid())
	go sn.run()
	return nil
}

// run is the BGSAVE goroutine.
func (sn *snapshot) run() {
	s := sn.srv
	for {
		s.mu.Lock()
		if sn.aborted {
			s.mu.Unlock()
			return
		}
		done := sn.step(snapStepBudget)
		if done {
			sn.detach()
		}
		b := sn.take()
		sn.ioMu.Lock()
		s.mu.Unlock()
		sn.out(b)
		failed := sn.err != nil
		sn.ioMu.Unlock()
		if done || failed {
			break
		}
		runtime.Gosched() // let the clients waiting for the lock in first
	}
	sn.ioMu.Lock()
	var err error
	if !sn.aborted {
		err = sn.finish(s.rdbFilename())
	}
	sn.ioMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn.aborted || s.persist.bgsave != sn {
		return
	}
	sn.detach()
	s.persist.bgsave = nil
	s.persist.lastBgsaveSecs = int64(time.Since(sn.start).Seconds())
	if err != nil {
		s.log.Warningf("Write error saving DB on disk: %v", err)
		s.log.Warningf("Background saving error")
		s.persist.lastBgsaveOK = false
		return
	}
	s.log.Noticef("DB saved on disk")
	s.log.Noticef("Background saving terminated with success")
	s.dirty -= s.persist.dirtyAtStart
	s.persist.lastSave = time.Now().Unix()
	s.persist.lastBgsaveOK = true
	s.persist.saves++
}

// bgsaveFinishSync completes a running BGSAVE's walk on the caller (lock held), for
// commands that change keys outside their key specs. The goroutine then only finalizes.
func (s *Server) bgsaveFinishSync() {
	sn := s.persist.bgsave
	if sn == nil || sn.walked {
		return
	}
	sn.ioMu.Lock()
	for !sn.step(0) {
		sn.out(sn.take())
	}
	sn.out(sn.take())
	sn.ioMu.Unlock()
	sn.detach()
}

// bgsaveAbort stops a running BGSAVE and removes its file (Redis's killRDBChild).
func (s *Server) bgsaveAbort() {
	sn := s.persist.bgsave
	if sn == nil {
		return
	}
	sn.ioMu.Lock()
	sn.aborted = true
	sn.cleanup()
	sn.ioMu.Unlock()
	sn.detach()
	s.persist.bgsave = nil
	s.log.Warningf("Background saving terminated by signal 10")
}

// snapshotBeforeWrite is the gatekeeper's copy-on-write step, before a write command runs
// while a BGSAVE walks the dataset.
func (s *Server) snapshotBeforeWrite(c *Client, cmd *Command) {
	sn := s.persist.bgsave
	if sn == nil || sn.walked {
		return
	}
	switch cmd.FullName {
	case "flushall":
		s.bgsaveAbort()
		return
	case "flushdb", "swapdb":
		s.bgsaveFinishSync()
		return
	case "move":
		if len(c.argv) == 3 {
			if id, err := strconv.Atoi(string(c.argv[2])); err == nil && id >= 0 && id < len(s.dbs) {
				sn.saveKey(id, c.argv[1])
			}
		}
	case "copy":
		for i := 3; i+1 < len(c.argv); i++ {
			if strings.EqualFold(string(c.argv[i]), "db") {
				if id, err := strconv.Atoi(string(c.argv[i+1])); err == nil && id >= 0 && id < len(s.dbs) {
					sn.saveKey(id, c.argv[2])
				}
			}
		}
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
			sn.saveKey(c.db.id, c.argv[i])
		}
	}
}

// snapshotBeforeKey covers a key changed outside the running command's key specs (the
// destination of a blocked BLMOVE served by another client's push).
func (s *Server) snapshotBeforeKey(db *DB, key []byte) {
	if sn := s.persist.bgsave; sn != nil {
		sn.saveKey(db.id, key)
	}
}

// snapshotBeforeDelete covers deletions that no key spec announces (expiry).
func (s *Server) snapshotBeforeDelete(db *DB, r keyspace.Ref) {
	if sn := s.persist.bgsave; sn != nil {
		sn.saveRef(db.id, r)
	}
}

// writesDeniedByDiskError reports stop-writes-on-bgsave-error's refusal.
func (s *Server) writesDeniedByDiskError() bool {
	return !s.persist.lastBgsaveOK && s.cfgBool("stop-writes-on-bgsave-error") && len(s.saveParams()) > 0
}

type saveParam struct{ seconds, changes int64 }

// saveParams parses the save directive ("3600 1 300 100 ...").
func (s *Server) saveParams() []saveParam {
	f := strings.Fields(s.cfgStr("save"))
	var out []saveParam
	for i := 0; i+1 < len(f); i += 2 {
		sec, err1 := strconv.ParseInt(f[i], 10, 64)
		ch, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, saveParam{sec, ch})
		}
	}
	return out
}

// persistenceCron is serverCron's part: save points and scheduled BGSAVEs.
func (s *Server) persistenceCron() {
	if s.persist.bgsave != nil {
		return
	}
	now := time.Now().Unix()
	for _, sp := range s.saveParams() {
		if s.dirty >= sp.changes && now-s.persist.lastSave > sp.seconds &&
			(now-s.persist.lastBgsaveTry > bgsaveRetryDelay || s.persist.lastBgsaveOK) {
			s.log.Noticef("%d changes in %d seconds. Saving...", sp.changes, sp.seconds)
			s.bgsaveStart()
			return
		}
	}
	if s.persist.bgsaveScheduled {
		s.persist.bgsaveScheduled = false
		s.bgsaveStart()
	}
}

func saveCommand(c *Client) {
	s := c.srv
	if s.persist.bgsave != nil {
		c.w.Error("ERR Background save already in progress")
		return
	}
	if err := s.saveSync(); err != nil {
		c.w.Error("ERR")
		return
	}
	c.w.OK()
}

func bgsaveCommand(c *Client) {
	s := c.srv
	schedule := false
	if len(c.argv) > 1 {
		if len(c.argv) == 2 && strings.EqualFold(string(c.argv[1]), "schedule") {
			schedule = true
		} else {
			c.w.Error(errSyntax)
			return
		}
	}
	_ = schedule // no other kind of child process exists yet, so SCHEDULE never waits
	if s.persist.bgsave != nil {
		c.w.Error("ERR Background save already in progress")
		return
	}
	if c.flags&flagMulti != 0 {
		// Inside EXEC or a script Redis defers the save to the cron.
		s.persist.bgsaveScheduled = true
		c.w.Status("Background saving scheduled")
		return
	}
	if err := s.bgsaveStart(); err != nil {
		c.w.Error("ERR")
		return
	}
	c.w.Status("Background saving started")
}

// shutdownSave is prepareForShutdown's save part.
func (s *Server) shutdownSave(flags int) error {
	if s.persist.bgsave != nil {
		s.log.Warningf("There is a child saving an .rdb. Killing it!")
		s.bgsaveAbort()
	}
	if flags&shutdownNoSave != 0 {
		return nil
	}
	if len(s.saveParams()) == 0 && flags&shutdownSave == 0 {
		return nil
	}
	s.log.Noticef("Saving the final RDB snapshot before exiting.")
	if err := s.saveSync(); err != nil {
		if flags&shutdownForce != 0 {
			s.log.Warningf("Error trying to save the DB. Exit anyway.")
			return nil
		}
		return errors.New("Error trying to save the DB, can't exit.")
	}
	return nil
}

// ---- loading ----

// rdbLimits are the conversion thresholds for loaded values.
func (s *Server) rdbLimits() rdb.Limits {
	return rdb.Limits{
		ListFill: int(s.hot.listFill.Get()), ListDepth: int(s.hot.listDepth.Get()),
		SetMaxIntset:   s.setMaxIntset(),
		HashMaxEntries: int(s.hot.hashEntries.Get()), HashMaxValue: int(s.hot.hashValue.Get()),
		ZSetMaxEntries: int(s.hot.zsetEntries.Get()), ZSetMaxValue: int(s.hot.zsetValue.Get()),
		Databases:    len(s.dbs),
		SkipChecksum: !s.cfgBool("rdbchecksum"),
	}
}

// storeObject puts a loaded value at key in db; it reports false when the key exists and
// replace is off.
func (s *Server) storeObject(db *DB, key []byte, o *rdb.Object, expireAt int64, replace bool) (keyspace.Ref, bool) {
	ks := db.ks
	if _, exists := ks.Lookup(key); exists && !replace {
		return 0, false
	}
	slot := keySlot(key)
	var r keyspace.Ref
	switch o.Kind {
	case keyspace.TypeString:
		r, _ = ks.SetString(key, slot, o.Str, stringEncoding(o.Str), false)
	case keyspace.TypeList:
		r, _ = ks.SetObj(key, slot, keyspace.TypeList, listEncQuicklist, &listValue{o.List}, false)
	case keyspace.TypeSet:
		sv := &setValue{is: o.Intset, ht: o.Table}
		r, _ = ks.SetObj(key, slot, keyspace.TypeSet, sv.enc(), sv, false)
	case keyspace.TypeHash:
		hv := &hashValue{lp: o.Listpack, ht: o.Table}
		r, _ = ks.SetObj(key, slot, keyspace.TypeHash, hv.enc(), hv, false)
	case keyspace.TypeZSet:
		r, _ = ks.SetObj(key, slot, keyspace.TypeZSet, zsetEnc(o.ZSet), o.ZSet, false)
	case keyspace.TypeStream:
		r, _ = ks.SetObj(key, slot, keyspace.TypeStream, encStream, &streamValue{o.Stream}, false)
	}
	if expireAt != keyspace.NoExpire {
		ks.SetExpireAt(r, expireAt)
	}
	db.touch(r)
	return r, true
}

// setAccessInfo applies a loaded IDLE or FREQ (RESTORE IDLETIME/FREQ too) as Redis's
// objectSetLRUOrLFU: the frequency under an LFU policy, the idle time under any other.
func (s *Server) setAccessInfo(ks *keyspace.DB, r keyspace.Ref, idle int64, freq int) {
	if s.isLFU() {
		if freq >= 0 {
			ks.SetClock(r, uint32(s.now/60000&0xffff)<<8|uint32(freq&0xff))
		}
		return
	}
	if idle >= 0 {
		ks.SetClock(r, uint32(int64(s.lruClock())-idle)&(1<<24-1))
	}
}

// loadRDB reads a file into fresh databases and, if it all loads, replaces the dataset;
// with keep it loads into the current keys instead, a duplicate being an error unless
// replace. It logs as Redis does.
func (s *Server) loadRDB(path string, keep, replace bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	s.now = time.Now().UnixMilli()
	dbs := make([]*DB, len(s.dbs))
	for i := range dbs {
		dbs[i] = newDB(s, i)
		if keep {
			dbs[i].ks = s.dbs[i].ks
		}
	}
	var loaded, expired int64
	var ctime int64 = -1
	var usedMem int64 = -1
	lim := s.rdbLimits()
	st, err := rdb.Load(bufio.NewReaderSize(f, 1<<20), lim, rdb.Handler{
		Aux: func(k, v []byte) {
			switch string(k) {
			case "redis-ver":
				s.log.Noticef("Loading RDB produced by version %s", v)
			case "ctime":
				ctime, _ = strconv.ParseInt(string(v), 10, 64)
				if ctime >= 0 {
					age := max(time.Now().Unix()-ctime, 0)
					s.log.Noticef("RDB age %d seconds", age)
				}
			case "used-mem":
				usedMem, _ = strconv.ParseInt(string(v), 10, 64)
				s.log.Noticef("RDB memory usage when created %.2f Mb", float64(usedMem)/(1024*1024))
			}
		},
		Function: func(code []byte) error {
			if s.persist.functionsLoad == nil {
				return errors.New("functions are not supported")
			}
			return s.persist.functionsLoad(code, replace)
		},
		Key: func(key []byte, o *rdb.Object, info rdb.KeyInfo) error {
			// A master drops keys that expired while the file was on disk.
			if info.ExpireAt != keyspace.NoExpire && info.ExpireAt < s.now {
				expired++
				return nil
			}
			db := dbs[info.DB]
			r, ok := s.storeObject(db, key, o, info.ExpireAt, replace)
			if !ok {
				return fmt.Errorf("duplicate key '%s' found in RDB file", key)
			}
			s.setAccessInfo(db.ks, r, info.Idle, info.Freq)
			loaded++
			return nil
		},
	})
	if err != nil {
		return err
	}
	for i, db := range s.dbs {
		db.ks = dbs[i].ks
	}
	s.persist.loadedKeys, s.persist.expiredOnLoad = loaded, expired
	if st.EmptySkipped > 0 {
		s.log.Noticef("Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.", loaded, expired, st.EmptySkipped)
	} else {
		s.log.Noticef("Done loading RDB, keys loaded: %d, keys expired: %d.", loaded, expired)
	}
	s.log.Noticef("DB loaded from disk: %.3f seconds", time.Since(start).Seconds())
	return nil
}

// LoadDataAtStartup loads the dataset before clients are served: the AOF when appendonly
// is on (its loader comes with the AOF), else dbfilename if it exists. An unreadable file
// stops the start-up, as in Redis.
func (s *Server) LoadDataAtStartup() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfgBool("appendonly") {
		return nil // the AOF loader takes this branch
	}
	err := s.loadRDB(s.rdbFilename(), false, false)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		if err == nil {
			s.persist.lastSave = time.Now().Unix()
		}
		return nil
	}
	var re *rdb.Error
	if errors.As(err, &re) {
		s.log.Warningf("Internal error in RDB reading offset %d -> %s", re.Offset, re.Reason)
		return errors.New("Terminating server after rdb file reading failure.")
	}
	return fmt.Errorf("Fatal error loading the DB: %v. Exiting.", err)
}

// debugReload is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
func debugReload(c *Client) {
	s := c.srv
	save, flush, merge := true, true, false
	for _, a := range c.argv[2:] {
		switch strings.ToLower(string(a)) {
		case "merge":
			merge = true
		case "noflush":
			flush = false
		case "nosave":
			save = false
		default:
			c.w.Error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
			return
		}
	}
	s.bgsaveFinishSync()
	if save {
		if s.persist.bgsave != nil {
			c.w.Error("ERR Background save already in progress")
			return
		}
		if err := s.saveSync(); err != nil {
			c.w.Error("ERR")
			return
		}
	}
	if flush && !merge {
		for _, db := range s.dbs {
			flushDB(db)
		}
	}
	if err := s.loadRDB(s.rdbFilename(), merge || !flush, merge); err != nil {
		s.log.Warningf("Error loading the RDB: %v", err)
		c.w.Error("ERR Error trying to load the RDB dump, check server logs.")
		return
	}
	s.log.Noticef("DB reloaded by DEBUG RELOAD")
	c.w.OK()
}

func init() {
	register(map[string]func(*Client){
		"save":   saveCommand,
		"bgsave": bgsaveCommand,
	})
}

// afterFlushAll is Redis's flushAllDataAndResetRDB tail: with save points set, the emptied
// dataset is saved at once. The save resets the change counter, so FLUSHALL propagates
// itself (Redis forces its propagation too) and counts as the one change since the save.
func (s *Server) afterFlushAll(c *Client) {
	if len(s.saveParams()) == 0 {
		return
	}
	if s.saveSync() != nil {
		return
	}
	s.dirty = 1
	s.prop.command(c.db.id, c.argv, nil)
	c.propArgv = [][]byte{}
}
