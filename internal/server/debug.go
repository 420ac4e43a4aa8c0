package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
)

// DEBUG: the subcommands test suites and tools rely on. DEBUG is one command (arity -2)
// whose first argument selects the action, as in Redis.

// debugAllowed applies enable-debug-command: "yes", or "local" for loopback and unix
// socket clients. Redis checks this in the gatekeeper for its protected commands; DEBUG is
// the only one sard has.
func (s *Server) debugAllowed(c *Client) bool {
	switch s.cfgStr("enable-debug-command") {
	case "yes":
		return true
	case "local":
		return fromLocalhost(c)
	}
	return false
}

// debugSyntaxError is Redis's reply to an unknown DEBUG subcommand or a known one with the
// wrong number of arguments; it names the subcommand as the client spelled it.
func debugSyntaxError(c *Client) {
	c.w.Error(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.", truncateArg(c.argv[1])))
}

func debugCommand(c *Client) {
	s := c.srv
	if !s.debugAllowed(c) {
		c.w.Error(errDebugDisabled)
		return
	}
	argc := len(c.argv)
	switch sub := strings.ToLower(string(c.argv[1])); {
	case sub == "help" && argc == 2:
		writeHelp(c, debugHelp)
	case sub == "sleep" && argc == 3:
		debugSleep(c)
	case sub == "set-active-expire" && argc == 3:
		// Redis reads the flag with atoi: anything non-numeric disables, any nonzero enables.
		v, _ := strconv.Atoi(leadingInt(string(c.argv[2])))
		s.activeExpireOff = v == 0
		c.w.OK()
	case sub == "populate" && argc >= 3 && argc <= 5:
		debugPopulate(c)
	case sub == "protocol" && argc == 3:
		debugProtocol(c)
	case sub == "object" && argc == 3:
		debugObject(c)
	case sub == "digest" && argc == 2:
		c.w.Status(s.datasetDigest().Hex())
	case sub == "digest-value" && argc >= 2:
		c.w.Array(argc - 2)
		for _, key := range c.argv[2:] {
			c.w.Status(c.db.valueDigest(key).Hex())
		}
	case sub == "change-repl-id" && argc == 2:
		s.log.Warningf("Changing replication IDs after receiving DEBUG change-repl-id")
		s.replID = randomHex(40)
		s.replID2 = strings.Repeat("0", 40)
		c.w.OK()
	case sub == "quicklist-packed-threshold" && argc == 3:
		v, ok := parseMemoryValue(string(c.argv[2]))
		// Redis refuses thresholds at or just below 4 GB; 0 restores the 1 GB default.
		if !ok || v > 1<<32-1<<20 {
			c.w.Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
			return
		}
		s.intro.quicklistPackedThreshold = int64(v)
		c.w.OK()
	case sub == "stringmatch-test" && argc == 2:
		debugStringMatchTest()
		c.w.Status("Apparently Redis did not crash: test passed")
	case sub == "log" && argc == 3:
		s.log.Warningf("DEBUG LOG: %s", c.argv[2])
		c.w.OK()
	case sub == "error" && argc == 3:
		c.w.Error(string(c.argv[2]))
	case sub == "reload" && argc >= 2:
		debugReload(c)
	case sub == "loadaof" && argc >= 2:
		debugLoadAOF(c)
	default:
		debugSyntaxError(c)
	}
}

// debugReload is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save (unless NOSAVE), empty the
// dataset (unless NOFLUSH or MERGE), load dbfilename (MERGE: a loaded key replaces a
// present one instead of failing the load). The load runs in the LOADING state, other
// clients being answered -LOADING meanwhile (startLoadingFor); a reload during another load
// (or a replica's async load) is refused with -LOADING, where Redis would run it inside.
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
	if s.persist.load.running() {
		c.w.Error(errLoading)
		return
	}
	s.bgsaveFinishSync()
	if save && !s.saveForClient(c) {
		return
	}
	if flush { // MERGE only lets the file's keys replace existing ones, as in Redis
		for _, db := range s.dbs {
			flushDB(db)
		}
	}
	name := s.rdbFilename()
	var size int64
	if st, err := os.Stat(name); err == nil {
		size = st.Size()
	}
	s.startLoadingFor(c, size)
	err := s.loadRDB(name, merge || !flush, merge)
	if s.persist.load.aborted {
		// A shutdown came meanwhile: the state stays until the process exits, so nothing
		// saves the half-loaded dataset.
		c.w.Error("ERR Error trying to load the RDB dump, check server logs.")
		return
	}
	s.stopLoading()
	if err != nil {
		s.log.Warningf("Error loading the RDB: %v", err)
		c.w.Error("ERR Error trying to load the RDB dump, check server logs.")
		return
	}
	s.log.Warningf("DB reloaded by DEBUG RELOAD")
	c.w.OK()
}

