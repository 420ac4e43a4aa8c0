package server

// Loading the dataset: dbfilename or the AOF at start-up, DEBUG RELOAD, and the LOADING
// state clients see meanwhile.
//
// Like Redis, sard accepts connections while it loads at start-up. The loader holds the
// command lock and lets go of it every loading-process-events-interval-bytes of input
// (every 1024 commands of an AOF), as Redis's loader calls processEventsWhileBlocked;
// between two slices clients run commands, and the gatekeeper answers every command
// without the loading flag with -LOADING. INFO persistence then shows loading:1 and the
// loading_* progress fields. DEBUG RELOAD and DEBUG LOADAOF (debug.go) load the same way,
// their client waiting for the end while the others get -LOADING; a replica's full sync
// reads without the lock and stores keys in batches under it (replication_load.go).
//
// While loading nothing expires (Redis's keyIsExpired answers no while loading): an AOF
// replays commands written when their keys were alive, and a key its TTL deleted early
// would take the next replayed write as a new key.

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/rdb"
)

// loadingState is Redis's loading information (under s.mu).
type loadingState struct {
	active     bool    // loading:1, and the gatekeeper answers -LOADING
	async      bool    // async_loading:1: a replica loads while serving its old data
	yield      bool    // the loader lets clients in between slices
	caller     *Client // the client whose DEBUG RELOAD/LOADAOF loads; nil at start-up
	aborted    bool    // a shutdown arrived while loading
	start      int64   // unix s
	total      int64   // bytes to load
	loaded     int64   // bytes loaded so far, of total
	base       int64   // bytes of the files already loaded (multi-part AOF)
	rdbUsedMem int64   // the used-mem aux field of the file being loaded
	nextYield  int64
}

// running reports whether a load is under way, in the foreground (loading:1) or in the
// background of a replica serving its old data (async_loading:1).
func (l *loadingState) running() bool { return l.active || l.async }

// errLoadAborted ends a start-up load interrupted by a shutdown.
var errLoadAborted = errors.New("loading aborted by a shutdown")

// startLoading is Redis's startLoading: the LOADING state begins.
func (s *Server) startLoading(total int64, yield bool) {
	s.persist.load = loadingState{active: true, yield: yield, start: time.Now().Unix(), total: total}
}

// startLoadingFor is startLoading for DEBUG RELOAD and DEBUG LOADAOF, run by c: as in
// Redis, whose loader processes events as it goes, other clients get -LOADING instead of
// waiting for the lock. Inside MULTI the load holds the lock throughout (the transaction
// stays atomic), and so does a replica's, whose master stream must not meet -LOADING.
func (s *Server) startLoadingFor(c *Client, total int64) {
	yield := c.flags&flagMulti == 0 && s.curClient == c && !s.isReplica()
	s.startLoading(total, yield)
	s.persist.load.caller = c
}

// startAsyncLoading is startLoading for a replica's swapdb load of its own history: clients
// keep the old data, INFO shows async_loading:1 and the loading_* fields.
func (s *Server) startAsyncLoading(total int64) {
	s.persist.load = loadingState{async: true, start: time.Now().Unix(), total: total}
}

func (s *Server) stopLoading() {
	s.persist.load.active = false
	s.persist.load.async = false
	s.persist.load.yield = false
	s.persist.load.caller = nil
}

// loadingProgress records that pos bytes of the current file are loaded and, during the
// start-up load, lets waiting clients run once enough was read since the last time. It
// returns errLoadAborted once a shutdown has begun.
func (s *Server) loadingProgress(pos int64) error {
	l := &s.persist.load
	l.loaded = l.base + pos
	if !l.yield {
		return nil
	}
	if l.loaded >= l.nextYield {
		l.nextYield = l.loaded + max(s.cfgInt("loading-process-events-interval-bytes"), 1024)
		s.loadingYield()
	}
	if s.shuttingDown.Load() {
		l.aborted = true
		return errLoadAborted
	}
	return nil
}

// loadingYield lets the clients waiting for the lock run once. A DEBUG RELOAD's client
// first hands its event loop to another goroutine (the others' requests come through it)
// and stops being the running client, as WAIT does.
func (s *Server) loadingYield() {
	c := s.persist.load.caller
	var saved *Client
	if c != nil {
		saved, s.curClient = s.curClient, nil
		c.detach()
	}
	s.mu.Unlock()
	runtime.Gosched()
	s.mu.Lock()
	if c != nil {
		s.curClient = saved
	}
}

