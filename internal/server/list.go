package server

import (
	"fmt"
	"strconv"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/lzf"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/quicklist"
	"github.com/sard-kv/sard/internal/resp"
)

// List commands. A list is a quicklist (internal/quicklist): listpack nodes sized by
// list-max-listpack-size with inner nodes LZF-compressed past list-compress-depth, both read
// when the list is created (Redis 7.0 keeps a list's options for its lifetime). 7.0 has
// no other list encoding: OBJECT ENCODING always says "quicklist".
//
// For the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) the operations are:
//
//	(db *DB) listAt(key, write) (r, *listValue, found, wrongType)  type check without replying
//	(s *Server) listPop(db, key, where, count, withKey, w) int    pop, reply, notify, delete, dirty
//	(s *Server) listMove(db, src, dst, from, to, w) bool           LMOVE's pop+push and reply
//
// where is quicklist.Head or quicklist.Tail. They do not set any propagation: the caller
// rewrites its argv (BLPOP → LPOP key, BLMOVE → LMOVE, BLMPOP → LPOP key count, ...).

// listEncQuicklist is Redis's OBJ_ENCODING_QUICKLIST, stored in the keyspace entry.
const listEncQuicklist uint8 = 9

// Error replies of the list commands.
const (
	errListIndexRange    = "ERR index out of range"
	errListPositive      = "ERR value is out of range, must be positive"
	errListRankZero      = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errListCountNeg      = "ERR COUNT can't be negative"
	errListMaxlenNeg     = "ERR MAXLEN can't be negative"
	errListNumkeys       = "ERR numkeys should be greater than 0"
	errListCountPositive = "ERR count should be greater than 0"
)

// listValue is a list stored in the keyspace.
type listValue struct{ *quicklist.List }

// EncodingName implements valueEncoder.
func (l *listValue) EncodingName() string { return "quicklist" }

// CloneValue implements valueCloner (COPY).
func (l *listValue) CloneValue() any { return &listValue{l.List.Clone()} }

// MemoryUsage implements valueSizer.
func (l *listValue) MemoryUsage(samples int) int { return l.List.MemoryUsage(samples) }

// Digest implements valueDigester: elements mixed from head to tail.
func (l *listValue) Digest(start digest.Start, expireAt int64) digest.Digest {
	d := start.List()
	it := l.Iterator(0, false)
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if e.IsInt {
			d.AddInt(e.Int)
		} else {
			d.Add(e.Str)
		}
	}
	return d.Sum(expireAt)
}

// DebugObjectExtra implements debugObjectExtra: Redis's quicklist fields of DEBUG OBJECT.
func (l *listValue) DebugObjectExtra() string {
	nodes := l.NodeCount()
	sz := 0
	for i := 0; i < nodes; i++ {
		_, _, n := l.Node(i)
		sz += n
	}
	avg := 0.0
	if nodes > 0 {
		avg = float64(l.Len()) / float64(nodes)
	}
	compressed := 0
	if l.Depth() != 0 {
		compressed = 1
	}
	return fmt.Sprintf(" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d ql_uncompressed_size:%d",
		nodes, avg, l.Fill(), compressed, sz)
}

// SerializedLength implements serializedSizer: the size of the list's RDB encoding
// (QUICKLIST_2: node count, then per node its container type and its listpack as an RDB
// string, LZF-compressed when stored so or when RDB compression shrinks it).
func (l *listValue) SerializedLength() int {
	nodes := l.NodeCount()
	n := rdbLenSize(uint64(nodes))
	for i := 0; i < nodes; i++ {
		data, compressed, sz := l.Node(i)
		n++ // container type
		if compressed {
			n += 1 + rdbLenSize(uint64(len(data))) + rdbLenSize(uint64(sz)) + len(data)
			continue
		}
		if len(data) > 20 {
			if z := lzf.Compress(nil, data, len(data)-4); z != nil {
				n += 1 + rdbLenSize(uint64(len(z))) + rdbLenSize(uint64(len(data))) + len(z)
				continue
			}
		}
		n += rdbLenSize(uint64(len(data))) + len(data)
	}
	return n
}

// rdbLenSize is how many bytes RDB's length encoding of v takes.
func rdbLenSize(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v <= 1<<32-1:
		return 5
	}
	return 9
}

// newList creates an empty list with the current list-max-listpack-size and
// list-compress-depth.
func (s *Server) newList() *listValue {
	return &listValue{quicklist.New(int(s.hot.listFill.Get()), int(s.hot.listDepth.Get()))}
}