// debugLoadAOF is DEBUG LOADAOF: write out the AOF, empty the dataset and load the AOF
// again, in the LOADING state as DEBUG RELOAD.
func debugLoadAOF(c *Client) {
	s := c.srv
	if s.persist.load.running() {
		c.w.Error(errLoading)
		return
	}
	if s.aof.w != nil {
		s.prop.flush()
		s.aof.w.writeOnce(true)
	}
	for _, db := range s.dbs {
		flushDB(db)
	}
	s.startLoadingFor(c, 0)
	err := s.loadAppendOnlyFiles()
	if s.persist.load.aborted {
		c.w.Error("ERR Error loading the AOF: " + errLoadAborted.Error())
		return
	}
	s.stopLoading()
	if err != nil {
		c.w.Error("ERR Error loading the AOF: " + err.Error())
		return
	}
	s.dirty = 0
	s.log.Warningf("Append Only File loaded by DEBUG LOADAOF")
	c.w.OK()
}

// QuicklistPackedThreshold is the size from which list elements are stored as plain nodes
// (DEBUG QUICKLIST-PACKED-THRESHOLD); Redis's default is 1 GB.
func (s *Server) quicklistPackedThreshold() int64 {
	if s.intro.quicklistPackedThreshold == 0 {
		return 1 << 30
	}
	return s.intro.quicklistPackedThreshold
}

// leadingInt returns the optional sign and digits atoi would read.
func leadingInt(s string) string {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end > 9 {
		end = 9 // stays within int on every platform; DEBUG flags are small
	}
	return s[:end]
}

// parseMemoryValue reads a Redis memory value: digits with an optional unit, b, k, kb, m,
// mb, g, gb in any case (k = 1000, kb = 1024).
func parseMemoryValue(s string) (uint64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	mul := map[string]uint64{"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 * 1000,
		"mb": 1024 * 1024, "g": 1000 * 1000 * 1000, "gb": 1024 * 1024 * 1024}[strings.ToLower(s[i:])]
	if mul == 0 || n > math.MaxUint64/mul {
		return 0, false
	}
	return n * mul, true
}

// debugSleep blocks the whole server, lock held, as Redis's single thread does.
func debugSleep(c *Client) {
	secs, _ := strconv.ParseFloat(leadingFloat(string(c.argv[2])), 64)
	if secs > 0 {
		time.Sleep(time.Duration(min(secs, float64(math.MaxInt64)/float64(time.Second)) * float64(time.Second)))
	}
	c.w.OK()
}

// leadingFloat is the prefix strtod would read, for DEBUG SLEEP's lenient parsing.
func leadingFloat(s string) string {
	s = strings.TrimSpace(s)
	best := ""
	for i := 1; i <= len(s) && i <= 32; i++ {
		if _, err := strconv.ParseFloat(s[:i], 64); err == nil {
			best = s[:i]
		}
	}
	return best
}

// debugPopulate creates count string keys prefix:N holding "value:N", padded with zero
// bytes or cut to size when a size is given. Existing keys are left alone; like Redis it
// neither counts as a change nor propagates.
func debugPopulate(c *Client) {
	count, ok := parsePositive(c.argv[2])
	if !ok {
		c.w.Error("ERR value is out of range, must be positive")
		return
	}
	prefix := "key"
	if len(c.argv) >= 4 {
		prefix = string(c.argv[3])
	}
	size := int64(0)
	if len(c.argv) == 5 {
		if size, ok = parsePositive(c.argv[4]); !ok {
			c.w.Error("ERR value is out of range, must be positive")
			return
		}
		if size > c.srv.hot.protoMaxBulk.Get() {
			c.w.Error(errStringTooLong)
			return
		}
	}
	var key, val []byte
	for j := int64(0); j < count; j++ {
		key = strconv.AppendInt(append(append(key[:0], prefix...), ':'), j, 10)
		if _, exists := c.db.lookupWrite(key); exists {
			continue
		}
		val = strconv.AppendInt(append(val[:0], "value:"...), j, 10)
		if size > 0 {
			if int64(len(val)) > size {
				val = val[:size]
			}
			for int64(len(val)) < size {
				val = append(val, 0)
			}
		}
		// Redis stores these unencoded: never int, embstr or raw by length.
		enc := encRaw
		if len(val) <= embstrMax {
			enc = encEmbstr
		}
		c.db.setString(key, val, enc, false)
	}
	c.w.OK()
}

