package server

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
	"github.com/sard-kv/sard/internal/zset"
)

// Sorted set commands. Values are *zset.Set (internal/zset): a listpack while small, a
// dictionary plus counted B+tree (OBJECT ENCODING "skiplist") once over the
// zset-max-listpack-* thresholds.
//
// For the blocking commands (BZPOPMIN, BZPOPMAX, BZMPOP), zsetPop (Redis's
// genericZpopCommand) pops from the first existing key among keys and replies, notifies,
// counts dirty and sets the propagation; it reports whether it popped anything.

// Encodings of a sorted set as Redis numbers them (OBJ_ENCODING_*), stored in the entry.
const (
	zsetEncSkiplist uint8 = 7
	zsetEncListpack uint8 = 11
)

// Error replies of the sorted set commands.
const (
	errZAddXXNX        = "ERR XX and NX options at the same time are not compatible"
	errZAddGTLTNX      = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errZAddIncrPair    = "ERR INCR option supports a single increment-element pair"
	errZNaN            = "ERR resulting score is not a number (NaN)"
	errZMinMaxFloat    = "ERR min or max is not a float"
	errZMinMaxLex      = "ERR min or max not valid string range item"
	errZLimitRank      = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	errZWithscoresLex  = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	errZWeightFloat    = "ERR weight value is not a float"
	errZLimitNegative  = "ERR LIMIT can't be negative"
	errZPositive       = "ERR value is out of range, must be positive"
	errZNumkeys        = "ERR numkeys should be greater than 0"
	errZCount          = "ERR count should be greater than 0"
	errZRandRange      = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errZOutOfRange     = "ERR value is out of range"
	errZAtLeastOneKey  = "ERR at least 1 input key is needed for '%s' command"
	zsetRandReplyLimit = 512 << 20 // bytes: a ZRANDMEMBER reply beyond this closes the client
)

func zsetEnc(z *zset.Set) uint8 {
	if z.IsBig() {
		return zsetEncSkiplist
	}
	return zsetEncListpack
}

// zsetLimits reads zset-max-listpack-entries and -value at conversion time.
func (s *Server) zsetLimits() (entries, value int64) {
	return s.hot.zsetEntries.Get(), s.hot.zsetValue.Get()
}

// lookupZSet finds the sorted set at key; a missing key gives a nil set, a key of another
// type replies WRONGTYPE and ok false.
func (c *Client) lookupZSet(key []byte, write bool) (r keyspace.Ref, z *zset.Set, ok bool) {
	r, z, _, ok = lookupTyped[*zset.Set](c, key, write, keyspace.TypeZSet)
	return r, z, ok
}

// storeZSet puts z at key, replacing whatever was there and its TTL (Redis's setKey).
func (db *DB) storeZSet(key []byte, z *zset.Set) keyspace.Ref {
	return db.setObj(key, keyspace.TypeZSet, zsetEnc(z), z)
}

// zsetInsert adds a member that is not in z, converting it to the large encoding first when
// Redis would (the entry count or the member length over the thresholds).
func zsetInsert(z *zset.Set, member []byte, score float64, maxEntries, maxValue int64) (converted bool) {
	if !z.IsBig() && zset.NeedsBig(z.Len(), len(member), maxEntries, maxValue) {
		z.ConvertToBig()
		converted = true
	}
	z.Insert(member, score)
	return converted
}

// newZSetFor returns the empty set a store command fills: a listpack unless already too
// big for one.
func newZSetFor(n int, maxEntries int64) *zset.Set {
	if int64(n) > maxEntries {
		return zset.NewBig()
	}
	return zset.New()
}

// parseStrtod reads a range bound the way C's strtod does inside Redis's zslParseRange:
// leading blanks skipped, an empty string is 0, overflow gives ±inf and underflow 0; NaN is
// refused.
func parseStrtod(b []byte) (float64, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	b = b[i:]
	if len(b) == 0 {
		return 0, true
	}
	if f, ok := num.ParseFloat(b); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// scoreRange is a parsed ZRANGEBYSCORE-style interval.
type scoreRange struct {
	min, max     float64
	minEx, maxEx bool
}

func parseScoreBound(b []byte) (v float64, ex bool, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		v, ok = parseStrtod(b[1:])
		return v, true, ok
	}
	v, ok = parseStrtod(b)
	return v, false, ok
}