// listAt finds the list at key without replying: found is false for a missing key,
// wrongType true for a key of another type.
func (db *DB) listAt(key []byte, write bool) (r keyspace.Ref, l *listValue, found, wrongType bool) {
	if write {
		r, found = db.lookupWrite(key)
	} else {
		r, found = db.lookupRead(key)
	}
	if !found {
		return 0, nil, false, false
	}
	if db.ks.Type(r) != keyspace.TypeList {
		return r, nil, true, true
	}
	return r, db.ks.Obj(r).(*listValue), true, false
}

// lookupList is listAt replying WRONGTYPE; ok is false when it replied.
func (c *Client) lookupList(key []byte, write bool) (r keyspace.Ref, l *listValue, ok bool) {
	r, l, _, wrong := c.db.listAt(key, write)
	if wrong {
		c.w.Error(errWrongType)
		return 0, nil, false
	}
	return r, l, true
}

// storeList adds a new list at key (Redis's dbAdd).
func (db *DB) storeList(key []byte, l *listValue) keyspace.Ref {
	return db.setObj(key, keyspace.TypeList, listEncQuicklist, l)
}

func listEvent(where int, push bool) string {
	switch {
	case push && where == quicklist.Head:
		return "lpush"
	case push:
		return "rpush"
	case where == quicklist.Head:
		return "lpop"
	}
	return "rpop"
}

// writeEntry replies one element as a bulk string.
func writeEntry(w *resp.Writer, e quicklist.Entry) {
	if e.IsInt {
		w.BulkInt(e.Int)
	} else {
		w.Bulk(e.Str)
	}
}

// listRangeReply writes elements start..end (already normalised, end inclusive, in range)
// as an array, from the head, or from the tail when reverse (where end counts from the
// tail too).
func listRangeReply(w *resp.Writer, l *listValue, start, n int, reverse bool) {
	w.Array(n)
	idx := start
	if reverse {
		idx = -start - 1
	}
	it := l.Iterator(idx, reverse)
	for ; n > 0; n-- {
		e, ok := it.Next()
		if !ok {
			break
		}
		writeEntry(w, e)
	}
}

// listRemoved finishes a pop of n elements: notification, deletion of an emptied key,
// dirty (Redis's listElementsRemoved).
func (s *Server) listRemoved(db *DB, key []byte, r keyspace.Ref, l *listValue, where, n int) {
	s.notifyKeyspace(notifyList, listEvent(where, false), key, db.id)
	if l.Len() == 0 {
		db.ks.DeleteRef(r)
		s.notifyKeyspace(notifyGeneric, "del", key, db.id)
	}
	s.dirty += int64(n)
}

// listPop pops from the list at key: one element replied as a bulk when count < 0, else
// up to count elements as an array; withKey wraps the reply as [key, reply] (BLPOP,
// LMPOP). It returns how many elements it popped, 0 (having written nothing) when the key
// holds no list. The caller has checked the key's type.
func (s *Server) listPop(db *DB, key []byte, where, count int, withKey bool, w *resp.Writer) int {
	r, l, found, wrong := db.listAt(key, true)
	if !found || wrong || l.Len() == 0 {
		return 0
	}
	if withKey {
		w.Array(2)
		w.Bulk(key)
	}
	if count < 0 {
		var buf [24]byte
		v, _ := l.Pop(where, buf[:0])
		w.Bulk(v)
		s.listRemoved(db, key, r, l, where, 1)
		return 1
	}
	n := min(count, l.Len())
	listRangeReply(w, l, 0, n, where == quicklist.Tail)
	if where == quicklist.Head {
		l.DelRange(0, n)
	} else {
		l.DelRange(-n, n)
	}
	s.listRemoved(db, key, r, l, where, n)
	return n
}

// listMove pops an element from src at from and pushes it onto dst at to, replying with
// the element; it reports false (writing nothing) when src holds no list. The caller has
// checked both keys' types.
func (s *Server) listMove(db *DB, src, dst []byte, from, to int, w *resp.Writer) bool {
	_, l, found, wrong := db.listAt(src, true)
	if !found || wrong || l.Len() == 0 {
		return false
	}
	// copy the keys: the source may be deleted and dst may alias the read buffer
	src = append([]byte(nil), src...)
	val, _ := l.Pop(from, nil)
	_, dl, dfound, _ := db.listAt(dst, true)
	if !dfound {
		dl = s.newList()
		db.storeList(dst, dl)
	}
	dl.Push(val, to)
	s.notifyKeyspace(notifyList, listEvent(to, true), dst, db.id)
	w.Bulk(val)
	s.notifyKeyspace(notifyList, listEvent(from, false), src, db.id)
	if l.Len() == 0 {
		if r2, ok := db.ks.Lookup(src); ok {
			db.ks.DeleteRef(r2)
		}
		s.notifyKeyspace(notifyGeneric, "del", src, db.id)
	}
	s.dirty++
	return true
}

