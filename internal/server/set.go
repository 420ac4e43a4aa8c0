package server

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/intset"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
)

// Set commands. A set is an intset (internal/intset, Redis's byte format) while every member
// is an integer and there are at most set-max-intset-entries of them, then a hashtable for
// good (Redis 7.0 has no listpack sets and never converts back). The hashtable is a
// pointer-free keyspace.DB whose keys are the members and whose values are empty.

// Encodings of a set, stored in the keyspace entry as Redis's OBJ_ENCODING_* numbers.
const (
	setEncHashtable uint8 = 2
	setEncIntset    uint8 = 6
)

// Error replies of the set commands.
const (
	errSetRandRange        = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errMustBePositive      = "ERR value is out of range, must be positive"
	errNumkeysPositive     = "ERR numkeys should be greater than 0"
	errNumkeysTooMany      = "ERR Number of keys can't be greater than number of args"
	errSinterLimitNegative = "ERR LIMIT can't be negative"
	setIntsetEntriesCap    = 1 << 30 // Redis caps set-max-intset-entries there (intset internals)
	// randReplyMax bounds the reply of SRANDMEMBER/HRANDFIELD with a huge negative count:
	// Redis streams until the client's output limit (none by default) and may run out of
	// memory; sard closes the connection instead.
	randReplyMax = 512 << 20
)

// setValue is a set stored in the keyspace: exactly one of is and ht is in use.
type setValue struct {
	is intset.Set
	ht *keyspace.DB
}

func newSetTable() *keyspace.DB { return keyspace.New(keyspace.Options{}) }

// setCreateFor returns an empty set in the encoding Redis gives a set whose first member is
// first (setTypeCreate).
func setCreateFor(first []byte) *setValue {
	if _, ok := num.ParseInt64(first); ok {
		return &setValue{is: intset.New()}
	}
	return &setValue{ht: newSetTable()}
}

func (s *setValue) enc() uint8 {
	if s.ht != nil {
		return setEncHashtable
	}
	return setEncIntset
}

func (s *setValue) size() int {
	if s.ht != nil {
		return s.ht.Len()
	}
	return s.is.Len()
}

// toHashtable converts an intset set; the caller updates the key's stored encoding.
func (s *setValue) toHashtable() {
	if s.ht != nil {
		return
	}
	ht := newSetTable()
	var buf [24]byte
	for i, n := 0, s.is.Len(); i < n; i++ {
		ht.SetString(strconv.AppendInt(buf[:0], s.is.Get(i), 10), 0, nil, 0, false)
	}
	s.ht, s.is = ht, nil
}

// add inserts m and reports whether it was new, converting the encoding as Redis's
// setTypeAdd does; maxIntset is set-max-intset-entries.
func (s *setValue) add(m []byte, maxIntset int) bool {
	if s.ht == nil {
		if v, ok := num.ParseInt64(m); ok {
			if !s.is.Add(v) {
				return false
			}
			if s.is.Len() > min(maxIntset, setIntsetEntriesCap) {
				s.toHashtable()
			}
			return true
		}
		s.toHashtable()
	}
	if _, ok := s.ht.Lookup(m); ok {
		return false
	}
	s.ht.SetString(m, 0, nil, 0, false)
	return true
}

func (s *setValue) remove(m []byte) bool {
	if s.ht != nil {
		return s.ht.Delete(m)
	}
	v, ok := num.ParseInt64(m)
	return ok && s.is.Remove(v)
}

func (s *setValue) has(m []byte) bool {
	if s.ht != nil {
		_, ok := s.ht.Lookup(m)
		return ok
	}
	v, ok := num.ParseInt64(m)
	return ok && s.is.Find(v)
}

// hasInt is has for a member known as an integer, without formatting it for an intset.
func (s *setValue) hasInt(v int64) bool {
	if s.ht == nil {
		return s.is.Find(v)
	}
	var buf [24]byte
	_, ok := s.ht.Lookup(strconv.AppendInt(buf[:0], v, 10))
	return ok
}