func parseScoreRange(minArg, maxArg []byte) (r scoreRange, ok bool) {
	var ok1, ok2 bool
	r.min, r.minEx, ok1 = parseScoreBound(minArg)
	r.max, r.maxEx, ok2 = parseScoreBound(maxArg)
	return r, ok1 && ok2
}

// bounds returns the ranks [lo, hi) of the elements inside the range.
func (r *scoreRange) bounds(z *zset.Set) (int, int) {
	lo := z.CountWhileScore(func(s float64) bool {
		if r.minEx {
			return s <= r.min
		}
		return s < r.min
	})
	hi := z.CountWhileScore(func(s float64) bool {
		if r.maxEx {
			return s < r.max
		}
		return s <= r.max
	})
	return lo, max(lo, hi)
}

// lexRange is a parsed ZRANGEBYLEX interval; inf -1/+1 stands for "-" and "+".
type lexRange struct {
	min, max       []byte
	minInf, maxInf int
	minEx, maxEx   bool
}

func parseLexBound(b []byte) (v []byte, inf int, ex bool, ok bool) {
	if len(b) == 0 {
		return nil, 0, false, false
	}
	switch b[0] {
	case '+', '-':
		// Redis tests the byte after the sign against C's terminator.
		if len(b) > 1 && b[1] != 0 {
			return nil, 0, false, false
		}
		if b[0] == '+' {
			return nil, 1, true, true
		}
		return nil, -1, true, true
	case '(':
		return b[1:], 0, true, true
	case '[':
		return b[1:], 0, false, true
	}
	return nil, 0, false, false
}

func parseLexRange(minArg, maxArg []byte) (r lexRange, ok bool) {
	var ok1, ok2 bool
	r.min, r.minInf, r.minEx, ok1 = parseLexBound(minArg)
	r.max, r.maxInf, r.maxEx, ok2 = parseLexBound(maxArg)
	return r, ok1 && ok2
}

func (r *lexRange) gteMin(m []byte) bool {
	switch r.minInf {
	case -1:
		return true
	case 1:
		return false
	}
	c := bytes.Compare(m, r.min)
	if r.minEx {
		return c > 0
	}
	return c >= 0
}

func (r *lexRange) lteMax(m []byte) bool {
	switch r.maxInf {
	case 1:
		return true
	case -1:
		return false
	}
	c := bytes.Compare(m, r.max)
	if r.maxEx {
		return c < 0
	}
	return c <= 0
}

func (r *lexRange) bounds(z *zset.Set) (int, int) {
	lo := z.CountWhile(func(m []byte, _ float64) bool { return !r.gteMin(m) })
	hi := z.CountWhile(func(m []byte, _ float64) bool { return r.lteMax(m) })
	return lo, max(lo, hi)
}

// --- ZADD / ZINCRBY ---

func zaddCommand(c *Client)    { zaddGeneric(c, false) }
func zincrbyCommand(c *Client) { zaddGeneric(c, true) }