// pushGeneric is LPUSH, RPUSH, LPUSHX and RPUSHX.
func pushGeneric(c *Client, where int, xx bool) {
	key := c.argv[1]
	_, l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		if xx {
			c.w.Int(0)
			return
		}
		l = c.srv.newList()
		c.db.storeList(key, l)
	}
	for _, v := range c.argv[2:] {
		l.Push(v, where)
	}
	c.srv.notifyKeyspace(notifyList, listEvent(where, true), key, c.db.id)
	c.srv.dirty += int64(len(c.argv) - 2)
	c.w.Int(int64(l.Len()))
}

func lpushCommand(c *Client)  { pushGeneric(c, quicklist.Head, false) }
func rpushCommand(c *Client)  { pushGeneric(c, quicklist.Tail, false) }
func lpushxCommand(c *Client) { pushGeneric(c, quicklist.Head, true) }
func rpushxCommand(c *Client) { pushGeneric(c, quicklist.Tail, true) }

// parseLong parses an integer argument, replying msg (or the generic integer error) when
// it is not one.
func parseLong(c *Client, b []byte, msg string) (int64, bool) {
	v, ok := num.ParseInt64(b)
	if !ok {
		if msg == "" {
			msg = errNotInt
		}
		c.w.Error(msg)
	}
	return v, ok
}

func popGeneric(c *Client, where int) {
	if len(c.argv) > 3 {
		c.w.Error("ERR wrong number of arguments for '" + lowerName(c.argv[0]) + "' command")
		return
	}
	count := int64(-1)
	if len(c.argv) == 3 {
		v, ok := parseLong(c, c.argv[2], errListPositive)
		if !ok {
			return
		}
		if v < 0 {
			c.w.Error(errListPositive)
			return
		}
		count = v
	}
	_, l, ok := c.lookupList(c.argv[1], true)
	if !ok {
		return
	}
	if l == nil {
		if count >= 0 {
			c.w.NullArray()
		} else {
			c.w.Null()
		}
		return
	}
	if count == 0 {
		c.w.Array(0)
		return
	}
	c.srv.listPop(c.db, c.argv[1], where, int(min(count, int64(l.Len()))), false, &c.w)
}

// lowerName is a command name as Redis prints it in arity errors.
func lowerName(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return string(out)
}

func lpopCommand(c *Client) {
	if len(c.argv) == 2 {
		popOne(c, quicklist.Head)
		return
	}
	popGeneric(c, quicklist.Head)
}

func rpopCommand(c *Client) {
	if len(c.argv) == 2 {
		popOne(c, quicklist.Tail)
		return
	}
	popGeneric(c, quicklist.Tail)
}