// debugDelay is how key-load-delay and rdb-key-save-delay, testing aids, wait per key: usec
// microseconds, or for a negative value -n, 1 µs once every n keys on average (Redis's
// debugDelay).
func debugDelay(usec int64) {
	if usec < 0 {
		if rand.Int64N(-usec) != 0 {
			return
		}
		usec = 1
	}
	threadSleep(usec)
}

// infoLoading writes the loading_* fields of INFO persistence while a load runs.
func (s *Server) infoLoading(b *infoBuilder) {
	l := &s.persist.load
	if !l.running() {
		return
	}
	perc := float64(l.loaded) / float64(l.total+1) * 100
	remaining := l.total - l.loaded
	if l.total == 0 && l.rdbUsedMem > 0 {
		// A payload streamed with an EOF mark has no size: like Redis, estimate it by the
		// used-mem aux field, never reaching 100%.
		perc = min(float64(l.loaded)/float64(l.rdbUsedMem)*100, 99.99)
		remaining = max(l.rdbUsedMem-l.loaded, 1)
	}
	elapsed := time.Now().Unix() - l.start
	eta := int64(1) // Redis's placeholder before a second has passed
	if elapsed > 0 {
		eta = elapsed * remaining / (l.loaded + 1)
	}
	b.int("loading_start_time", l.start)
	b.int("loading_total_bytes", l.total)
	b.int("loading_rdb_used_mem", l.rdbUsedMem)
	b.int("loading_loaded_bytes", l.loaded)
	b.float("loading_loaded_perc", perc, 2)
	b.int("loading_eta_seconds", eta)
}

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

// storeLoadedKey stores a key read from an RDB file (or an AOF's RDB base) with its
// expiry and LRU/LFU information; a key already present is the file's error.
func (s *Server) storeLoadedKey(db *DB, key []byte, o *rdb.Object, info rdb.KeyInfo, replace bool) error {
	r, ok := s.storeObject(db, key, o, info.ExpireAt, replace)
	if !ok {
		return fmt.Errorf("duplicate key '%s' found in RDB file", key)
	}
	s.setAccessInfo(db.ks, r, info.Idle, info.Freq)
	return nil
}