func zaddGeneric(c *Client, incr bool) {
	var nx, xx, gt, lt, ch bool
	i := 2
	for ; i < len(c.argv); i++ {
		a := c.argv[i]
		switch {
		case argEq(a, "nx"):
			nx = true
		case argEq(a, "xx"):
			xx = true
		case argEq(a, "gt"):
			gt = true
		case argEq(a, "lt"):
			lt = true
		case argEq(a, "ch"):
			ch = true
		case argEq(a, "incr"):
			incr = true
		default:
			goto parsed
		}
	}
parsed:
	pairs := len(c.argv) - i
	if pairs == 0 || pairs%2 != 0 {
		c.w.Error(errSyntax)
		return
	}
	pairs /= 2
	if nx && xx {
		c.w.Error(errZAddXXNX)
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.w.Error(errZAddGTLTNX)
		return
	}
	if incr && pairs > 1 {
		c.w.Error(errZAddIncrPair)
		return
	}
	scores := make([]float64, pairs)
	for j := range scores {
		f, ok := num.ParseFloat(c.argv[i+2*j])
		if !ok {
			c.w.Error(errNotFloat)
			return
		}
		scores[j] = f
	}
	key := c.argv[1]
	r, z, ok := c.lookupZSet(key, true)
	if !ok {
		return
	}
	if z == nil {
		if xx {
			if incr {
				c.w.Null()
			} else {
				c.w.Int(0)
			}
			return
		}
		z = zset.New()
		r = c.db.storeZSet(key, z)
	}
	maxE, maxV := c.srv.zsetLimits()
	added, updated, processed := 0, 0, 0
	var newScore float64
	nan := false
	for j, score := range scores {
		member := c.argv[i+2*j+1]
		cur, exists := z.Score(member)
		if exists {
			if nx {
				continue
			}
			if incr {
				score += cur
				if math.IsNaN(score) {
					nan = true
					break
				}
			}
			if (lt && score >= cur) || (gt && score <= cur) {
				continue
			}
			newScore = score
			processed++
			if score != cur {
				z.Update(member, score)
				updated++
			}
			continue
		}
		if xx {
			continue
		}
		if zsetInsert(z, member, score, maxE, maxV) {
			c.db.ks.SetEnc(r, zsetEncSkiplist)
		}
		newScore = score
		added++
		processed++
	}
	if added+updated > 0 {
		event := "zadd"
		if incr {
			event = "zincr"
		}
		c.srv.notifyKeyspace(notifyZSet, event, key, c.db.id)
	}
	c.srv.dirty += int64(added + updated)
	if nan {
		c.w.Error(errZNaN)
		return
	}
	switch {
	case incr && processed > 0:
		writeScore(&c.w, newScore)
	case incr:
		c.w.Null()
	case ch:
		c.w.Int(int64(added + updated))
	default:
		c.w.Int(int64(added))
	}
}

// --- ZREM, ZREMRANGEBY* ---

// zsetDeleteIfEmpty removes an emptied sorted set and notifies "del".
func (c *Client) zsetDeleteIfEmpty(key []byte, r keyspace.Ref, z *zset.Set) {
	if z.Len() == 0 {
		c.db.ks.DeleteRef(r)
		c.srv.notifyKeyspace(notifyGeneric, "del", key, c.db.id)
	}
}

func zremCommand(c *Client) {
	r, z, ok := c.lookupZSet(c.argv[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.w.Int(0)
		return
	}
	c.removeMembers(r, z.Remove, z.Len, notifyZSet, "zrem")
}

const (
	zrangeRank = iota
	zrangeScore
	zrangeLex
)

func zremrangebyrankCommand(c *Client)  { zremrangeGeneric(c, zrangeRank) }
func zremrangebyscoreCommand(c *Client) { zremrangeGeneric(c, zrangeScore) }
func zremrangebylexCommand(c *Client)   { zremrangeGeneric(c, zrangeLex) }

func zremrangeGeneric(c *Client, kind int) {
	var start, end int64
	var sr scoreRange
	var lr lexRange
	var ok bool
	switch kind {
	case zrangeRank:
		if start, ok = num.ParseInt64(c.argv[2]); !ok {
			c.w.Error(errNotInt)
			return
		}
		if end, ok = num.ParseInt64(c.argv[3]); !ok {
			c.w.Error(errNotInt)
			return
		}
	case zrangeScore:
		if sr, ok = parseScoreRange(c.argv[2], c.argv[3]); !ok {
			c.w.Error(errZMinMaxFloat)
			return
		}
	default:
		if lr, ok = parseLexRange(c.argv[2], c.argv[3]); !ok {
			c.w.Error(errZMinMaxLex)
			return
		}
	}
	key := c.argv[1]
	r, z, ok := c.lookupZSet(key, true)
	if !ok {
		return
	}
	if z == nil {
		c.w.Int(0)
		return
	}
	n := int64(z.Len())
	var lo, hi int
	switch kind {
	case zrangeRank:
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		start = max(start, 0)
		if start > end || start >= n {
			c.w.Int(0)
			return
		}
		end = min(end, n-1)
		lo, hi = int(start), int(end)+1
	case zrangeScore:
		lo, hi = sr.bounds(z)
	default:
		lo, hi = lr.bounds(z)
	}
	deleted := hi - lo
	if deleted > 0 {
		z.RemoveRange(lo, hi-1, nil)
		event := [...]string{"zremrangebyrank", "zremrangebyscore", "zremrangebylex"}[kind]
		c.srv.notifyKeyspace(notifyZSet, event, key, c.db.id)
		c.zsetDeleteIfEmpty(key, r, z)
		c.srv.dirty += int64(deleted)
	}
	c.w.Int(int64(deleted))
}

// --- simple reads ---

func zcardCommand(c *Client) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(z.Len()))
}

