package server

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
)

// String commands: SET and its variants, GET and its variants, ranges, counters and LCS.

// Flags of SET and GETEX options, as Redis's parseExtendedStringArgumentsOrReply tracks them.
const (
	optNX = 1 << iota
	optXX
	optGet
	optKeepTTL
	optPersist
	optEX
	optPX
	optEXAT
	optPXAT

	optAnyExpire = optEX | optPX | optEXAT | optPXAT
)

// setOpts is the parsed tail of SET or GETEX.
type setOpts struct {
	flags  int
	expire []byte // the EX/PX/EXAT/PXAT argument, nil when none
}

// argEq compares an argument with a lower-case option name, ignoring ASCII case.
func argEq(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// parseStringOpts parses SET's options (forSet) or GETEX's from argv[start:]. Repeating an
// option is accepted and the last expiry wins; conflicting ones are a syntax error, as in
// Redis.
func parseStringOpts(c *Client, start int, forSet bool) (setOpts, bool) {
	var o setOpts
	argv := c.argv
	for j := start; j < len(argv); j++ {
		a := argv[j]
		hasNext := j+1 < len(argv)
		f := o.flags
		switch {
		case forSet && argEq(a, "nx") && f&optXX == 0:
			o.flags |= optNX
		case forSet && argEq(a, "xx") && f&optNX == 0:
			o.flags |= optXX
		case forSet && argEq(a, "get"):
			o.flags |= optGet
		case forSet && argEq(a, "keepttl") && f&(optPersist|optAnyExpire) == 0:
			o.flags |= optKeepTTL
		case !forSet && argEq(a, "persist") && f&(optKeepTTL|optAnyExpire) == 0:
			o.flags |= optPersist
		case argEq(a, "ex") && hasNext && f&(optKeepTTL|optPersist|optAnyExpire&^optEX) == 0:
			o.flags |= optEX
			o.expire = argv[j+1]
			j++
		case argEq(a, "px") && hasNext && f&(optKeepTTL|optPersist|optAnyExpire&^optPX) == 0:
			o.flags |= optPX
			o.expire = argv[j+1]
			j++
		case argEq(a, "exat") && hasNext && f&(optKeepTTL|optPersist|optAnyExpire&^optEXAT) == 0:
			o.flags |= optEXAT
			o.expire = argv[j+1]
			j++
		case argEq(a, "pxat") && hasNext && f&(optKeepTTL|optPersist|optAnyExpire&^optPXAT) == 0:
			o.flags |= optPXAT
			o.expire = argv[j+1]
			j++
		default:
			c.w.Error(errSyntax)
			return o, false
		}
	}
	return o, true
}

// replyInvalidExpire sends "invalid expire time in '<cmd>' command".
func replyInvalidExpire(c *Client) {
	c.w.Error(fmt.Sprintf(errInvalidExpire, c.cmd.FullName))
}

// expireArgMs turns an EX/PX/EXAT/PXAT argument into an absolute unix time in ms. Zero and
// negative values, and anything that overflows once scaled or made absolute, are refused.
func expireArgMs(c *Client, arg []byte, flags int) (int64, bool) {
	v, ok := num.ParseInt64(arg)
	if !ok {
		c.w.Error(errNotInt)
		return 0, false
	}
	seconds := flags&(optEX|optEXAT) != 0
	if v <= 0 || (seconds && v > math.MaxInt64/1000) {
		replyInvalidExpire(c)
		return 0, false
	}
	if seconds {
		v *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		if v > math.MaxInt64-c.srv.now {
			replyInvalidExpire(c)
			return 0, false
		}
		v += c.srv.now
	}
	return v, true
}

// propVec builds an argv for the propagation stream from fresh copies of parts.
func propVec(parts ...[]byte) [][]byte {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		out[i] = append([]byte{}, p...)
	}
	return out
}

func msBytes(ms int64) []byte { return strconv.AppendInt(nil, ms, 10) }

// Reply styles of setGeneric: SET answers OK or null, SETNX 1 or 0.
const (
	setReplyOK = iota
	setReplyInt
)