// popOne is LPOP/RPOP without a count: a single bulk reply.
func popOne(c *Client, where int) {
	_, l, ok := c.lookupList(c.argv[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.w.Null()
		return
	}
	c.srv.listPop(c.db, c.argv[1], where, -1, false, &c.w)
}

func llenCommand(c *Client) {
	_, l, ok := c.lookupList(c.argv[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(l.Len()))
}

func lindexCommand(c *Client) {
	_, l, ok := c.lookupList(c.argv[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.Null()
		return
	}
	idx, ok := parseLong(c, c.argv[2], "")
	if !ok {
		return
	}
	if idx < -int64(l.Len()) || idx >= int64(l.Len()) {
		c.w.Null()
		return
	}
	e, _ := l.Index(int(idx))
	writeEntry(&c.w, e)
}

func lsetCommand(c *Client) {
	key := c.argv[1]
	_, l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.w.Error(errNoSuchKey)
		return
	}
	idx, ok := parseLong(c, c.argv[2], "")
	if !ok {
		return
	}
	if idx < -int64(l.Len()) || idx >= int64(l.Len()) || !l.Replace(int(idx), c.argv[3]) {
		c.w.Error(errListIndexRange)
		return
	}
	c.srv.notifyKeyspace(notifyList, "lset", key, c.db.id)
	c.srv.dirty++
	c.w.OK()
}

// listRange normalises LRANGE/LTRIM indexes against length n: ok false means empty.
func listRange(start, end int64, n int) (s, e int, ok bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, false
	}
	if end >= ln {
		end = ln - 1
	}
	return int(start), int(end), true
}

func lrangeCommand(c *Client) {
	start, ok := parseLong(c, c.argv[2], "")
	if !ok {
		return
	}
	end, ok := parseLong(c, c.argv[3], "")
	if !ok {
		return
	}
	_, l, ok := c.lookupList(c.argv[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.Array(0)
		return
	}
	s, e, ok := listRange(start, end, l.Len())
	if !ok {
		c.w.Array(0)
		return
	}
	listRangeReply(&c.w, l, s, e-s+1, false)
}

func ltrimCommand(c *Client) {
	start, ok := parseLong(c, c.argv[2], "")
	if !ok {
		return
	}
	end, ok := parseLong(c, c.argv[3], "")
	if !ok {
		return
	}
	key := c.argv[1]
	r, l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.w.OK()
		return
	}
	n := l.Len()
	ltrim, rtrim := n, 0
	if s, e, ok := listRange(start, end, n); ok {
		ltrim, rtrim = s, n-e-1
	}
	l.DelRange(0, ltrim)
	l.DelRange(-rtrim, rtrim)
	c.srv.notifyKeyspace(notifyList, "ltrim", key, c.db.id)
	if l.Len() == 0 {
		c.db.ks.DeleteRef(r)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
	}
	c.srv.dirty += int64(ltrim + rtrim)
	c.w.OK()
}

func lremCommand(c *Client) {
	count, ok := parseLong(c, c.argv[2], "")
	if !ok {
		return
	}
	key, elem := c.argv[1], c.argv[3]
	r, l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.w.Int(0)
		return
	}
	reverse := count < 0
	toRemove := count
	start := 0
	if reverse {
		toRemove, start = -count, -1
	}
	removed := int64(0)
	it := l.Iterator(start, reverse)
	var buf [24]byte
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if string(e.Bytes(buf[:0])) == string(elem) {
			it.Delete()
			removed++
			c.srv.dirty++
			if toRemove != 0 && removed == toRemove {
				break
			}
		}
	}
	it.Done()
	if removed > 0 {
		c.srv.notifyKeyspace(notifyList, "lrem", key, c.db.id)
	}
	if l.Len() == 0 {
		c.db.ks.DeleteRef(r)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
	}
	c.w.Int(removed)
}

func linsertCommand(c *Client) {
	var after bool
	switch {
	case argEq(c.argv[2], "after"):
		after = true
	case argEq(c.argv[2], "before"):
	default:
		c.w.Error(errSyntax)
		return
	}
	key, pivot := c.argv[1], c.argv[3]
	_, l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.w.Int(0)
		return
	}
	it := l.Iterator(0, false)
	var buf [24]byte
	inserted := false
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if string(e.Bytes(buf[:0])) == string(pivot) {
			it.Insert(c.argv[4], after)
			inserted = true
			break
		}
	}
	if !inserted {
		c.w.Int(-1)
		return
	}
	c.srv.notifyKeyspace(notifyList, "linsert", key, c.db.id)
	c.srv.dirty++
	c.w.Int(int64(l.Len()))
}

func lposCommand(c *Client) {
	elem := c.argv[2]
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.argv); j++ {
		more := j+1 < len(c.argv)
		switch {
		case argEq(c.argv[j], "rank") && more:
			j++
			v, ok := parseLong(c, c.argv[j], "")
			if !ok {
				return
			}
			if v == 0 {
				c.w.Error(errListRankZero)
				return
			}
			rank = v
		case argEq(c.argv[j], "count") && more:
			j++
			v, ok := parseNonNegLong(c, c.argv[j], errListCountNeg)
			if !ok {
				return
			}
			count = v
		case argEq(c.argv[j], "maxlen") && more:
			j++
			v, ok := parseNonNegLong(c, c.argv[j], errListMaxlenNeg)
			if !ok {
				return
			}
			maxlen = v
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	reverse := false
	if rank < 0 {
		// Redis 7.0 negates RANK -9223372036854775808 into itself, which then matches
		// from the first hit from the tail; the wrapping negation reproduces it
		rank, reverse = -rank, true
	}
	_, l, ok := c.lookupList(c.argv[1], false)
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.w.Array(0)
		} else {
			c.w.Null()
		}
		return
	}
	var d resp.Deferred
	if count != -1 {
		d = c.w.Defer()
	}
	start := 0
	if reverse {
		start = -1
	}
	n := int64(l.Len())
	it := l.Iterator(start, reverse)
	var buf [24]byte
	index, matches, matchIndex, arrayLen := int64(0), int64(0), int64(-1), 0
	for e, ok := it.Next(); ok && (maxlen == 0 || index < maxlen); e, ok = it.Next() {
		if string(e.Bytes(buf[:0])) == string(elem) {
			matches++
			matchIndex = index
			if reverse {
				matchIndex = n - index - 1
			}
			if matches >= rank {
				if count == -1 {
					break
				}
				arrayLen++
				c.w.Int(matchIndex)
				if count != 0 && matches-rank+1 >= count {
					break
				}
			}
		}
		index++
		matchIndex = -1
	}
	if count != -1 {
		c.w.FillArray(d, arrayLen)
		return
	}
	if matchIndex != -1 {
		c.w.Int(matchIndex)
	} else {
		c.w.Null()
	}
}