func zscoreCommand(c *Client) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Null()
		return
	}
	if s, found := z.Score(c.argv[2]); found {
		writeScore(&c.w, s)
		return
	}
	c.w.Null()
}

func zmscoreCommand(c *Client) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	c.w.Array(len(c.argv) - 2)
	for _, m := range c.argv[2:] {
		if z != nil {
			if s, found := z.Score(m); found {
				writeScore(&c.w, s)
				continue
			}
		}
		c.w.Null()
	}
}

func zrankCommand(c *Client)    { zrankGeneric(c, false) }
func zrevrankCommand(c *Client) { zrankGeneric(c, true) }

func zrankGeneric(c *Client, rev bool) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Null()
		return
	}
	rank, _, found := z.Rank(c.argv[2])
	if !found {
		c.w.Null()
		return
	}
	if rev {
		rank = z.Len() - 1 - rank
	}
	c.w.Int(int64(rank))
}

func zcountCommand(c *Client) {
	sr, ok := parseScoreRange(c.argv[2], c.argv[3])
	zcountGeneric(c, &sr, ok, errZMinMaxFloat)
}

func zlexcountCommand(c *Client) {
	lr, ok := parseLexRange(c.argv[2], c.argv[3])
	zcountGeneric(c, &lr, ok, errZMinMaxLex)
}

// zcountGeneric replies how many members of the sorted set at argv[1] fall in
// rng, or rangeErr when the range did not parse (checked before the key, as Redis does).
func zcountGeneric(c *Client, rng interface{ bounds(*zset.Set) (int, int) }, parsed bool, rangeErr string) {
	if !parsed {
		c.w.Error(rangeErr)
		return
	}
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Int(0)
		return
	}
	lo, hi := rng.bounds(z)
	c.w.Int(int64(hi - lo))
}

// --- ZRANGE family ---

// zrangeOut receives a range result: a client reply or, for ZRANGESTORE, a new set.
type zrangeOut struct {
	c          *Client
	withScores bool
	store      bool
	dst        []byte
	res        *zset.Set
	maxE, maxV int64
	d          resp.Deferred
	deferred   bool
	n          int
}

// begin starts the result; length -1 means unknown yet.
func (o *zrangeOut) begin(length int) {
	if o.store {
		o.maxE, o.maxV = o.c.srv.zsetLimits()
		o.res = newZSetFor(length, o.maxE)
		return
	}
	if length < 0 {
		o.d, o.deferred = o.c.w.Defer(), true
		return
	}
	if o.withScores && o.c.w.Proto == 2 {
		length *= 2
	}
	o.c.w.Array(length)
}

func (o *zrangeOut) emit(member []byte, score float64) {
	o.n++
	if o.store {
		zsetInsert(o.res, member, score, o.maxE, o.maxV)
		return
	}
	w := &o.c.w
	if o.withScores && w.Proto > 2 {
		w.Array(2)
	}
	w.Bulk(member)
	if o.withScores {
		writeScore(w, score)
	}
}

