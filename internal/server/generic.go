package server

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"

	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
)

// Generic key commands: deletion, existence, expiry, renaming, iteration, copying and
// introspection (OBJECT, MEMORY), for keys of every type.

// Collection values stored with keyspace SetObj may implement these interfaces so the
// generic commands can handle them without knowing the type.
type (
	// valueCloner deep-copies a value for COPY.
	valueCloner interface{ CloneValue() any }
	// valueSizer estimates the bytes a value uses beyond its keyspace entry (MEMORY USAGE);
	// samples bounds how many elements are looked at, 0 meaning all.
	valueSizer interface{ MemoryUsage(samples int) int }
	// valueEncoder names the value's encoding for OBJECT ENCODING ("listpack", ...).
	valueEncoder interface{ EncodingName() string }
)

// Error replies only generic commands give.
const (
	errGTLT              = "ERR GT and LT options at the same time are not compatible"
	errInvalidCursor     = "ERR invalid cursor"
	errIntRange          = "ERR value is out of range, value must between -2147483648 and 2147483647"
	errCopyCluster       = "ERR Copying to another database is not allowed in cluster mode"
	errLFUNotSelected    = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errLFUSelected       = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errCopyUnsupported   = "ERR COPY is not supported for this value type"
	sharedRefcount       = math.MaxInt32 // what OBJECT REFCOUNT reports for shared integers
	sharedIntegers       = 10000         // Redis shares the integers 0..9999
	memoryDoctorEmptyMax = 5 << 20       // below this dataset size MEMORY DOCTOR has nothing to say
)

// typeNames are TYPE's replies, indexed by keyspace type.
var typeNames = [...]string{
	keyspace.TypeString: "string",
	keyspace.TypeList:   "list",
	keyspace.TypeSet:    "set",
	keyspace.TypeZSet:   "zset",
	keyspace.TypeHash:   "hash",
	keyspace.TypeStream: "stream",
}

func typeName(t uint8) string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// redisEncodingNames is the fallback for collection values that do not implement
// valueEncoder: their stored encoding is read as Redis's OBJ_ENCODING_* number.
var redisEncodingNames = [...]string{"raw", "int", "hashtable", "zipmap", "linkedlist", "ziplist",
	"intset", "skiplist", "embstr", "quicklist", "stream", "listpack"}

// encodingName is what OBJECT ENCODING reports for r.
func encodingName(ks *keyspace.DB, r keyspace.Ref) string {
	if ks.Type(r) == keyspace.TypeString {
		switch ks.Enc(r) {
		case encInt:
			return "int"
		case encEmbstr:
			return "embstr"
		}
		return "raw"
	}
	if e, ok := ks.Obj(r).(valueEncoder); ok {
		return e.EncodingName()
	}
	if enc := int(ks.Enc(r)); enc < len(redisEncodingNames) {
		return redisEncodingNames[enc]
	}
	return "unknown"
}

// lookupNoTouch finds a live key the way Redis's LOOKUP_NOTOUCH reads do (TTL, TYPE,
// EXISTS): lazy expiry and hit/miss counting, without refreshing the access time. A miss
// fires "keymiss", as every read lookup without LOOKUP_NONOTIFY does in Redis.
func (db *DB) lookupNoTouch(key []byte) (keyspace.Ref, bool) {
	r, ok := db.lookupNoNotify(key)
	if !ok {
		db.srv.notifyKeyspace(notifyKeyMiss, "keymiss", key, db.id)
	}
	return r, ok
}

// lookupNoNotify is lookupNoTouch without the "keymiss" event: OBJECT and MEMORY USAGE
// look keys up with LOOKUP_NONOTIFY in Redis.
func (db *DB) lookupNoNotify(key []byte) (keyspace.Ref, bool) {
	r, ok := db.exists(key)
	if ok {
		db.srv.stats.keyspaceHits++
	} else {
		db.srv.stats.keyspaceMisses++
	}
	return r, ok
}