// parsePositive is Redis's getPositiveLongFromObject: an integer >= 0.
func parsePositive(b []byte) (int64, bool) {
	v, ok := num.ParseInt64(b)
	return v, ok && v >= 0
}

// debugProtocol replies one sample of each RESP3 type; the writer downgrades each for
// RESP2 clients as Redis does.
func debugProtocol(c *Client) {
	w := &c.w
	switch strings.ToLower(string(c.argv[2])) {
	case "string":
		w.BulkString("Hello World")
	case "integer":
		w.Int(12345)
	case "double":
		w.Double(3.141)
	case "bignum":
		w.BigNumber("1234567999999999999999999999999999999")
	case "null":
		w.Null()
	case "array":
		w.Array(3)
		for j := int64(0); j < 3; j++ {
			w.Int(j)
		}
	case "set":
		w.Set(3)
		for j := int64(0); j < 3; j++ {
			w.Int(j)
		}
	case "map":
		w.Map(3)
		for j := int64(0); j < 3; j++ {
			w.Int(j)
			w.Bool(j == 1)
		}
	case "attrib":
		// RESP2 has no attributes: the client only sees the reply that follows.
		if w.Proto >= 3 {
			w.Attribute(1)
			w.BulkString("key-popularity")
			w.Array(2)
			w.BulkString("key:123")
			w.Int(90)
		}
		w.BulkString("Some real reply following the attribute")
	case "push":
		if w.Proto < 3 {
			w.Error("ERR RESP2 is not supported by this command")
			return
		}
		w.Push(2)
		w.BulkString("server-cpu-usage")
		w.Int(42)
		w.BulkString("Some real reply following the push reply")
	case "verbatim":
		w.Verbatim("txt", "This is a verbatim\nstring")
	case "true":
		w.Bool(true)
	case "false":
		w.Bool(false)
	default:
		w.Error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
}

// debugObject prints Redis's low-level line for a key. It reads the dictionary directly:
// logically expired keys are shown and nothing is touched or counted. The address is the
// key's entry handle, not a pointer, which is the one field that cannot match Redis.
func debugObject(c *Client) {
	s := c.srv
	ks := c.db.ks
	r, ok := ks.Lookup(c.argv[2])
	if !ok {
		c.w.Error(errNoSuchKey)
		return
	}
	clock := ks.Clock(r)
	line := fmt.Sprintf("Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
		0x7f0000000000+uint64(r)*64, s.refcount(ks, r), encodingName(ks, r), serializedLength(ks, r),
		clock, s.idleMs(clock)/1000)
	switch ks.Type(r) {
	case keyspace.TypeString:
	default:
		// Lists add their quicklist figures here (ql_nodes, ql_avg_node, ...) when they land.
		if d, ok := ks.Obj(r).(debugObjectExtra); ok {
			line += d.DebugObjectExtra()
		}
	}
	c.w.Status(line)
}

// debugObjectExtra is implemented by collection values that add fields to DEBUG OBJECT.
type debugObjectExtra interface{ DebugObjectExtra() string }

// serializedSizer is implemented by collection values that know their RDB size.
type serializedSizer interface{ SerializedLength() int }

// serializedLength is the size of the value's RDB encoding, as DEBUG OBJECT reports it.
// Strings are exact except that Redis LZF-compresses strings over 20 bytes when that
// saves space; sard reports those uncompressed until the RDB writer brings LZF.
func serializedLength(ks *keyspace.DB, r keyspace.Ref) int {
	if ks.Type(r) != keyspace.TypeString {
		if sz, ok := ks.Obj(r).(serializedSizer); ok {
			return sz.SerializedLength()
		}
		return 0
	}
	return rdbStringLen(ks.Str(r))
}

// rdbStringLen is the RDB size of a string: small integers get the 2, 3 or 5 byte integer
// encodings, everything else a length prefix and the bytes.
func rdbStringLen(v []byte) int {
	if len(v) <= 11 {
		if n, ok := strictInt(v); ok {
			switch {
			case n >= math.MinInt8 && n <= math.MaxInt8:
				return 2
			case n >= math.MinInt16 && n <= math.MaxInt16:
				return 3
			case n >= math.MinInt32 && n <= math.MaxInt32:
				return 5
			}
		}
	}
	return rdbLenLen(len(v)) + len(v)
}

// strictInt parses v as an integer only if printing it back gives v again.
func strictInt(v []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != string(v) {
		return 0, false
	}
	return n, true
}

func rdbLenLen(n int) int {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case uint64(n) <= math.MaxUint32:
		return 5
	}
	return 9
}