func (o *zrangeOut) finish() {
	c := o.c
	if o.store {
		if o.n > 0 {
			c.db.storeZSet(o.dst, o.res)
			c.w.Int(int64(o.n))
			c.srv.notifyKeyspace(notifyZSet, "zrangestore", o.dst, c.db.id)
			c.srv.dirty++
			return
		}
		c.w.Int(0)
		if c.db.delete(o.dst) {
			c.srv.notifyKeyspace(notifyGeneric, "del", o.dst, c.db.id)
			c.srv.dirty++
		}
		return
	}
	if o.deferred {
		n := o.n
		if o.withScores && c.w.Proto == 2 {
			n *= 2
		}
		c.w.FillArray(o.d, n)
	}
}

const (
	dirAuto = iota
	dirForward
	dirReverse
)

const zrangeAuto = -1

func zrangeCommand(c *Client)      { zrangeGeneric(c, 1, false, zrangeAuto, dirAuto) }
func zrangestoreCommand(c *Client) { zrangeGeneric(c, 2, true, zrangeAuto, dirAuto) }
func zrevrangeCommand(c *Client)   { zrangeGeneric(c, 1, false, zrangeRank, dirReverse) }
func zrangebyscoreCommand(c *Client) {
	zrangeGeneric(c, 1, false, zrangeScore, dirForward)
}
func zrevrangebyscoreCommand(c *Client) {
	zrangeGeneric(c, 1, false, zrangeScore, dirReverse)
}
func zrangebylexCommand(c *Client)    { zrangeGeneric(c, 1, false, zrangeLex, dirForward) }
func zrevrangebylexCommand(c *Client) { zrangeGeneric(c, 1, false, zrangeLex, dirReverse) }