// parseWhere parses LEFT or RIGHT.
func parseWhere(c *Client, b []byte) (int, bool) {
	switch {
	case argEq(b, "left"):
		return quicklist.Head, true
	case argEq(b, "right"):
		return quicklist.Tail, true
	}
	c.w.Error(errSyntax)
	return 0, false
}

// lmoveGeneric is LMOVE and RPOPLPUSH once the directions are known.
func lmoveGeneric(c *Client, from, to int) {
	_, l, ok := c.lookupList(c.argv[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.w.Null()
		return
	}
	if _, _, found, wrong := c.db.listAt(c.argv[2], true); found && wrong {
		c.w.Error(errWrongType)
		return
	}
	c.srv.listMove(c.db, c.argv[1], c.argv[2], from, to, &c.w)
}

func lmoveCommand(c *Client) {
	from, ok := parseWhere(c, c.argv[3])
	if !ok {
		return
	}
	to, ok := parseWhere(c, c.argv[4])
	if !ok {
		return
	}
	lmoveGeneric(c, from, to)
}

func rpoplpushCommand(c *Client) { lmoveGeneric(c, quicklist.Tail, quicklist.Head) }

func lmpopCommand(c *Client) {
	numkeys, ok := parseLong(c, c.argv[1], errListNumkeys)
	if !ok {
		return
	}
	if numkeys <= 0 {
		c.w.Error(errListNumkeys)
		return
	}
	if numkeys > int64(len(c.argv)) {
		c.w.Error(errSyntax)
		return
	}
	whereIdx := 2 + int(numkeys)
	if whereIdx >= len(c.argv) {
		c.w.Error(errSyntax)
		return
	}
	where, ok := parseWhere(c, c.argv[whereIdx])
	if !ok {
		return
	}
	count := int64(-1)
	for j := whereIdx + 1; j < len(c.argv); j++ {
		if count == -1 && argEq(c.argv[j], "count") && j+1 < len(c.argv) {
			j++
			v, ok := parseLong(c, c.argv[j], errListCountPositive)
			if !ok {
				return
			}
			if v < 1 {
				c.w.Error(errListCountPositive)
				return
			}
			count = v
			continue
		}
		c.w.Error(errSyntax)
		return
	}
	if count == -1 {
		count = 1
	}
	for _, key := range c.argv[2:whereIdx] {
		_, l, ok := c.lookupList(key, true)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		n := int(min(count, int64(l.Len())))
		// propagated as [LR]POP key count
		name := "lpop"
		if where == quicklist.Tail {
			name = "rpop"
		}
		c.propArgv = [][]byte{[]byte(name), append([]byte(nil), key...), strconv.AppendInt(nil, int64(n), 10)}
		c.srv.listPop(c.db, key, where, n, true, &c.w)
		return
	}
	c.w.NullArray()
}

func init() {
	register(map[string]func(*Client){
		"lpush":     lpushCommand,
		"rpush":     rpushCommand,
		"lpushx":    lpushxCommand,
		"rpushx":    rpushxCommand,
		"lpop":      lpopCommand,
		"rpop":      rpopCommand,
		"llen":      llenCommand,
		"lindex":    lindexCommand,
		"lset":      lsetCommand,
		"lrange":    lrangeCommand,
		"ltrim":     ltrimCommand,
		"lrem":      lremCommand,
		"linsert":   linsertCommand,
		"lpos":      lposCommand,
		"lmove":     lmoveCommand,
		"rpoplpush": rpoplpushCommand,
		"lmpop":     lmpopCommand,
	})
}

// parseNonNegLong reads LPOS's COUNT and MAXLEN: Redis answers the same error for a
// non-integer and for a negative value.
func parseNonNegLong(c *Client, arg []byte, errText string) (int64, bool) {
	v, ok := parseLong(c, arg, errText)
	if ok && v < 0 {
		c.w.Error(errText)
		return 0, false
	}
	return v, ok
}