// setGeneric is the one path SET, SETNX, SETEX and PSETEX take.
func setGeneric(c *Client, o setOpts, key, val []byte, style int) {
	var when int64
	if o.expire != nil {
		var ok bool
		if when, ok = expireArgMs(c, o.expire, o.flags); !ok {
			return
		}
	}
	if o.flags&optGet != 0 {
		if ok, _ := getGeneric(c, key); !ok {
			return
		}
	}
	_, found := c.db.lookupWrite(key)
	if (o.flags&optNX != 0 && found) || (o.flags&optXX != 0 && !found) {
		if o.flags&optGet == 0 {
			if style == setReplyInt {
				c.w.Int(0)
			} else {
				c.w.Null()
			}
		}
		return
	}
	r := c.db.setString(key, val, stringEncoding(val), o.flags&optKeepTTL != 0)
	c.srv.dirty++
	c.srv.notifyKeyspace(notifyString, "set", key, c.db.id)
	if o.expire != nil {
		c.db.ks.SetExpireAt(r, when)
		c.srv.notifyKeyspace(notifyGeneric, "expire", key, c.db.id)
		// Redis propagates any relative or absolute expiry as SET key val PXAT <ms>.
		c.propArgv = propVec([]byte("SET"), key, val, []byte("PXAT"), msBytes(when))
	}
	if o.flags&optGet == 0 {
		if style == setReplyInt {
			c.w.Int(1)
		} else {
			c.w.OK()
		}
	} else if o.expire == nil {
		// SET ... GET propagates without its GET arguments.
		var argv [][]byte
		for j, a := range c.argv {
			if j >= 3 && argEq(a, "get") {
				continue
			}
			argv = append(argv, a)
		}
		c.propArgv = propVec(argv...)
	}
}

// getGeneric replies with key's string value or null. It reports false after replying
// WRONGTYPE, and whether the key exists.
func getGeneric(c *Client, key []byte) (ok, found bool) {
	r, found := c.db.lookupRead(key)
	if !found {
		c.w.Null()
		return true, false
	}
	if c.db.ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return false, true
	}
	c.w.Bulk(c.db.ks.Str(r))
	return true, true
}

func setCommand(c *Client) {
	o, ok := parseStringOpts(c, 3, true)
	if !ok {
		return
	}
	setGeneric(c, o, c.argv[1], c.argv[2], setReplyOK)
}

func setnxCommand(c *Client) {
	setGeneric(c, setOpts{flags: optNX}, c.argv[1], c.argv[2], setReplyInt)
}

func setexCommand(c *Client) {
	setGeneric(c, setOpts{flags: optEX, expire: c.argv[2]}, c.argv[1], c.argv[3], setReplyOK)
}

func psetexCommand(c *Client) {
	setGeneric(c, setOpts{flags: optPX, expire: c.argv[2]}, c.argv[1], c.argv[3], setReplyOK)
}

func getCommand(c *Client) { getGeneric(c, c.argv[1]) }

func getexCommand(c *Client) {
	o, ok := parseStringOpts(c, 2, false)
	if !ok {
		return
	}
	key := c.argv[1]
	r, found := c.db.lookupRead(key)
	if !found {
		c.w.Null()
		return
	}
	ks := c.db.ks
	if ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return
	}
	var when int64
	if o.expire != nil {
		if when, ok = expireArgMs(c, o.expire, o.flags); !ok {
			return
		}
	}
	c.w.Bulk(ks.Str(r))
	switch {
	case o.flags&(optEXAT|optPXAT) != 0 && c.srv.alreadyExpired(when):
		// An absolute time already past deletes the key on a master, propagated as DEL
		// (UNLINK with lazyfree-lazy-expire); a replica keeps it with that time.
		ks.DeleteRef(r)
		c.propArgv = propVec(c.srv.lazyDelVerb("lazyfree-lazy-expire"), key)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
		c.srv.dirty++
	case o.expire != nil:
		ks.SetExpireAt(r, when)
		c.propArgv = propVec([]byte("PEXPIREAT"), key, msBytes(when))
		c.srv.notifyKeyspace(notifyGeneric, "expire", key, c.db.id)
		c.srv.dirty++
	case o.flags&optPersist != 0 && ks.ExpireAt(r) != keyspace.NoExpire:
		ks.SetExpireAt(r, keyspace.NoExpire)
		c.propArgv = propVec([]byte("PERSIST"), key)
		c.srv.notifyKeyspace(notifyGeneric, "persist", key, c.db.id)
		c.srv.dirty++
	}
}

// lazyDelVerb is the command a deletion propagates as: UNLINK when the lazyfree directive
// that governs it is on, DEL otherwise.
func (s *Server) lazyDelVerb(directive string) []byte {
	if s.cfgBool(directive) {
		return []byte("UNLINK")
	}
	return []byte("DEL")
}