// zrangeGeneric is Redis's zrangeGenericCommand: every ZRANGE variant, argStart being the
// index of the source key.
func zrangeGeneric(c *Client, argStart int, store bool, kind, dir int) {
	key := c.argv[argStart]
	minIdx, maxIdx := argStart+1, argStart+2
	withScores := false
	var offset, limit int64 = 0, -1
	for j := argStart + 3; j < len(c.argv); j++ {
		a := c.argv[j]
		left := len(c.argv) - j - 1
		switch {
		case !store && argEq(a, "withscores"):
			withScores = true
		case argEq(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = num.ParseInt64(c.argv[j+1]); !ok {
				c.w.Error(errNotInt)
				return
			}
			if limit, ok = num.ParseInt64(c.argv[j+2]); !ok {
				c.w.Error(errNotInt)
				return
			}
			j += 2
		case dir == dirAuto && argEq(a, "rev"):
			dir = dirReverse
		case kind == zrangeAuto && argEq(a, "bylex"):
			kind = zrangeLex
		case kind == zrangeAuto && argEq(a, "byscore"):
			kind = zrangeScore
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if dir == dirAuto {
		dir = dirForward
	}
	if kind == zrangeAuto {
		kind = zrangeRank
	}
	if limit != -1 && kind == zrangeRank {
		c.w.Error(errZLimitRank)
		return
	}
	if withScores && kind == zrangeLex {
		c.w.Error(errZWithscoresLex)
		return
	}
	rev := dir == dirReverse
	if rev && kind != zrangeRank {
		// the reverse forms take max before min
		minIdx, maxIdx = maxIdx, minIdx
	}
	var start, end int64
	var sr scoreRange
	var lr lexRange
	var ok bool
	switch kind {
	case zrangeRank:
		if start, ok = num.ParseInt64(c.argv[minIdx]); !ok {
			c.w.Error(errNotInt)
			return
		}
		if end, ok = num.ParseInt64(c.argv[maxIdx]); !ok {
			c.w.Error(errNotInt)
			return
		}
	case zrangeScore:
		if sr, ok = parseScoreRange(c.argv[minIdx], c.argv[maxIdx]); !ok {
			c.w.Error(errZMinMaxFloat)
			return
		}
	default:
		if lr, ok = parseLexRange(c.argv[minIdx], c.argv[maxIdx]); !ok {
			c.w.Error(errZMinMaxLex)
			return
		}
	}
	out := &zrangeOut{c: c, withScores: withScores || store, store: store}
	if store {
		out.dst = c.argv[1]
		out.withScores = false
	}
	r, found := c.db.lookupRead(key)
	if !found {
		if store {
			out.begin(-1)
			out.finish()
		} else {
			c.w.Array(0)
		}
		return
	}
	if c.db.ks.Type(r) != keyspace.TypeZSet {
		c.w.Error(errWrongType)
		return
	}
	z := c.db.ks.Obj(r).(*zset.Set)
	n := int64(z.Len())
	if kind == zrangeRank {
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		start = max(start, 0)
		if start > end || start >= n {
			out.begin(0)
			out.finish()
			return
		}
		end = min(end, n-1)
		out.begin(int(end - start + 1))
		lo, hi := int(start), int(end)
		if rev {
			lo, hi = int(n-1-end), int(n-1-start)
		}
		z.Range(lo, hi, rev, func(m []byte, s float64) bool {
			out.emit(m, s)
			return true
		})
		out.finish()
		return
	}
	if offset > 0 && offset >= n {
		out.begin(0)
		out.finish()
		return
	}
	out.begin(-1)
	var lo, hi int
	if kind == zrangeScore {
		lo, hi = sr.bounds(z)
	} else {
		lo, hi = lr.bounds(z)
	}
	// A negative offset walks past every element in Redis: nothing is returned.
	if offset >= 0 && int64(hi-lo) > offset {
		k := int64(hi-lo) - offset
		if limit >= 0 {
			k = min(k, limit)
		}
		if k > 0 {
			a, b := lo+int(offset), lo+int(offset)+int(k)-1
			if rev {
				a, b = hi-int(offset)-int(k), hi-1-int(offset)
			}
			z.Range(a, b, rev, func(m []byte, s float64) bool {
				out.emit(m, s)
				return true
			})
		}
	}
	out.finish()
}

// --- pops ---

func zpopminCommand(c *Client) { zpopMinMax(c, false) }
func zpopmaxCommand(c *Client) { zpopMinMax(c, true) }

func zpopMinMax(c *Client, max bool) {
	if len(c.argv) > 3 {
		c.w.Error(errSyntax)
		return
	}
	count := int64(-1)
	if len(c.argv) == 3 {
		v, ok := num.ParseInt64(c.argv[2])
		if !ok || v < 0 {
			c.w.Error(errZPositive)
			return
		}
		count = v
	}
	c.srv.zsetPop(c, c.argv[1:2], max, count, false, c.w.Proto > 2 && count != -1, false)
}

// zsetPop is Redis's genericZpopCommand: it pops up to count (-1: one, flat reply) elements
// from the first existing key, which must hold a sorted set. emitKey puts the key in the
// reply (BZPOP*, ZMPOP), nested uses [member, score] pairs, nilWhenEmpty replies a null
// array rather than an empty one when no key exists. It reports whether it popped.
func (s *Server) zsetPop(c *Client, keys [][]byte, max bool, count int64, emitKey, nested, nilWhenEmpty bool) bool {
	var key []byte
	var r keyspace.Ref
	var z *zset.Set
	for _, k := range keys {
		var ok bool
		r, z, ok = c.lookupZSet(k, true)
		if !ok {
			return false
		}
		if z != nil {
			key = k
			break
		}
	}
	if z == nil {
		if nilWhenEmpty {
			c.w.NullArray()
		} else {
			c.w.Array(0)
		}
		return false
	}
	if count == 0 {
		c.w.Array(0)
		return false
	}
	single := count == -1
	if single {
		count = 1
	}
	n := int64(z.Len())
	k := min(count, n)
	switch {
	case !nested && !emitKey:
		c.w.Array(int(k * 2))
	case nested && !emitKey:
		c.w.Array(int(k))
	case !nested && emitKey:
		c.w.Array(int(k*2 + 1))
		c.w.Bulk(key)
	default:
		c.w.Array(2)
		c.w.Bulk(key)
		c.w.Array(int(k))
	}
	lo, hi := 0, int(k)-1
	if max {
		lo, hi = int(n-k), int(n-1)
	}
	z.Range(lo, hi, max, func(m []byte, sc float64) bool {
		if nested {
			c.w.Array(2)
		}
		c.w.Bulk(m)
		writeScore(&c.w, sc)
		return true
	})
	z.RemoveRange(lo, hi, nil)
	s.dirty += k
	event := "zpopmin"
	if max {
		event = "zpopmax"
	}
	s.notifyKeyspace(notifyZSet, event, key, c.db.id)
	c.zsetDeleteIfEmpty(key, r, z)
	if emitKey {
		// ZMPOP/BZMPOP propagate as ZPOPMIN/ZPOPMAX key count, BZPOPMIN/BZPOPMAX as
		// ZPOPMIN/ZPOPMAX key.
		name := "ZPOPMIN"
		if max {
			name = "ZPOPMAX"
		}
		c.propArgv = [][]byte{[]byte(name), bytes.Clone(key)}
		if nested {
			// the count actually popped, as Redis propagates it
			c.propArgv = append(c.propArgv, strconv.AppendInt(nil, k, 10))
		}
	}
	return true
}

func zmpopCommand(c *Client) {
	nk, ok := num.ParseInt64(c.argv[1])
	if !ok || nk < 1 {
		c.w.Error(errZNumkeys)
		return
	}
	whereIdx := 2 + nk
	if nk > int64(len(c.argv)) || whereIdx >= int64(len(c.argv)) {
		c.w.Error(errSyntax)
		return
	}
	var max bool
	switch w := c.argv[whereIdx]; {
	case argEq(w, "min"):
	case argEq(w, "max"):
		max = true
	default:
		c.w.Error(errSyntax)
		return
	}
	count := int64(-1)
	for j := int(whereIdx) + 1; j < len(c.argv); j++ {
		more := len(c.argv) - 1 - j
		if count == -1 && argEq(c.argv[j], "count") && more > 0 {
			j++
			v, ok := num.ParseInt64(c.argv[j])
			if !ok || v < 1 {
				c.w.Error(errZCount)
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
	c.srv.zsetPop(c, c.argv[2:whereIdx], max, count, true, true, true)
}

// --- ZRANDMEMBER ---

func zrandmemberCommand(c *Client) {
	if len(c.argv) >= 3 {
		l, ok := num.ParseInt64(c.argv[2])
		if !ok {
			c.w.Error(errNotInt)
			return
		}
		if l == math.MinInt64 {
			c.w.Error(errZRandRange)
			return
		}
		withScores := false
		if len(c.argv) > 4 || (len(c.argv) == 4 && !argEq(c.argv[3], "withscores")) {
			c.w.Error(errSyntax)
			return
		} else if len(c.argv) == 4 {
			withScores = true
			if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
				c.w.Error(errZOutOfRange)
				return
			}
		}
		zrandmemberWithCount(c, l, withScores)
		return
	}
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Null()
		return
	}
	m, _ := z.Random(rand.IntN)
	c.w.Bulk(m)
}

func zrandmemberWithCount(c *Client, l int64, withScores bool) {
	_, z, ok := c.lookupZSet(c.argv[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.Array(0)
		return
	}
	size := int64(z.Len())
	count, unique := l, true
	if l < 0 {
		count, unique = -l, false
	}
	if count == 0 {
		c.w.Array(0)
		return
	}
	pair := func(m []byte, s float64) {
		if withScores && c.w.Proto > 2 {
			c.w.Array(2)
		}
		c.w.Bulk(m)
		if withScores {
			writeScore(&c.w, s)
		}
	}
	header := func(n int64) {
		if withScores && c.w.Proto == 2 {
			n *= 2
		}
		c.w.Array(int(n))
	}
	if !unique || count == 1 {
		header(count)
		start := len(c.w.Buf)
		for i := int64(0); i < count; i++ {
			rank := rand.IntN(int(size))
			z.Range(rank, rank, false, func(m []byte, s float64) bool {
				pair(m, s)
				return false
			})
			// Redis would stream a huge reply until memory runs out; close the client instead.
			if len(c.w.Buf)-start > zsetRandReplyLimit {
				c.flags |= flagCloseASAP
				return
			}
		}
		return
	}
	if count >= size {
		// Redis returns the whole set, highest score first.
		header(size)
		z.Range(0, int(size-1), true, func(m []byte, s float64) bool {
			pair(m, s)
			return true
		})
		return
	}
	// A uniform sample of distinct ranks, in random order.
	picked := make(map[int]struct{}, count)
	order := make([]int, 0, count)
	if count*3 > size {
		perm := rand.Perm(int(size))
		order = perm[:count]
	} else {
		for int64(len(order)) < count {
			rk := rand.IntN(int(size))
			if _, dup := picked[rk]; dup {
				continue
			}
			picked[rk] = struct{}{}
			order = append(order, rk)
		}
	}
	header(count)
	for _, rk := range order {
		z.Range(rk, rk, false, func(m []byte, s float64) bool {
			pair(m, s)
			return false
		})
	}
}

// --- ZSCAN ---

func zscanCommand(c *Client) {
	z, a, ok := scanStart[*zset.Set](c, keyspace.TypeZSet)
	if !ok {
		return
	}
	var out [][]byte
	visit := func(m, s []byte) {
		if a.pattern == nil || glob.Match(a.pattern, m, false) {
			out = append(out, bytes.Clone(m), bytes.Clone(s))
		}
	}
	cursor := uint64(0)
	if !z.IsBig() {
		z.Scan(0, visit)
	} else {
		// Whole buckets until COUNT items (a member and its score count as two), at most
		// ten times COUNT buckets, as Redis's scanGenericCommand.
		collected, iterations := 0, a.count*10
		cursor = a.cursor
		for {
			cursor = z.Scan(cursor, func(m, s []byte) {
				collected += 2
				visit(m, s)
			})
			if cursor == 0 || iterations == 0 || collected >= a.count {
				break
			}
			iterations--
		}
	}
	c.w.Array(2)
	c.w.BulkInt(int64(cursor))
	c.w.Array(len(out))
	for _, b := range out {
		c.w.Bulk(b)
	}
}

func init() {
	register(map[string]func(*Client){
		"zadd":             zaddCommand,
		"zincrby":          zincrbyCommand,
		"zrem":             zremCommand,
		"zremrangebyrank":  zremrangebyrankCommand,
		"zremrangebyscore": zremrangebyscoreCommand,
		"zremrangebylex":   zremrangebylexCommand,
		"zcard":            zcardCommand,
		"zscore":           zscoreCommand,
		"zmscore":          zmscoreCommand,
		"zrank":            zrankCommand,
		"zrevrank":         zrevrankCommand,
		"zcount":           zcountCommand,
		"zlexcount":        zlexcountCommand,
		"zrange":           zrangeCommand,
		"zrangestore":      zrangestoreCommand,
		"zrevrange":        zrevrangeCommand,
		"zrangebyscore":    zrangebyscoreCommand,
		"zrevrangebyscore": zrevrangebyscoreCommand,
		"zrangebylex":      zrangebylexCommand,
		"zrevrangebylex":   zrevrangebylexCommand,
		"zpopmin":          zpopminCommand,
		"zpopmax":          zpopmaxCommand,
		"zmpop":            zmpopCommand,
		"zrandmember":      zrandmemberCommand,
		"zscan":            zscanCommand,
		"zunion":           zunionCommand,
		"zinter":           zinterCommand,
		"zdiff":            zdiffCommand,
		"zunionstore":      zunionstoreCommand,
		"zinterstore":      zinterstoreCommand,
		"zdiffstore":       zdiffstoreCommand,
		"zintercard":       zintercardCommand,
	})
}