// parseInt32 reads an argument the way Redis's getIntFromObjectOrReply does.
func parseInt32(c *Client, arg []byte, rangeErr string) (int, bool) {
	v, ok := num.ParseInt64(arg)
	if !ok {
		if rangeErr != "" {
			c.w.Error(rangeErr)
		} else {
			c.w.Error(errNotInt)
		}
		return 0, false
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		if rangeErr != "" {
			c.w.Error(rangeErr)
		} else {
			c.w.Error(errIntRange)
		}
		return 0, false
	}
	return int(v), true
}

func delGeneric(c *Client) {
	var n int64
	for _, key := range c.argv[1:] {
		if c.db.delete(key) {
			c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
			c.srv.dirty++
			n++
		}
	}
	c.w.Int(n)
}

func delCommand(c *Client)    { delGeneric(c) }
func unlinkCommand(c *Client) { delGeneric(c) }

func existsCommand(c *Client) {
	var n int64
	for _, key := range c.argv[1:] {
		if _, ok := c.db.lookupNoTouch(key); ok {
			n++
		}
	}
	c.w.Int(n)
}

func typeCommand(c *Client) {
	r, ok := c.db.lookupNoTouch(c.argv[1])
	if !ok {
		c.w.Status("none")
		return
	}
	c.w.Status(typeName(c.db.ks.Type(r)))
}

func touchCommand(c *Client) {
	var n int64
	for _, key := range c.argv[1:] {
		if _, ok := c.db.lookupRead(key); ok {
			n++
		}
	}
	c.w.Int(n)
}

// Conditions of EXPIRE and friends.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

// expireGeneric implements EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: basetime is added to
// the argument (now for the relative forms), seconds scales it.
func expireGeneric(c *Client, basetime int64, seconds bool) {
	key := c.argv[1]
	flags := 0
	for _, a := range c.argv[3:] {
		switch {
		case argEq(a, "nx"):
			flags |= expNX
		case argEq(a, "xx"):
			flags |= expXX
		case argEq(a, "gt"):
			flags |= expGT
		case argEq(a, "lt"):
			flags |= expLT
		default:
			c.w.Error("ERR Unsupported option " + string(a))
			return
		}
	}
	if flags&expNX != 0 && flags&(expXX|expGT|expLT) != 0 {
		c.w.Error(errNotSupportedNX)
		return
	}
	if flags&expGT != 0 && flags&expLT != 0 {
		c.w.Error(errGTLT)
		return
	}
	when, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			replyInvalidExpire(c)
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-basetime {
		replyInvalidExpire(c)
		return
	}
	when += basetime
	ks := c.db.ks
	r, found := c.db.lookupWrite(key)
	if !found {
		c.w.Int(0)
		return
	}
	if flags != 0 {
		cur := ks.ExpireAt(r)
		switch {
		case flags&expNX != 0 && cur != keyspace.NoExpire,
			flags&expXX != 0 && cur == keyspace.NoExpire,
			// no TTL counts as infinite: GT never beats it, LT always does
			flags&expGT != 0 && (cur == keyspace.NoExpire || when <= cur),
			flags&expLT != 0 && cur != keyspace.NoExpire && when >= cur:
			c.w.Int(0)
			return
		}
	}
	if c.srv.alreadyExpired(when) {
		// A time already past deletes the key, propagated as DEL (UNLINK with
		// lazyfree-lazy-expire).
		ks.DeleteRef(r)
		c.srv.dirty++
		c.propArgv = propVec(c.srv.lazyDelVerb("lazyfree-lazy-expire"), key)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
		c.w.Int(1)
		return
	}
	ks.SetExpireAt(r, when)
	c.w.Int(1)
	// Propagated as PEXPIREAT with the absolute time; any NX/XX/GT/LT stays.
	prop := make([][]byte, len(c.argv))
	prop[0] = []byte("PEXPIREAT")
	prop[1] = key
	prop[2] = msBytes(when)
	copy(prop[3:], c.argv[3:])
	c.propArgv = propVec(prop...)
	c.srv.notifyKeyspace(notifyGeneric, "expire", key, c.db.id)
	c.srv.dirty++
}