// storeObject puts a loaded value at key in db. It reports false when the key existed and
// replace is off: a duplicate that makes the load fail, by then already overwritten (one
// hash lookup per key instead of two; every caller gives up on the data it was loading).
func (s *Server) storeObject(db *DB, key []byte, o *rdb.Object, expireAt int64, replace bool) (keyspace.Ref, bool) {
	ks := db.ks
	slot := keySlot(key)
	var r keyspace.Ref
	var existed bool
	switch o.Kind {
	case keyspace.TypeString:
		r, existed = ks.SetString(key, slot, o.Str, stringEncoding(o.Str), false)
	case keyspace.TypeList:
		r, existed = ks.SetObj(key, slot, keyspace.TypeList, listEncQuicklist, &listValue{o.List}, false)
	case keyspace.TypeSet:
		sv := &setValue{is: o.Intset, ht: o.Table}
		r, existed = ks.SetObj(key, slot, keyspace.TypeSet, sv.enc(), sv, false)
	case keyspace.TypeHash:
		hv := &hashValue{lp: o.Listpack, ht: o.Table}
		r, existed = ks.SetObj(key, slot, keyspace.TypeHash, hv.enc(), hv, false)
	case keyspace.TypeZSet:
		r, existed = ks.SetObj(key, slot, keyspace.TypeZSet, zsetEnc(o.ZSet), o.ZSet, false)
	case keyspace.TypeStream:
		r, existed = ks.SetObj(key, slot, keyspace.TypeStream, encStream, &streamValue{o.Stream}, false)
	}
	if existed && !replace {
		return r, false
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

// reserveKeys applies an RDB file's RESIZEDB hint, bounded by what a file of size bytes can
// hold (a key takes at least 3 bytes), so a corrupt hint can't allocate much.
func reserveKeys(ks *keyspace.DB, keys uint64, size int64) {
	if limit := uint64(max(size, 0) / 3); keys > limit {
		keys = limit
	}
	ks.Reserve(int(min(keys, 1<<31)))
}

// rdbAuxLogger logs the auxiliary fields Redis logs while loading and keeps used-mem for
// INFO's loading_rdb_used_mem.
func (s *Server) rdbAuxLogger(k, v []byte) {
	switch string(k) {
	case "redis-ver":
		s.log.Noticef("Loading RDB produced by version %s", v)
	case "ctime":
		if ctime, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			s.log.Noticef("RDB age %d seconds", max(time.Now().Unix()-ctime, 0))
		}
	case "used-mem":
		if mem, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			s.persist.load.rdbUsedMem = mem
			s.log.Noticef("RDB memory usage when created %.2f Mb", float64(mem)/(1024*1024))
		}
	case "aof-base":
		if string(v) == "1" {
			s.log.Noticef("RDB is base AOF")
		}
	case "repl-stream-db", "repl-id", "repl-offset":
		s.replNoteLoadedInfo(k, v) // replication_rsi.go
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
	now := time.Now().UnixMilli()
	s.now = now
	dbs := make([]*DB, len(s.dbs))
	for i := range dbs {
		dbs[i] = newDB(s, i)
		if keep {
			dbs[i].ks = s.dbs[i].ks
		}
	}
	var loaded, expired int64
	delay := s.cfgInt("key-load-delay")
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	d := rdb.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	st, err := rdb.LoadDecoder(d, s.rdbLimits(), rdb.Handler{
		Aux:      s.rdbAuxLogger,
		ResizeDB: func(db int, keys, _ uint64) { reserveKeys(dbs[db].ks, keys, size) },
		Function: func(code []byte) error {
			if s.persist.functionsLoad == nil {
				return errors.New("functions are not supported")
			}
			return s.persist.functionsLoad(code, replace)
		},
		Key: func(key []byte, o *rdb.Object, info rdb.KeyInfo) error {
			// A master drops keys that expired while the file was on disk (a replica keeps
			// them for its master's DEL, replication_rsi.go).
			if info.ExpireAt != keyspace.NoExpire && info.ExpireAt < now && s.iAmMaster() {
				expired++
			} else {
				if err := s.storeLoadedKey(dbs[info.DB], key, o, info, replace); err != nil {
					return err
				}
				loaded++
			}
			if delay != 0 {
				debugDelay(delay)
			}
			s.persist.loadedKeys = loaded
			return s.loadingProgress(d.Offset())
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

// LoadDataAtStartup is Redis's loadDataFromDisk: the AOF when appendonly is on, else
// dbfilename if it exists. It runs while clients are already accepted (see
// AcceptConnections): they get -LOADING until it returns. An unreadable file stops the
// start-up, as in Redis; so does a shutdown requested meanwhile (ShuttingDown tells).
func (s *Server) LoadDataAtStartup() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Loaded, or nothing to load: serve (BeginStartupLoad marked the server loading). On an
	// error the process exits and clients keep getting -LOADING until then.
	defer func() {
		if err == nil {
			s.stopLoading()
		}
	}()
	if s.cfgBool("appendonly") {
		return s.loadAOFAtStartup()
	}
	name := s.rdbFilename()
	st, err := os.Stat(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("Fatal error loading the DB: %v. Exiting.", err)
	}
	s.startLoading(st.Size(), true)
	err = s.loadRDB(name, false, false)
	switch {
	case err == nil:
		s.stopLoading()
		s.persist.lastSave = time.Now().Unix()
		return nil
	case s.persist.load.aborted:
		return errLoadAborted
	case errors.Is(err, os.ErrNotExist):
		s.stopLoading()
		return nil
	}
	// The process is about to exit: until then clients keep getting -LOADING, not answers
	// from an empty dataset.
	var re *rdb.Error
	if errors.As(err, &re) {
		s.log.Warningf("Internal error in RDB reading offset %d -> %s", re.Offset, re.Reason)
		return errors.New("Terminating server after rdb file reading failure.")
	}
	return fmt.Errorf("Fatal error loading the DB: %v. Exiting.", err)
}

// BeginStartupLoad marks the server as loading before it accepts connections, so that no
// client is answered from the empty dataset in the moment between AcceptConnections and
// LoadDataAtStartup taking the lock: they get -LOADING, as during the load itself.
func (s *Server) BeginStartupLoad() {
	s.mu.Lock()
	s.startLoading(0, true)
	s.mu.Unlock()
}

// ShuttingDown reports whether a shutdown has begun (during the start-up load, the process
// wrapper exits instead of serving).
func (s *Server) ShuttingDown() bool { return s.shuttingDown.Load() }
