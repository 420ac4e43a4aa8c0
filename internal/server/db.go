package server

import (
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/slot"
)

// String encodings, as OBJECT ENCODING names them.
const (
	encRaw uint8 = iota
	encInt
	encEmbstr
)

// embstrMax is the longest string Redis stores as embstr.
const embstrMax = 44

// DB is one logical database (SELECT n): the keyspace plus the logic Redis keeps around it,
// lazy expiry and access statistics. SWAPDB exchanges the keyspaces and keeps the DB values,
// so clients holding a *DB see the swap.
type DB struct {
	srv *Server
	id  int
	ks  *keyspace.DB
	// avgTTL is the running estimate INFO keyspace reports (ms).
	avgTTL int64
}

func newDB(s *Server, id int) *DB {
	return &DB{srv: s, id: id, ks: keyspace.New(keyspace.Options{SlotIndex: s.cfgBool("cluster-enabled")})}
}

func keySlot(key []byte) uint16 { return slot.KeySlot(key) }

// expired reports whether r's TTL has passed at the command time snapshot. Nothing is
// expired while the dataset loads (Redis's keyIsExpired): a replayed AOF must find the keys
// its later commands were written against.
func (db *DB) expired(r keyspace.Ref) bool {
	at := db.ks.ExpireAt(r)
	return at >= 0 && at < db.srv.now && !db.srv.persist.load.active
}

// expireIfNeeded deletes r when its TTL has passed and propagates the deletion as DEL (UNLINK
// with lazyfree-lazy-expire), as Redis does, so replicas and the AOF never expire keys on
// their own.
func (db *DB) expireIfNeeded(key []byte, r keyspace.Ref) bool {
	if !db.expired(r) {
		return false
	}
	if db.srv.repl.masterHost != "" {
		// A replica waits for its master's DEL: the key stays, reported missing to all but the master.
		cur := db.srv.curClient
		return cur == nil || cur.flags&flagMaster == 0
	}
	db.deleteExpired(key, r)
	return true
}

func (db *DB) deleteExpired(key []byte, r keyspace.Ref) {
	s := db.srv
	s.snapshotBeforeDelete(db, r)
	s.stats.expiredKeys++
	s.prop.command(db.id, [][]byte{s.lazyDelVerb("lazyfree-lazy-expire"), key}, nil)
	db.ks.DeleteRef(r)
	s.notifyKeyspace(notifyExpired, "expired", key, db.id)
}

// lookupRead finds a live key for reading: expired keys are removed first, the access
// time is refreshed and keyspace hits/misses are counted.
func (db *DB) lookupRead(key []byte) (keyspace.Ref, bool) {
	r, ok := db.ks.Lookup(key)
	if ok && db.expireIfNeeded(key, r) {
		ok = false
	}
	if !ok {
		db.srv.stats.keyspaceMisses++
		db.srv.notifyKeyspace(notifyKeyMiss, "keymiss", key, db.id)
		return 0, false
	}
	db.srv.stats.keyspaceHits++
	db.touch(r)
	return r, true
}

// lookupWrite finds a live key for writing (no hit/miss accounting).
func (db *DB) lookupWrite(key []byte) (keyspace.Ref, bool) {
	r, ok := db.ks.Lookup(key)
	if ok && db.expireIfNeeded(key, r) {
		return 0, false
	}
	if ok {
		db.touch(r)
	}
	return r, ok
}

// exists looks a key up without touching its access time (EXISTS, TYPE-like checks do touch
// in Redis; callers that must not touch use this).
func (db *DB) exists(key []byte) (keyspace.Ref, bool) {
	r, ok := db.ks.Lookup(key)
	if ok && db.expireIfNeeded(key, r) {
		return 0, false
	}
	return r, ok
}

func (db *DB) touch(r keyspace.Ref) { db.ks.SetClock(r, db.srv.lruClock()) }

// lruClock is Redis's 24-bit LRU clock in seconds.
func (s *Server) lruClock() uint32 { return uint32(s.now/1000) & (1<<24 - 1) }

// idleMs is OBJECT IDLETIME's input: milliseconds since the last access.
func (s *Server) idleMs(clock uint32) int64 {
	now := s.lruClock()
	if now >= clock {
		return int64(now-clock) * 1000
	}
	return int64(now+(1<<24)-clock) * 1000
}

// stringEncoding picks the encoding Redis gives a string value it stores.
func stringEncoding(val []byte) uint8 {
	if len(val) <= 20 && isCanonicalInt(val) {
		return encInt
	}
	if len(val) <= embstrMax {
		return encEmbstr
	}
	return encRaw
}

// setString stores a string value, replacing whatever the key held (and its TTL unless
// keepTTL); it is the single path SET, MSET, GETSET... go through.
func (db *DB) setString(key, val []byte, enc uint8, keepTTL bool) keyspace.Ref {
	r, existed := db.ks.SetString(key, keySlot(key), val, enc, keepTTL)
	db.touch(r)
	if !existed {
		db.srv.notifyKeyspace(notifyNew, "new", key, db.id)
	}
	return r
}

// setObj stores a non-string value, replacing whatever the key held and its TTL; a key
// that did not exist fires "new" (Redis's dbAdd), before the command's own event.
func (db *DB) setObj(key []byte, typ, enc uint8, obj any) keyspace.Ref {
	r, existed := db.ks.SetObj(key, keySlot(key), typ, enc, obj, false)
	db.touch(r)
	if !existed {
		db.srv.notifyKeyspace(notifyNew, "new", key, db.id)
	}
	return r
}

// delete removes a key if it exists (after lazy expiry) and reports whether it did.
func (db *DB) delete(key []byte) bool {
	r, ok := db.ks.Lookup(key)
	if !ok {
		return false
	}
	if db.expireIfNeeded(key, r) {
		return false
	}
	db.ks.DeleteRef(r)
	return true
}