// alreadyExpired is Redis's checkAlreadyExpired: whether an expiry time at or before now
// deletes the key at once. Only a master that is not loading deletes it. A replica sets the
// past time anyway and waits for its master's DEL, and so does the AOF being replayed: the
// command may be applied late, after writes made before the time passed (an APPEND that
// keeps the TTL), which would find no key and create another one.
func (s *Server) alreadyExpired(when int64) bool {
	return when <= s.now && !s.isReplica() && !s.persist.load.active
}

func expireCommand(c *Client)    { expireGeneric(c, c.srv.now, true) }
func pexpireCommand(c *Client)   { expireGeneric(c, c.srv.now, false) }
func expireatCommand(c *Client)  { expireGeneric(c, 0, true) }
func pexpireatCommand(c *Client) { expireGeneric(c, 0, false) }

// ttlGeneric implements TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func ttlGeneric(c *Client, ms, abs bool) {
	r, ok := c.db.lookupNoTouch(c.argv[1])
	if !ok {
		c.w.Int(-2)
		return
	}
	at := c.db.ks.ExpireAt(r)
	if at == keyspace.NoExpire {
		c.w.Int(-1)
		return
	}
	t := at
	if !abs {
		t = max(at-c.srv.now, 0)
	}
	if !ms {
		t = (t + 500) / 1000
	}
	c.w.Int(t)
}

func ttlCommand(c *Client)         { ttlGeneric(c, false, false) }
func pttlCommand(c *Client)        { ttlGeneric(c, true, false) }
func expiretimeCommand(c *Client)  { ttlGeneric(c, false, true) }
func pexpiretimeCommand(c *Client) { ttlGeneric(c, true, true) }

func persistCommand(c *Client) {
	key := c.argv[1]
	r, ok := c.db.lookupWrite(key)
	if !ok || c.db.ks.ExpireAt(r) == keyspace.NoExpire {
		c.w.Int(0)
		return
	}
	c.db.ks.SetExpireAt(r, keyspace.NoExpire)
	c.srv.notifyKeyspace(notifyGeneric, "persist", key, c.db.id)
	c.srv.dirty++
	c.w.Int(1)
}