// each calls fn for every member until it returns false: intset members in ascending order
// with isInt set and v their value, hashtable members in table order. m is only valid during
// the call; fn must not modify s.
func (s *setValue) each(fn func(m []byte, v int64, isInt bool) bool) {
	if s.ht == nil {
		var buf [24]byte
		for i, n := 0, s.is.Len(); i < n; i++ {
			v := s.is.Get(i)
			if !fn(strconv.AppendInt(buf[:0], v, 10), v, true) {
				return
			}
		}
		return
	}
	ht := s.ht
	ht.ForEach(func(r keyspace.Ref) bool { return fn(ht.Key(r), 0, false) })
}

// members returns copies of every member, in each's order.
func (s *setValue) members() [][]byte {
	out := make([][]byte, 0, s.size())
	s.each(func(m []byte, _ int64, _ bool) bool {
		out = append(out, bytes.Clone(m))
		return true
	})
	return out
}

// random returns a uniformly chosen member of a non-empty set, appended to buf.
func (s *setValue) random(buf []byte) []byte {
	if s.ht == nil {
		return strconv.AppendInt(buf, s.is.Random(rand.IntN), 10)
	}
	r, _ := s.ht.RandomKey(rand.IntN)
	return append(buf, s.ht.Key(r)...)
}

// CloneValue implements valueCloner (COPY).
func (s *setValue) CloneValue() any {
	if s.ht == nil {
		return &setValue{is: s.is.Clone()}
	}
	ht := newSetTable()
	s.ht.ForEach(func(r keyspace.Ref) bool {
		ht.SetString(s.ht.Key(r), 0, nil, 0, false)
		return true
	})
	return &setValue{ht: ht}
}

// MemoryUsage implements valueSizer (MEMORY USAGE); the figures are exact, so samples is
// not needed.
func (s *setValue) MemoryUsage(samples int) int {
	const header = 32 // the setValue itself
	if s.ht == nil {
		return header + cap(s.is)
	}
	return header + tableBytes(s.ht)
}

// tableBytes estimates the memory of a keyspace.DB used as a collection's hashtable.
func tableBytes(ht *keyspace.DB) int {
	st := ht.Stats()
	const entryBytes, dbHeader = 40, 512
	return dbHeader + int(st.ArenaBytes+st.SideBytes) + 4*st.Buckets + entryBytes*st.Keys
}

// EncodingName implements valueEncoder (OBJECT ENCODING).
func (s *setValue) EncodingName() string {
	if s.ht != nil {
		return "hashtable"
	}
	return "intset"
}

// Digest implements valueDigester (DEBUG DIGEST).
func (s *setValue) Digest(start digest.Start, expireAt int64) digest.Digest {
	d := start.Set()
	if s.ht == nil {
		for i, n := 0, s.is.Len(); i < n; i++ {
			d.AddInt(s.is.Get(i))
		}
	} else {
		s.ht.ForEach(func(r keyspace.Ref) bool {
			d.Add(s.ht.Key(r))
			return true
		})
	}
	return d.Sum(expireAt)
}

// setMaxIntset reads set-max-intset-entries once per command.
func (s *Server) setMaxIntset() int {
	return int(min(s.hot.setIntset.Get(), setIntsetEntriesCap))
}

// lookupSet finds the set at key for reading (write: for writing). It returns a nil set when
// the key does not exist and ok false after replying WRONGTYPE.
func (c *Client) lookupSet(key []byte, write bool) (r keyspace.Ref, s *setValue, ok bool) {
	r, s, _, ok = lookupTyped[*setValue](c, key, write, keyspace.TypeSet)
	return r, s, ok
}

// storeSet puts s at key, replacing whatever was there and its TTL (Redis's setKey/dbAdd).
func (db *DB) storeSet(key []byte, s *setValue) keyspace.Ref {
	return db.setObj(key, keyspace.TypeSet, s.enc(), s)
}

func saddCommand(c *Client) {
	key := c.argv[1]
	r, s, ok := c.lookupSet(key, true)
	if !ok {
		return
	}
	if s == nil {
		s = setCreateFor(c.argv[2])
		r = c.db.storeSet(key, s)
	}
	maxIntset := c.srv.setMaxIntset()
	if s.ht == nil {
		s.is.Grow(min(len(c.argv)-2, maxIntset+1-s.is.Len()))
	}
	added := 0
	for _, m := range c.argv[2:] {
		if s.add(m, maxIntset) {
			added++
		}
	}
	c.db.ks.SetEnc(r, s.enc())
	if added > 0 {
		c.srv.notifyKeyspace(notifySet, "sadd", key, c.db.id)
		c.srv.dirty += int64(added)
	}
	c.w.Int(int64(added))
}