// valueDigester is implemented by collection values: their DEBUG DIGEST contribution.
type valueDigester interface {
	Digest(start digest.Start, expireAt int64) digest.Digest
}

// keyDigest digests one key's value from start (digest.ForKey for DEBUG DIGEST,
// digest.ForValue for DIGEST-VALUE).
func keyDigest(ks *keyspace.DB, r keyspace.Ref, start digest.Start) digest.Digest {
	exp := ks.ExpireAt(r)
	if exp == keyspace.NoExpire {
		exp = digest.NoExpire
	}
	switch ks.Type(r) {
	case keyspace.TypeString:
		return start.String(ks.Str(r), exp)
	default:
		// Lists, sets, hashes, sorted sets and streams digest themselves as they land.
		if d, ok := ks.Obj(r).(valueDigester); ok {
			return d.Digest(start, exp)
		}
		return digest.Digest{}
	}
}

// datasetDigest is DEBUG DIGEST: every key of every database, logically expired ones
// included, as Redis walks its dictionaries.
func (s *Server) datasetDigest() digest.Digest {
	var ds digest.Dataset
	for _, db := range s.dbs {
		ks := db.ks
		ks.ForEach(func(r keyspace.Ref) bool {
			ds.Add(db.id, keyDigest(ks, r, digest.ForKey(ks.Key(r))))
			return true
		})
	}
	return ds.Sum()
}

// valueDigest is DEBUG DIGEST-VALUE for one key; a missing key digests to zeros.
func (db *DB) valueDigest(key []byte) digest.Digest {
	r, ok := db.ks.Lookup(key)
	if !ok {
		return digest.Digest{}
	}
	return keyDigest(db.ks, r, digest.ForValue())
}

// debugStringMatchTest runs random patterns and strings through the glob matcher, which
// must neither panic nor run away; a bounded version of Redis's fuzz test.
func debugStringMatchTest() {
	const alphabet = "ab*?[]^-\\\x00xyz"
	buf := make([]byte, 64)
	rnd := func(n int) []byte {
		b := buf[:rand.IntN(n)]
		for i := range b {
			b[i] = alphabet[rand.IntN(len(alphabet))]
		}
		return b
	}
	for range 100_000 {
		p := append([]byte(nil), rnd(32)...)
		glob.Match(p, rnd(32), rand.IntN(2) == 0)
	}
}

var debugHelp = []string{
	"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANGE-REPL-ID",
	"    Give the server new replication IDs (for replication tests).",
	"DIGEST",
	"    Print a hex checksum of the whole dataset.",
	"DIGEST-VALUE <key> [<key> ...]",
	"    Print a hex checksum of the value of each key.",
	"ERROR <string>",
	"    Reply with <string> as an error.",
	"LOG <message>",
	"    Write <message> to the server log.",
	"OBJECT <key>",
	"    Show low-level information about the value at <key>.",
	"POPULATE <count> [<prefix>] [<size>]",
	"    Create <count> string keys <prefix>:<num> (prefix 'key' by default) holding",
	"    value:<num>, padded or cut to <size> bytes if given. Existing keys are kept.",
	"    Not propagated to replicas or the AOF.",
	"PROTOCOL <type>",
	"    Reply with a sample of <type>: string, integer, double, bignum, null, array,",
	"    set, map, attrib, push, verbatim, true, false.",
	"QUICKLIST-PACKED-THRESHOLD <size>",
	"    Size from which list elements are stored as plain nodes (0: the 1gb default).",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    0 stops expiring keys in the background; 1 starts again.",
	"SLEEP <seconds>",
	"    Block the whole server for <seconds> (decimals allowed).",
	"STRINGMATCH-TEST",
	"    Run random patterns through the glob matcher.",
	"HELP",
	"    Print this help.",
}

func init() {
	register(map[string]func(*Client){
		"debug": debugCommand,
	})
}