func renameGeneric(c *Client, nx bool) {
	src, dst := c.argv[1], c.argv[2]
	if _, ok := c.db.lookupWrite(src); !ok {
		c.w.Error(errNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		// renaming a key to itself changes nothing, not even the dirty counter
		if nx {
			c.w.Int(0)
		} else {
			c.w.OK()
		}
		return
	}
	if _, exists := c.db.lookupWrite(dst); exists && nx {
		c.w.Int(0)
		return
	}
	// The destination lookup may have expired a key: look the source up again.
	r, _ := c.db.ks.Lookup(src)
	c.db.ks.Rename(r, dst, keySlot(dst))
	// Redis deletes an existing destination and adds it afresh: "new" fires either way.
	c.srv.notifyKeyspace(notifyNew, "new", dst, c.db.id)
	c.srv.notifyKeyspace(notifyGeneric, "rename_from", src, c.db.id)
	c.srv.notifyKeyspace(notifyGeneric, "rename_to", dst, c.db.id)
	c.srv.dirty++
	if nx {
		c.w.Int(1)
	} else {
		c.w.OK()
	}
}

func renameCommand(c *Client)   { renameGeneric(c, false) }
func renamenxCommand(c *Client) { renameGeneric(c, true) }

func keysCommand(c *Client) {
	pattern := c.argv[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	ks := c.db.ks
	d := c.w.Defer()
	n := 0
	ks.ForEach(func(r keyspace.Ref) bool {
		key := ks.Key(r)
		// KEYS hides expired keys but leaves deleting them to others.
		if (all || glob.Match(pattern, key, false)) && !c.db.expired(r) {
			c.w.Bulk(key)
			n++
		}
		return true
	})
	c.w.FillArray(d, n)
}

// parseScanCursor reads a cursor the way Redis's strtoul-based parser does: an optional
// sign (a negative cursor wraps around), no leading space, nothing after the digits, no
// overflow; the empty string is cursor 0.
func parseScanCursor(b []byte) (uint64, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i] // C stops at the NUL
	}
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	i := 0
	switch b[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 || v > (math.MaxUint64-uint64(d))/10 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

func scanCommand(c *Client) {
	cursor, ok := parseScanCursor(c.argv[1])
	if !ok {
		c.w.Error(errInvalidCursor)
		return
	}
	count := int64(10)
	var pattern, typ []byte
	usePattern, useType := false, false
	for i := 2; i < len(c.argv); i += 2 {
		more := len(c.argv) - i
		a := c.argv[i]
		switch {
		case argEq(a, "count") && more >= 2:
			v, ok := num.ParseInt64(c.argv[i+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			if v < 1 {
				c.w.Error(errSyntax)
				return
			}
			count = v
		case argEq(a, "match") && more >= 2:
			pattern = c.argv[i+1]
			usePattern = !(len(pattern) == 1 && pattern[0] == '*')
		case argEq(a, "type") && more >= 2:
			typ, useType = c.argv[i+1], true
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	ks := c.db.ks
	// Visit buckets until COUNT keys were seen (matching or not), giving up after ten
	// times as many buckets so a sparse table cannot stall the server.
	var keys [][]byte
	seen := int64(0)
	iterations := count * 10
	if count > math.MaxInt64/10 {
		iterations = math.MaxInt64
	}
	for {
		cursor = ks.Scan(cursor, func(r keyspace.Ref) {
			seen++
			key := ks.Key(r)
			if !usePattern || glob.Match(pattern, key, false) {
				keys = append(keys, bytes.Clone(key))
			}
		})
		if cursor == 0 || iterations == 0 || seen >= count {
			break
		}
		iterations--
	}
	// Type and expiry filters look keys up, which may delete expired ones: keys were copied.
	out := keys[:0]
	for _, key := range keys {
		if useType {
			r, ok := c.db.lookupNoTouch(key)
			if !ok || !strings.EqualFold(string(typ), typeName(ks.Type(r))) {
				continue
			}
		}
		if _, ok := c.db.exists(key); !ok {
			continue
		}
		out = append(out, key)
	}
	c.w.Array(2)
	c.w.BulkInt(int64(cursor)) // a cursor above 2^63 prints negative, as Redis's does
	c.w.Array(len(out))
	for _, key := range out {
		c.w.Bulk(key)
	}
}

func randomkeyCommand(c *Client) {
	ks := c.db.ks
	for {
		r, ok := ks.RandomKey(rand.IntN)
		if !ok {
			c.w.Null()
			return
		}
		if c.db.expired(r) {
			// Every try deletes a key, so this ends.
			c.db.deleteExpired(bytes.Clone(ks.Key(r)), r)
			continue
		}
		c.w.Bulk(ks.Key(r))
		return
	}
}

func copyCommand(c *Client) {
	src, dst := c.db, c.db
	replace := false
	for j := 3; j < len(c.argv); j++ {
		a := c.argv[j]
		switch {
		case argEq(a, "replace"):
			replace = true
		case argEq(a, "db") && j+1 < len(c.argv):
			id, ok := parseInt32(c, c.argv[j+1], "")
			if !ok {
				return
			}
			if id < 0 || id >= len(c.srv.dbs) {
				c.w.Error(errDBIndex)
				return
			}
			dst = c.srv.dbs[id]
			j++
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if c.srv.cfgBool("cluster-enabled") && (src.id != 0 || dst.id != 0) {
		c.w.Error(errCopyCluster)
		return
	}
	key, newKey := c.argv[1], c.argv[2]
	if src == dst && bytes.Equal(key, newKey) {
		c.w.Error(errSameObject)
		return
	}
	if _, ok := src.lookupRead(key); !ok {
		c.w.Int(0)
		return
	}
	_, exists := dst.lookupWrite(newKey)
	if exists && !replace {
		c.w.Int(0)
		return
	}
	if exists {
		// REPLACE deletes the old value and adds the copy afresh, so "new" fires (Redis's
		// dbDelete + dbAdd).
		dst.delete(newKey)
	}
	// The destination lookup may have expired a key: look the source up again.
	r, _ := src.ks.Lookup(key)
	typ, enc, at := src.ks.Type(r), src.ks.Enc(r), src.ks.ExpireAt(r)
	var nr keyspace.Ref
	if typ == keyspace.TypeString {
		nr = dst.setString(newKey, bytes.Clone(src.ks.Str(r)), enc, false)
	} else {
		cl, ok := src.ks.Obj(r).(valueCloner)
		if !ok {
			c.w.Error(errCopyUnsupported)
			return
		}
		nr = dst.setObj(newKey, typ, enc, cl.CloneValue())
	}
	if at != keyspace.NoExpire {
		dst.ks.SetExpireAt(nr, at)
	}
	c.srv.notifyKeyspace(notifyGeneric, "copy_to", newKey, dst.id)
	c.srv.dirty++
	c.w.Int(1)
}

// isLFU and isLRU classify maxmemory-policy.
func (s *Server) isLFU() bool { return strings.HasSuffix(s.cfgStr("maxmemory-policy"), "-lfu") }
func (s *Server) isLRU() bool { return strings.HasSuffix(s.cfgStr("maxmemory-policy"), "-lru") }

// sharedIntsEnabled reports whether Redis would store small integers as shared objects:
// always, unless a maxmemory limit is set with an LRU or LFU policy (they need a per-key
// access field).
func (s *Server) sharedIntsEnabled() bool {
	return s.cfgInt("maxmemory") == 0 || !(s.isLFU() || s.isLRU())
}

// refcount is what OBJECT REFCOUNT reports: Redis's shared integers 0..9999 report
// INT_MAX, every other value 1.
func (s *Server) refcount(ks *keyspace.DB, r keyspace.Ref) int64 {
	if ks.Type(r) != keyspace.TypeString || ks.Enc(r) != encInt || !s.sharedIntsEnabled() {
		return 1
	}
	v, ok := num.ParseInt64(ks.Str(r))
	if ok && v >= 0 && v < sharedIntegers {
		return sharedRefcount
	}
	return 1
}

// lfuCounter decodes an LFU access field (minutes<<8 | log counter) and applies the decay
// of lfu-decay-time, as OBJECT FREQ reports it.
func (s *Server) lfuCounter(clock uint32) int64 {
	ldt := int64(clock >> 8 & 0xffff)
	counter := int64(clock & 0xff)
	decay := s.cfgInt("lfu-decay-time")
	if decay <= 0 {
		return counter
	}
	now := s.now / 60000 & 0xffff
	elapsed := now - ldt
	if now < ldt {
		elapsed = 0xffff - ldt + now
	}
	return max(counter-elapsed/decay, 0)
}

func objectLookup(c *Client) (keyspace.Ref, bool) {
	r, ok := c.db.lookupNoNotify(c.argv[2])
	if !ok {
		c.w.Null()
	}
	return r, ok
}

func objectEncodingCommand(c *Client) {
	if r, ok := objectLookup(c); ok {
		c.w.BulkString(encodingName(c.db.ks, r))
	}
}

func objectRefcountCommand(c *Client) {
	if r, ok := objectLookup(c); ok {
		c.w.Int(c.srv.refcount(c.db.ks, r))
	}
}

func objectIdletimeCommand(c *Client) {
	r, ok := objectLookup(c)
	if !ok {
		return
	}
	if c.srv.isLFU() {
		c.w.Error(errLFUSelected)
		return
	}
	c.w.Int(c.srv.idleMs(c.db.ks.Clock(r)) / 1000)
}

func objectFreqCommand(c *Client) {
	r, ok := objectLookup(c)
	if !ok {
		return
	}
	if !c.srv.isLFU() {
		c.w.Error(errLFUNotSelected)
		return
	}
	c.w.Int(c.srv.lfuCounter(c.db.ks.Clock(r)))
}

// replyHelp sends a HELP text as Redis does: one simple string per line under a header.
func replyHelp(c *Client, lines []string) {
	c.w.Array(len(lines) + 1)
	c.w.Status(strings.ToUpper(c.cmd.Parent.FullName) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.w.Status(l)
	}
}

func objectHelpCommand(c *Client) {
	replyHelp(c, []string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	})
}

func memoryHelpCommand(c *Client) {
	replyHelp(c, []string{
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
		"HELP",
		"    Prints this help.",
	})
}

// keyMemoryUsage estimates the bytes r costs: its keyspace entry and record, plus the
// collection behind it.
func keyMemoryUsage(ks *keyspace.DB, r keyspace.Ref, samples int) int {
	n := ks.MemoryUsage(r)
	if sz, ok := ks.Obj(r).(valueSizer); ok {
		n += sz.MemoryUsage(samples)
	}
	return n
}

func memoryUsageCommand(c *Client) {
	samples := int64(5)
	for j := 3; j < len(c.argv); j++ {
		if !argEq(c.argv[j], "samples") || j+1 >= len(c.argv) {
			c.w.Error(errSyntax)
			return
		}
		v, ok := num.ParseInt64(c.argv[j+1])
		if !ok {
			c.w.Error(errNotInt)
			return
		}
		if v < 0 {
			c.w.Error(errSyntax)
			return
		}
		samples = v
		j++
	}
	if samples > math.MaxInt32 {
		samples = 0
	}
	// MEMORY USAGE looks at the dictionary directly: a logically expired key still counts.
	r, ok := c.db.ks.Lookup(c.argv[2])
	if !ok {
		c.w.Null()
		return
	}
	c.w.Int(int64(keyMemoryUsage(c.db.ks, r, int(samples))))
}

// datasetBytes sums what the keyspaces hold, for MEMORY STATS and DOCTOR.
func (s *Server) datasetBytes() (bytes int64, keys int64) {
	for _, db := range s.dbs {
		st := db.ks.Stats()
		bytes += st.ArenaBytes + st.SideBytes + int64(st.Buckets)*4
		keys += int64(st.Keys)
	}
	return bytes, keys
}

func memoryStatsCommand(c *Client) {
	s := c.srv
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total := int64(ms.HeapAlloc)
	peak := max(s.stats.peakMemory, total)
	dataset, keys := s.datasetBytes()
	var dbs []*DB
	for _, db := range s.dbs {
		if db.ks.Len() > 0 {
			dbs = append(dbs, db)
		}
	}
	var overhead int64
	for _, db := range dbs {
		st := db.ks.Stats()
		overhead += int64(st.Buckets)*4 + int64(st.Expires)*4
	}
	clients := int64(len(s.clients)) * 1024
	overhead += clients
	pct := func(a, b int64) float64 {
		if b <= 0 {
			return 0
		}
		return float64(a) * 100 / float64(b)
	}
	ratio := func(a, b uint64) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	w := &c.w
	w.Map(27 + len(dbs))
	kv := func(k string, v int64) { w.BulkString(k); w.Int(v) }
	kd := func(k string, v float64) { w.BulkString(k); w.Double(v) }
	kv("peak.allocated", peak)
	kv("total.allocated", total)
	kv("startup.allocated", 0)
	kv("replication.backlog", 0)
	kv("clients.slaves", 0)
	kv("clients.normal", clients)
	kv("cluster.links", 0)
	kv("aof.buffer", 0)
	kv("lua.caches", 0)
	kv("functions.caches", 0)
	for _, db := range dbs {
		st := db.ks.Stats()
		w.BulkString(fmt.Sprintf("db.%d", db.id))
		w.Map(3)
		kv("overhead.hashtable.main", int64(st.Buckets)*4+int64(st.Keys)*40)
		kv("overhead.hashtable.expires", int64(st.Expires)*4)
		kv("overhead.hashtable.slot-to-keys", 0)
	}
	kv("overhead.total", overhead)
	kv("keys.count", keys)
	if keys > 0 {
		kv("keys.bytes-per-key", dataset/keys)
	} else {
		kv("keys.bytes-per-key", 0)
	}
	kv("dataset.bytes", dataset)
	kd("dataset.percentage", pct(dataset, total))
	kd("peak.percentage", pct(total, peak))
	kv("allocator.allocated", int64(ms.HeapAlloc))
	kv("allocator.active", int64(ms.HeapInuse))
	kv("allocator.resident", int64(ms.HeapSys-ms.HeapReleased))
	kd("allocator-fragmentation.ratio", ratio(ms.HeapInuse, ms.HeapAlloc))
	kv("allocator-fragmentation.bytes", int64(ms.HeapInuse)-int64(ms.HeapAlloc))
	kd("allocator-rss.ratio", ratio(ms.HeapSys-ms.HeapReleased, ms.HeapInuse))
	kv("allocator-rss.bytes", int64(ms.HeapSys-ms.HeapReleased)-int64(ms.HeapInuse))
	kd("rss-overhead.ratio", ratio(ms.Sys-ms.HeapReleased, ms.HeapSys-ms.HeapReleased))
	kv("rss-overhead.bytes", int64(ms.Sys)-int64(ms.HeapSys))
	kd("fragmentation", ratio(ms.Sys-ms.HeapReleased, ms.HeapAlloc))
	kv("fragmentation.bytes", int64(ms.Sys-ms.HeapReleased)-int64(ms.HeapAlloc))
}

func memoryDoctorCommand(c *Client) {
	dataset, _ := c.srv.datasetBytes()
	if dataset < memoryDoctorEmptyMax {
		c.w.Verbatim("txt", "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n")
		return
	}
	c.w.Verbatim("txt", "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n")
}

func memoryMallocStatsCommand(c *Client) {
	c.w.Verbatim("txt", "Stats not supported for the current allocator") // Redis replies verbatim text
}

func memoryPurgeCommand(c *Client) {
	runtime.GC()
	c.w.OK()
}

func init() {
	register(map[string]func(*Client){
		"del":                 delCommand,
		"unlink":              unlinkCommand,
		"exists":              existsCommand,
		"type":                typeCommand,
		"touch":               touchCommand,
		"expire":              expireCommand,
		"pexpire":             pexpireCommand,
		"expireat":            expireatCommand,
		"pexpireat":           pexpireatCommand,
		"ttl":                 ttlCommand,
		"pttl":                pttlCommand,
		"expiretime":          expiretimeCommand,
		"pexpiretime":         pexpiretimeCommand,
		"persist":             persistCommand,
		"rename":              renameCommand,
		"renamenx":            renamenxCommand,
		"keys":                keysCommand,
		"scan":                scanCommand,
		"randomkey":           randomkeyCommand,
		"copy":                copyCommand,
		"object|encoding":     objectEncodingCommand,
		"object|refcount":     objectRefcountCommand,
		"object|idletime":     objectIdletimeCommand,
		"object|freq":         objectFreqCommand,
		"object|help":         objectHelpCommand,
		"memory|usage":        memoryUsageCommand,
		"memory|stats":        memoryStatsCommand,
		"memory|doctor":       memoryDoctorCommand,
		"memory|malloc-stats": memoryMallocStatsCommand,
		"memory|purge":        memoryPurgeCommand,
		"memory|help":         memoryHelpCommand,
	})
}