func sremCommand(c *Client) {
	r, s, ok := c.lookupSet(c.argv[1], true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	c.removeMembers(r, s.remove, s.size, notifySet, "srem")
}

func sismemberCommand(c *Client) {
	_, s, ok := c.lookupSet(c.argv[1], false)
	if !ok {
		return
	}
	if s != nil && s.has(c.argv[2]) {
		c.w.Int(1)
		return
	}
	c.w.Int(0)
}

func smismemberCommand(c *Client) {
	_, s, ok := c.lookupSet(c.argv[1], false)
	if !ok {
		return
	}
	c.w.Array(len(c.argv) - 2)
	for _, m := range c.argv[2:] {
		if s != nil && s.has(m) {
			c.w.Int(1)
		} else {
			c.w.Int(0)
		}
	}
}

func scardCommand(c *Client) {
	_, s, ok := c.lookupSet(c.argv[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(s.size()))
}

// smembersCommand is SINTER of one key, as in Redis 7.0.
func smembersCommand(c *Client) { setInterGeneric(c, c.argv[1:2], nil, false, 0) }

func smoveCommand(c *Client) {
	srcKey, dstKey, m := c.argv[1], c.argv[2], c.argv[3]
	sr, src, ok := c.lookupSetNoReply(srcKey)
	dr, dst, dok := c.lookupSetNoReply(dstKey)
	if src == nil && ok {
		c.w.Int(0)
		return
	}
	if !ok || !dok {
		c.w.Error(errWrongType)
		return
	}
	if src == dst {
		if src.has(m) {
			c.w.Int(1)
		} else {
			c.w.Int(0)
		}
		return
	}
	if !src.remove(m) {
		c.w.Int(0)
		return
	}
	c.srv.notifyKeyspace(notifySet, "srem", srcKey, c.db.id)
	if src.size() == 0 {
		c.db.ks.DeleteRef(sr)
		c.srv.notifyKeyspace(notifyGeneric, "del", srcKey, c.db.id)
	}
	if dst == nil {
		dst = setCreateFor(m)
		dr = c.db.storeSet(dstKey, dst)
	}
	c.srv.dirty++
	if dst.add(m, c.srv.setMaxIntset()) {
		c.srv.dirty++
		c.srv.notifyKeyspace(notifySet, "sadd", dstKey, c.db.id)
	}
	c.db.ks.SetEnc(dr, dst.enc())
	c.w.Int(1)
}

// lookupSetNoReply is lookupSet for writing without the WRONGTYPE reply, for commands that
// decide which error wins after looking at several keys.
func (c *Client) lookupSetNoReply(key []byte) (keyspace.Ref, *setValue, bool) {
	r, found := c.db.lookupWrite(key)
	if !found {
		return 0, nil, true
	}
	if c.db.ks.Type(r) != keyspace.TypeSet {
		return 0, nil, false
	}
	return r, c.db.ks.Obj(r).(*setValue), true
}

// --- SPOP and SRANDMEMBER ---

// SPOP with a count chooses between popping random members one by one and rebuilding the
// set from the members that stay, as Redis does (SPOP_MOVE_STRATEGY_MUL).
const spopMoveStrategyMul = 5

// srandmemberSubStrategyMul picks SRANDMEMBER's copy-and-remove strategy over sampling.
const srandmemberSubStrategyMul = 3

func spopCommand(c *Client) {
	if len(c.argv) == 3 {
		spopWithCount(c)
		return
	}
	if len(c.argv) > 3 {
		c.w.Error(errSyntax)
		return
	}
	key := c.argv[1]
	r, s, ok := c.lookupSet(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.w.Null()
		return
	}
	m := s.random(nil)
	s.remove(m)
	c.srv.notifyKeyspace(notifySet, "spop", key, c.db.id)
	c.propArgv = propVec([]byte("SREM"), key, m)
	c.w.Bulk(m)
	if s.size() == 0 {
		c.db.ks.DeleteRef(r)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
	}
	c.srv.dirty++
}

func spopWithCount(c *Client) {
	key := c.argv[1]
	n, ok := num.ParseInt64(c.argv[2])
	if !ok || n < 0 {
		c.w.Error(errMustBePositive)
		return
	}
	count := int(n)
	if int64(count) != n {
		count = math.MaxInt
	}
	r, s, ok := c.lookupSet(key, true)
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.w.Set(0)
		return
	}
	size := s.size()
	c.srv.notifyKeyspace(notifySet, "spop", key, c.db.id)
	c.srv.dirty += n // the count asked for, even past the size, as Redis counts it

	if count >= size {
		// The whole set: reply it as SUNION of the key does (in the order of a set rebuilt
		// from it), delete the key, propagate DEL.
		setUnionDiffGeneric(c, c.argv[1:2], nil, setOpUnion)
		c.db.ks.DeleteRef(r)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
		c.propArgv = propVec([]byte("DEL"), key)
		return
	}
	c.w.Set(count)
	popped := make([][]byte, 0, count)
	remaining := size - count
	if remaining*spopMoveStrategyMul > count {
		for range count {
			m := s.random(nil)
			s.remove(m)
			c.w.Bulk(m)
			popped = append(popped, m)
		}
	} else {
		// Few members stay: move them to a new set and return what is left of the old one.
		// The new set takes the encoding its first member implies, so a hashtable set can
		// come back as an intset, as in Redis.
		var kept *setValue
		maxIntset := c.srv.setMaxIntset()
		for range remaining {
			m := s.random(nil)
			if kept == nil {
				kept = setCreateFor(m)
			}
			kept.add(m, maxIntset)
			s.remove(m)
		}
		s.each(func(m []byte, _ int64, _ bool) bool {
			c.w.Bulk(m)
			popped = append(popped, bytes.Clone(m))
			return true
		})
		*s = *kept
		c.db.ks.SetEnc(r, s.enc())
	}
	cmds := make([][][]byte, len(popped))
	for i, m := range popped {
		cmds[i] = propVec([]byte("SREM"), key, m)
	}
	c.propagateAll(cmds)
}

// propagateAll sends several commands for the current one in place of its argv, wrapped in
// MULTI/EXEC when there is more than one and the command is not already inside a
// transaction, as Redis 7.0 does for commands that propagate several effects.
func (c *Client) propagateAll(cmds [][][]byte) {
	p := &c.srv.prop
	wrap := len(cmds) > 1 && c.flags&flagMulti == 0
	if wrap {
		p.command(c.db.id, [][]byte{[]byte("MULTI")}, nil)
	}
	for _, argv := range cmds {
		p.command(c.db.id, argv, nil)
	}
	if wrap {
		p.command(c.db.id, [][]byte{[]byte("EXEC")}, nil)
	}
	c.propArgv = [][]byte{}
}

// setReplyMembers replies every member of s as a set.
func setReplyMembers(c *Client, s *setValue) {
	c.w.Set(s.size())
	s.each(func(m []byte, v int64, isInt bool) bool {
		if isInt {
			c.w.BulkInt(v)
		} else {
			c.w.Bulk(m)
		}
		return true
	})
}

func srandmemberCommand(c *Client) {
	if len(c.argv) == 3 {
		srandmemberWithCount(c)
		return
	}
	if len(c.argv) > 3 {
		c.w.Error(errSyntax)
		return
	}
	_, s, ok := c.lookupSet(c.argv[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.Null()
		return
	}
	c.w.Bulk(s.random(nil))
}

// parseRandCount reads SRANDMEMBER's and HRANDFIELD's count: a negative count asks for
// repetitions, and -2^63 has no positive counterpart.
func parseRandCount(c *Client, arg []byte) (count uint64, unique bool, ok bool) {
	v, ok := num.ParseInt64(arg)
	if !ok {
		c.w.Error(errNotInt)
		return 0, false, false
	}
	if v == math.MinInt64 {
		c.w.Error(errSetRandRange)
		return 0, false, false
	}
	if v < 0 {
		return uint64(-v), false, true
	}
	return uint64(v), true, true
}

// randReplyTooBig stops an endless reply (a huge negative count) by closing the client.
func (c *Client) randReplyTooBig() bool {
	if c.flags&flagCloseASAP != 0 || c.srv.overOutputLimit(c, len(c.w.Buf)) {
		return true
	}
	if len(c.w.Buf) > randReplyMax {
		c.flags |= flagCloseASAP
		return true
	}
	return false
}

func srandmemberWithCount(c *Client) {
	count, unique, ok := parseRandCount(c, c.argv[2])
	if !ok {
		return
	}
	_, s, ok := c.lookupSet(c.argv[1], false)
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.w.Array(0)
		return
	}
	size := uint64(s.size())
	// Repetitions allowed (or one member): independent draws, in random order.
	if !unique || count == 1 {
		c.w.Array(int(min(count, math.MaxInt)))
		var buf []byte
		for ; count > 0; count-- {
			buf = s.random(buf[:0])
			c.w.Bulk(buf)
			if count&1023 == 0 && c.randReplyTooBig() {
				break
			}
		}
		return
	}
	if count >= size {
		// The whole set, in its own order; Redis replies an array here, not a set.
		c.w.Array(int(size))
		s.each(func(m []byte, v int64, isInt bool) bool {
			c.w.Bulk(m)
			return true
		})
		return
	}
	var picked [][]byte
	if count*srandmemberSubStrategyMul > size {
		// Most of the set: shuffle a copy and keep a prefix.
		all := s.members()
		rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		picked = all[:count]
	} else {
		// A small part of a big set: draw until count distinct members came up.
		seen := make(map[string]struct{}, count)
		for uint64(len(picked)) < count {
			m := s.random(nil)
			if _, dup := seen[string(m)]; dup {
				continue
			}
			seen[string(m)] = struct{}{}
			picked = append(picked, m)
		}
	}
	c.w.Array(len(picked))
	for _, m := range picked {
		c.w.Bulk(m)
	}
}

// --- Intersections, unions and differences ---

func sinterCommand(c *Client)      { setInterGeneric(c, c.argv[1:], nil, false, 0) }
func sinterstoreCommand(c *Client) { setInterGeneric(c, c.argv[2:], c.argv[1], false, 0) }

func sintercardCommand(c *Client) {
	n, ok := num.ParseInt64(c.argv[1])
	if !ok || n < 1 {
		c.w.Error(errNumkeysPositive)
		return
	}
	if n > int64(len(c.argv)-2) {
		c.w.Error(errNumkeysTooMany)
		return
	}
	numkeys := int(n)
	limit := int64(0)
	for j := 2 + numkeys; j < len(c.argv); j++ {
		if argEq(c.argv[j], "limit") && j+1 < len(c.argv) {
			j++
			v, ok := num.ParseInt64(c.argv[j])
			if !ok || v < 0 {
				c.w.Error(errSinterLimitNegative)
				return
			}
			limit = v
			continue
		}
		c.w.Error(errSyntax)
		return
	}
	setInterGeneric(c, c.argv[2:2+numkeys], nil, true, limit)
}

// setSources looks up the source sets of SINTER/SUNION/SDIFF and their STORE variants: a
// missing key is a nil set. ok is false after replying WRONGTYPE.
func (c *Client) setSources(keys [][]byte) (sets []*setValue, ok bool) {
	sets = make([]*setValue, len(keys))
	for i, key := range keys {
		_, s, ok := c.lookupSet(key, false)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSetResult ends a *STORE command: a non-empty result replaces dst (and its TTL), an
// empty one deletes it.
func (c *Client) storeSetResult(dst []byte, res *setValue, event string) {
	if res.size() > 0 {
		c.db.storeSet(dst, res)
		c.w.Int(int64(res.size()))
		c.srv.notifyKeyspace(notifySet, event, dst, c.db.id)
		c.srv.dirty++
		return
	}
	c.w.Int(0)
	if c.db.delete(dst) {
		c.srv.dirty++
		c.srv.notifyKeyspace(notifyGeneric, "del", dst, c.db.id)
	}
}

// setInterGeneric is SINTER, SINTERSTORE (dst != nil), SINTERCARD (cardOnly, with limit)
// and SMEMBERS: the members of the smallest set that every other set has.
func setInterGeneric(c *Client, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets, ok := c.setSources(keys)
	if !ok {
		return
	}
	for _, s := range sets {
		if s == nil {
			// An intersection with an empty set is empty.
			switch {
			case dst != nil:
				c.w.Int(0)
				if c.db.delete(dst) {
					c.srv.notifyKeyspace(notifyGeneric, "del", dst, c.db.id)
					c.srv.dirty++
				}
			case cardOnly:
				c.w.Int(0)
			default:
				c.w.Set(0)
			}
			return
		}
	}
	slices.SortStableFunc(sets, func(a, b *setValue) int { return cmp.Compare(a.size(), b.size()) })
	var res *setValue
	var d = c.w.Defer()
	maxIntset := c.srv.setMaxIntset()
	if dst != nil {
		res = &setValue{is: intset.New()}
	}
	card := int64(0)
	sets[0].each(func(m []byte, v int64, isInt bool) bool {
		for _, o := range sets[1:] {
			if o == sets[0] {
				continue
			}
			if isInt && !o.hasInt(v) || !isInt && !o.has(m) {
				return true
			}
		}
		card++
		switch {
		case cardOnly:
			return limit == 0 || card < limit
		case dst != nil:
			res.add(m, maxIntset)
		default:
			c.w.Bulk(m)
		}
		return true
	})
	switch {
	case cardOnly:
		c.w.Int(card)
	case dst != nil:
		c.storeSetResult(dst, res, "sinterstore")
	default:
		c.w.FillSet(d, int(card))
	}
}

const (
	setOpUnion = iota
	setOpDiff
)

func sunionCommand(c *Client)      { setUnionDiffGeneric(c, c.argv[1:], nil, setOpUnion) }
func sunionstoreCommand(c *Client) { setUnionDiffGeneric(c, c.argv[2:], c.argv[1], setOpUnion) }
func sdiffCommand(c *Client)       { setUnionDiffGeneric(c, c.argv[1:], nil, setOpDiff) }
func sdiffstoreCommand(c *Client)  { setUnionDiffGeneric(c, c.argv[2:], c.argv[1], setOpDiff) }

// setUnionDiffGeneric builds the union or difference in a new set (which takes the
// encoding the result's members imply), then replies it or stores it in dst.
func setUnionDiffGeneric(c *Client, keys [][]byte, dst []byte, op int) {
	sets, ok := c.setSources(keys)
	if !ok {
		return
	}
	sameSet := false
	for _, s := range sets[1:] {
		if s != nil && s == sets[0] {
			sameSet = true
		}
	}
	res := &setValue{is: intset.New()}
	maxIntset := c.srv.setMaxIntset()
	addAll := func(s *setValue) {
		s.each(func(m []byte, _ int64, _ bool) bool {
			res.add(m, maxIntset)
			return true
		})
	}
	switch {
	case op == setOpUnion:
		for _, s := range sets {
			if s != nil {
				addAll(s)
			}
		}
	case sets[0] == nil || sameSet:
		// SDIFF of a missing key, or of a key with itself, is empty.
	default:
		// Redis picks between testing each member of the first set against the others
		// (cost ~ |first| * sets, halved) and adding the first then removing the others
		// (cost ~ all members); the result is the same set.
		algo1, algo2 := 0, 0
		for _, s := range sets {
			if s != nil {
				algo1 += sets[0].size()
				algo2 += s.size()
			}
		}
		if algo1/2 <= algo2 {
			others := make([]*setValue, 0, len(sets)-1)
			for _, s := range sets[1:] {
				if s != nil {
					others = append(others, s)
				}
			}
			slices.SortStableFunc(others, func(a, b *setValue) int { return cmp.Compare(b.size(), a.size()) })
			sets[0].each(func(m []byte, v int64, isInt bool) bool {
				for _, o := range others {
					if isInt && o.hasInt(v) || !isInt && o.has(m) {
						return true
					}
				}
				res.add(m, maxIntset)
				return true
			})
		} else {
			addAll(sets[0])
			for _, s := range sets[1:] {
				if res.size() == 0 {
					break
				}
				if s == nil {
					continue
				}
				s.each(func(m []byte, _ int64, _ bool) bool {
					res.remove(m)
					return true
				})
			}
		}
	}
	if dst == nil {
		setReplyMembers(c, res)
		return
	}
	event := "sunionstore"
	if op == setOpDiff {
		event = "sdiffstore"
	}
	c.storeSetResult(dst, res, event)
}

// --- SSCAN ---

// collScanArgs is the parsed tail of SSCAN, HSCAN and ZSCAN.
type collScanArgs struct {
	cursor  uint64
	count   int
	pattern []byte // nil: everything matches
}

// parseCollScanOpts parses the options after SSCAN/HSCAN/ZSCAN's cursor (argv[3:]), replying
// the error when they are invalid. TYPE is SCAN's only.
func parseCollScanOpts(c *Client, a *collScanArgs) bool {
	a.count = 10
	for i := 3; i < len(c.argv); i += 2 {
		opt := c.argv[i]
		if i+1 >= len(c.argv) {
			c.w.Error(errSyntax)
			return false
		}
		switch {
		case argEq(opt, "count"):
			v, ok := num.ParseInt64(c.argv[i+1])
			if !ok {
				c.w.Error(errNotInt)
				return false
			}
			if v < 1 {
				c.w.Error(errSyntax)
				return false
			}
			a.count = int(min(v, math.MaxInt32))
		case argEq(opt, "match"):
			a.pattern = c.argv[i+1]
			if len(a.pattern) == 1 && a.pattern[0] == '*' {
				a.pattern = nil
			}
		default:
			c.w.Error(errSyntax)
			return false
		}
	}
	return true
}

// emptyScanReply is what SSCAN/HSCAN/ZSCAN answer for a missing key.
func emptyScanReply(c *Client) {
	c.w.Array(2)
	c.w.BulkString("0")
	c.w.Array(0)
}

// scanTable walks a collection's hashtable from cursor the way Redis's scanGenericCommand
// does: whole buckets until at least count items were collected (perElem counts what one
// element contributes, 2 for a hash's field and value), at most count*10 buckets.
func scanTable(ht *keyspace.DB, cursor uint64, count, perElem int, fn func(r keyspace.Ref)) uint64 {
	collected := 0
	iterations := count * 10
	for {
		cursor = ht.Scan(cursor, func(r keyspace.Ref) {
			collected += perElem
			fn(r)
		})
		if cursor == 0 || iterations == 0 || collected >= count {
			return cursor
		}
		iterations--
	}
}

func sscanCommand(c *Client) {
	s, a, ok := scanStart[*setValue](c, keyspace.TypeSet)
	if !ok {
		return
	}
	var out [][]byte
	cursor := uint64(0)
	if s.ht == nil {
		// An intset answers in one call, cursor 0, whatever COUNT says (as Redis does).
		s.each(func(m []byte, _ int64, _ bool) bool {
			if a.pattern == nil || glob.Match(a.pattern, m, false) {
				out = append(out, bytes.Clone(m))
			}
			return true
		})
	} else {
		ht := s.ht
		cursor = scanTable(ht, a.cursor, a.count, 1, func(r keyspace.Ref) {
			m := ht.Key(r)
			if a.pattern == nil || glob.Match(a.pattern, m, false) {
				out = append(out, bytes.Clone(m))
			}
		})
	}
	c.w.Array(2)
	c.w.BulkInt(int64(cursor))
	c.w.Array(len(out))
	for _, m := range out {
		c.w.Bulk(m)
	}
}

func init() {
	register(map[string]func(*Client){
		"sadd":        saddCommand,
		"srem":        sremCommand,
		"sismember":   sismemberCommand,
		"smismember":  smismemberCommand,
		"scard":       scardCommand,
		"smembers":    smembersCommand,
		"smove":       smoveCommand,
		"spop":        spopCommand,
		"srandmember": srandmemberCommand,
		"sinter":      sinterCommand,
		"sinterstore": sinterstoreCommand,
		"sintercard":  sintercardCommand,
		"sunion":      sunionCommand,
		"sunionstore": sunionstoreCommand,
		"sdiff":       sdiffCommand,
		"sdiffstore":  sdiffstoreCommand,
		"sscan":       sscanCommand,
	})
}