func getdelCommand(c *Client) {
	key := c.argv[1]
	ok, found := getGeneric(c, key)
	if !ok || !found {
		return
	}
	c.db.ks.Delete(key)
	c.propArgv = propVec(c.srv.lazyDelVerb("lazyfree-lazy-user-del"), key)
	c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
	c.srv.dirty++
}

func getsetCommand(c *Client) {
	key, val := c.argv[1], c.argv[2]
	if ok, _ := getGeneric(c, key); !ok {
		return
	}
	c.db.setString(key, val, stringEncoding(val), false)
	c.srv.notifyKeyspace(notifyString, "set", key, c.db.id)
	c.srv.dirty++
	c.propArgv = propVec([]byte("SET"), key, val)
}

func mgetCommand(c *Client) {
	c.w.Array(len(c.argv) - 1)
	for _, key := range c.argv[1:] {
		r, ok := c.db.lookupRead(key)
		if !ok || c.db.ks.Type(r) != keyspace.TypeString {
			c.w.Null()
			continue
		}
		c.w.Bulk(c.db.ks.Str(r))
	}
}

func msetGeneric(c *Client, nx bool) {
	if len(c.argv)%2 == 0 {
		c.w.Error(fmt.Sprintf(errWrongArgs, c.cmd.FullName))
		return
	}
	if nx {
		for j := 1; j < len(c.argv); j += 2 {
			if _, ok := c.db.lookupWrite(c.argv[j]); ok {
				c.w.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(c.argv); j += 2 {
		c.db.setString(c.argv[j], c.argv[j+1], stringEncoding(c.argv[j+1]), false)
		c.srv.notifyKeyspace(notifyString, "set", c.argv[j], c.db.id)
	}
	c.srv.dirty += int64(len(c.argv) / 2)
	if nx {
		c.w.Int(1)
	} else {
		c.w.OK()
	}
}

func msetCommand(c *Client)   { msetGeneric(c, false) }
func msetnxCommand(c *Client) { msetGeneric(c, true) }

// checkStringLength refuses a string that would grow past proto-max-bulk-len.
func checkStringLength(c *Client, size, add int64) bool {
	limit := c.srv.hot.protoMaxBulk.Get()
	if size > limit-add {
		c.w.Error(errStringTooLong)
		return false
	}
	return true
}

func appendValueCommand(c *Client) {
	key, add := c.argv[1], c.argv[2]
	ks := c.db.ks
	var total int
	r, ok := c.db.lookupWrite(key)
	if !ok {
		c.db.setString(key, add, stringEncoding(add), false)
		total = len(add)
	} else {
		if ks.Type(r) != keyspace.TypeString {
			c.w.Error(errWrongType)
			return
		}
		old := len(ks.Str(r))
		if !checkStringLength(c, int64(old), int64(len(add))) {
			return
		}
		total = old + len(add)
		b := ks.StrForUpdate(r, total)
		copy(b[old:], add)
		// A value modified in place is raw, as Redis unshares it into an sds.
		ks.SetEnc(r, encRaw)
	}
	c.srv.notifyKeyspace(notifyString, "append", key, c.db.id)
	c.srv.dirty++
	c.w.Int(int64(total))
}

func strlenCommand(c *Client) {
	r, ok := c.db.lookupRead(c.argv[1])
	if !ok {
		c.w.Int(0)
		return
	}
	if c.db.ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return
	}
	c.w.Int(int64(len(c.db.ks.Str(r))))
}

func getrangeCommand(c *Client) {
	start, ok1 := num.ParseInt64(c.argv[2])
	end, ok2 := num.ParseInt64(c.argv[3])
	if !ok1 || !ok2 {
		c.w.Error(errNotInt)
		return
	}
	r, ok := c.db.lookupRead(c.argv[1])
	if !ok {
		c.w.Bulk(nil)
		return
	}
	if c.db.ks.Type(r) != keyspace.TypeString {
		c.w.Error(errWrongType)
		return
	}
	s := c.db.ks.Str(r)
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		c.w.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.w.Bulk(nil)
		return
	}
	c.w.Bulk(s[start : end+1])
}

func setrangeCommand(c *Client) {
	key, val := c.argv[1], c.argv[3]
	off, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if off < 0 {
		c.w.Error(errOffsetRange)
		return
	}
	ks := c.db.ks
	r, found := c.db.lookupWrite(key)
	if !found {
		if len(val) == 0 {
			c.w.Int(0)
			return
		}
		if !checkStringLength(c, off, int64(len(val))) {
			return
		}
		// A string created by SETRANGE is raw, zero-filled up to the offset.
		r = c.db.setString(key, nil, encRaw, false)
		b := ks.StrForUpdate(r, int(off)+len(val))
		copy(b[off:], val)
	} else {
		if ks.Type(r) != keyspace.TypeString {
			c.w.Error(errWrongType)
			return
		}
		olen := len(ks.Str(r))
		if len(val) == 0 {
			c.w.Int(int64(olen))
			return
		}
		if !checkStringLength(c, off, int64(len(val))) {
			return
		}
		b := ks.StrForUpdate(r, max(olen, int(off)+len(val)))
		copy(b[off:], val)
		ks.SetEnc(r, encRaw)
	}
	c.srv.notifyKeyspace(notifyString, "setrange", key, c.db.id)
	c.srv.dirty++
	c.w.Int(int64(len(ks.Str(r))))
}

// incrDecr adds incr to the integer at argv[1], creating it at 0.
func incrDecr(c *Client, incr int64) {
	key := c.argv[1]
	ks := c.db.ks
	r, found := c.db.lookupWrite(key)
	var v int64
	if found {
		if ks.Type(r) != keyspace.TypeString {
			c.w.Error(errWrongType)
			return
		}
		var ok bool
		if v, ok = num.ParseInt64(ks.Str(r)); !ok {
			c.w.Error(errNotInt)
			return
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) || (incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		c.w.Error(errOverflow)
		return
	}
	v += incr
	var tmp [24]byte
	b := strconv.AppendInt(tmp[:0], v, 10)
	if found {
		ks.SetStr(r, b, encInt) // keeps the TTL, as Redis replaces only the value
	} else {
		c.db.setString(key, b, encInt, false)
	}
	c.srv.notifyKeyspace(notifyString, "incrby", key, c.db.id)
	c.w.Int(v)
	c.srv.dirty++
}

func incrCommand(c *Client) { incrDecr(c, 1) }
func decrCommand(c *Client) { incrDecr(c, -1) }

func incrbyCommand(c *Client) {
	n, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	incrDecr(c, n)
}

func decrbyCommand(c *Client) {
	n, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if n == math.MinInt64 {
		c.w.Error(errDecrOverflow)
		return
	}
	incrDecr(c, -n)
}

func incrbyfloatCommand(c *Client) {
	key := c.argv[1]
	ks := c.db.ks
	r, found := c.db.lookupWrite(key)
	var cur []byte
	if found {
		if ks.Type(r) != keyspace.TypeString {
			c.w.Error(errWrongType)
			return
		}
		cur = ks.Str(r)
	}
	val, err := num.IncrByFloat(cur, c.argv[2])
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	// The result is a new string object: embstr or raw, never int, even for "3".
	enc := encEmbstr
	if len(val) > embstrMax {
		enc = encRaw
	}
	if found {
		ks.SetStr(r, val, enc)
	} else {
		c.db.setString(key, val, enc, false)
	}
	c.srv.notifyKeyspace(notifyString, "incrbyfloat", key, c.db.id)
	c.srv.dirty++
	c.w.Bulk(val)
	// Propagated as the resulting value, so replicas never redo float arithmetic.
	c.propArgv = propVec([]byte("SET"), key, val, []byte("KEEPTTL"))
}

// Error replies only string commands give.
const (
	errDecrOverflow = "ERR decrement would overflow"

	errLCSNotString = "ERR The specified keys must contain string values"
	errLCSIdxLen    = "ERR If you want both the length and indexes, please just use IDX."
	errLCSTooLong   = "ERR String too long for LCS"
	errLCSMemory    = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
)

func lcsCommand(c *Client) {
	ks := c.db.ks
	// Look both keys up first: lazily expiring the second may move the first's bytes.
	ra, oka := c.db.lookupRead(c.argv[1])
	typeA := keyspace.TypeString
	if oka {
		typeA = ks.Type(ra)
	}
	rb, okb := c.db.lookupRead(c.argv[2])
	if typeA != keyspace.TypeString || (okb && ks.Type(rb) != keyspace.TypeString) {
		c.w.Error(errLCSNotString)
		return
	}
	var getLen, getIdx, withMatchLen bool
	var minMatch int64
	for j := 3; j < len(c.argv); j++ {
		a := c.argv[j]
		switch {
		case argEq(a, "idx"):
			getIdx = true
		case argEq(a, "len"):
			getLen = true
		case argEq(a, "withmatchlen"):
			withMatchLen = true
		case argEq(a, "minmatchlen") && j+1 < len(c.argv):
			v, ok := num.ParseInt64(c.argv[j+1])
			if !ok {
				c.w.Error(errNotInt)
				return
			}
			minMatch = max(v, 0)
			j++
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.w.Error(errLCSIdxLen)
		return
	}
	var a, b []byte
	if r, ok := ks.Lookup(c.argv[1]); ok {
		a = ks.Str(r)
	}
	if r, ok := ks.Lookup(c.argv[2]); ok {
		b = ks.Str(r)
	}
	if uint64(len(a)) >= math.MaxUint32-1 || uint64(len(b)) >= math.MaxUint32-1 {
		c.w.Error(errLCSTooLong)
		return
	}
	// The same guard as Redis: the DP table may not exceed proto-max-bulk-len bytes.
	cells := uint64(len(a)+1) * uint64(len(b)+1)
	if cells*4 > uint64(c.srv.hot.protoMaxBulk.Get()) {
		c.w.Error(errLCSMemory)
		return
	}
	if getLen {
		c.w.Int(int64(lcsLength(a, b)))
		return
	}
	lcsFull(c, a, b, getIdx, withMatchLen, minMatch)
}

// lcsLength computes only the length, in two rows instead of the whole table.
func lcsLength(a, b []byte) uint32 {
	prev := make([]uint32, len(b)+1)
	cur := make([]uint32, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// lcsFull builds the whole table and walks back from its corner, preferring to step in b
// on ties, which is what decides which of several longest subsequences Redis reports.
func lcsFull(c *Client, a, b []byte, getIdx, withMatchLen bool, minMatch int64) {
	alen, blen := len(a), len(b)
	w := blen + 1
	t := make([]uint32, (alen+1)*w)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				t[i*w+j] = t[(i-1)*w+j-1] + 1
			} else {
				t[i*w+j] = max(t[(i-1)*w+j], t[i*w+j-1])
			}
		}
	}
	idx := t[alen*w+blen]
	var result []byte
	var matches resp.Deferred
	nMatches := 0
	if getIdx {
		c.w.Map(2)
		c.w.BulkString("matches")
		matches = c.w.Defer()
	} else {
		result = make([]byte, idx)
	}
	// A range is open while aStart != alen; ranges are emitted from the end backwards.
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			if result != nil {
				result[idx-1] = a[i-1]
			}
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if t[(i-1)*w+j] > t[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			matchLen := int64(aEnd - aStart + 1)
			if getIdx && (minMatch == 0 || matchLen >= minMatch) {
				if withMatchLen {
					c.w.Array(3)
				} else {
					c.w.Array(2)
				}
				c.w.Array(2)
				c.w.Int(int64(aStart))
				c.w.Int(int64(aEnd))
				c.w.Array(2)
				c.w.Int(int64(bStart))
				c.w.Int(int64(bEnd))
				if withMatchLen {
					c.w.Int(matchLen)
				}
				nMatches++
			}
			aStart = alen
		}
	}
	if getIdx {
		c.w.FillArray(matches, nMatches)
		c.w.BulkString("len")
		c.w.Int(int64(t[alen*w+blen]))
		return
	}
	c.w.Bulk(result)
}

func init() {
	register(map[string]func(*Client){
		"set":         setCommand,
		"setnx":       setnxCommand,
		"setex":       setexCommand,
		"psetex":      psetexCommand,
		"get":         getCommand,
		"getex":       getexCommand,
		"getdel":      getdelCommand,
		"getset":      getsetCommand,
		"mget":        mgetCommand,
		"mset":        msetCommand,
		"msetnx":      msetnxCommand,
		"append":      appendValueCommand,
		"strlen":      strlenCommand,
		"getrange":    getrangeCommand,
		"substr":      getrangeCommand,
		"setrange":    setrangeCommand,
		"incr":        incrCommand,
		"decr":        decrCommand,
		"incrby":      incrbyCommand,
		"decrby":      decrbyCommand,
		"incrbyfloat": incrbyfloatCommand,
		"lcs":         lcsCommand,
	})
}
