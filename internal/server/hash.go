package server

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/glob"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/num"
)

// Hash commands. A hash is a listpack of field, value, field, value... (internal/listpack,
// Redis's byte format) while it has at most hash-max-listpack-entries fields and no field or
// value longer than hash-max-listpack-value bytes, then a hashtable for good: a pointer-free
// keyspace.DB mapping fields to values.

// Encodings of a hash, stored in the keyspace entry as Redis's OBJ_ENCODING_* numbers.
const (
	hashEncHashtable uint8 = 2
	hashEncListpack  uint8 = 11
)

// Error replies of the hash commands.
const (
	errHashNotInt       = "ERR hash value is not an integer"
	errHashRandRange    = "ERR value is out of range"
	listpackSafetyLimit = 1 << 30 // Redis converts before a listpack would pass 1 GB
)

// hashValue is a hash stored in the keyspace: exactly one of lp and ht is in use.
type hashValue struct {
	lp []byte
	ht *keyspace.DB
}

func newHashValue() *hashValue { return &hashValue{lp: listpack.New()} }

// hashLimits are the conversion thresholds, read once per command.
type hashLimits struct{ entries, value int }

func (s *Server) hashLimits() hashLimits {
	return hashLimits{int(s.hot.hashEntries.Get()), int(s.hot.hashValue.Get())}
}

func (h *hashValue) enc() uint8 {
	if h.ht != nil {
		return hashEncHashtable
	}
	return hashEncListpack
}

func (h *hashValue) length() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return listpack.Len(h.lp) / 2
}

// toHashtable converts a listpack hash; the caller updates the key's stored encoding.
func (h *hashValue) toHashtable() {
	if h.ht != nil {
		return
	}
	ht := keyspace.New(keyspace.Options{})
	h.each(func(f, v []byte) bool {
		ht.SetString(f, 0, v, 0, false)
		return true
	})
	h.ht, h.lp = ht, nil
}

// tryConversion converts before a write whose arguments would not fit a listpack: one
// longer than hash-max-listpack-value, or a listpack growing past its safety limit
// (Redis's hashTypeTryConversion).
func (h *hashValue) tryConversion(args [][]byte, lim hashLimits) {
	if h.ht != nil {
		return
	}
	sum := 0
	for _, a := range args {
		if len(a) > lim.value {
			h.toHashtable()
			return
		}
		sum += len(a)
	}
	if len(h.lp)+sum > listpackSafetyLimit {
		h.toHashtable()
	}
}

// reserve grows a listpack once to hold the new fields of an HSET's pairs, so that a
// multi-field write does not reallocate per entry; a hash is typically written once and
// kept, and each reallocation leaves garbage that the Go heap has to absorb.
func (h *hashValue) reserve(pairs [][]byte) {
	if h.ht != nil {
		return
	}
	need := 0
	for i := 0; i+1 < len(pairs); i += 2 {
		if h.lpFind(pairs[i]) < 0 {
			need += listpack.EntrySize(pairs[i]) + listpack.EntrySize(pairs[i+1])
		}
	}
	if need > cap(h.lp)-len(h.lp) {
		lp := make([]byte, len(h.lp), len(h.lp)+need)
		copy(lp, h.lp)
		h.lp = lp
	}
}

// lpFind returns the position of field's value in the listpack, or -1.
func (h *hashValue) lpFind(field []byte) int {
	p := listpack.First(h.lp)
	if p < 0 {
		return -1
	}
	p = listpack.Find(h.lp, p, field, 1)
	if p < 0 {
		return -1
	}
	return listpack.Next(h.lp, p)
}

// get returns field's value (formatted into buf when the listpack holds an integer).
func (h *hashValue) get(field, buf []byte) ([]byte, bool) {
	if h.ht != nil {
		r, ok := h.ht.Lookup(field)
		if !ok {
			return nil, false
		}
		return h.ht.Str(r), true
	}
	p := h.lpFind(field)
	if p < 0 {
		return nil, false
	}
	return listpack.GetBytes(h.lp, p, buf), true
}

// set stores field = value and reports whether the field existed. Like Redis's hashTypeSet
// it converts a listpack when field or value is too long for it, or when the new field
// takes it past hash-max-listpack-entries.
func (h *hashValue) set(field, value []byte, lim hashLimits) bool {
	if h.ht == nil && (len(field) > lim.value || len(value) > lim.value) {
		h.toHashtable()
	}
	if h.ht != nil {
		_, existed := h.ht.SetString(field, 0, value, 0, false)
		return existed
	}
	if p := h.lpFind(field); p >= 0 {
		h.lp = listpack.Replace(h.lp, p, value)
		return true
	}
	h.lp = listpack.Grow(h.lp, listpack.EntrySize(field)+listpack.EntrySize(value))
	h.lp = listpack.Append(h.lp, field)
	h.lp = listpack.Append(h.lp, value)
	if h.length() > lim.entries {
		h.toHashtable()
	}
	return false
}

func (h *hashValue) del(field []byte) bool {
	if h.ht != nil {
		return h.ht.Delete(field)
	}
	p := h.lpFind(field)
	if p < 0 {
		return false
	}
	h.lp = listpack.DeleteFrom(h.lp, listpack.Prev(h.lp, p), 2)
	return true
}

// each calls fn for every pair, in listpack order or hashtable order, until it returns
// false. The slices are only valid during the call; fn must not modify h.
func (h *hashValue) each(fn func(f, v []byte) bool) {
	if h.ht != nil {
		ht := h.ht
		ht.ForEach(func(r keyspace.Ref) bool { return fn(ht.Key(r), ht.Str(r)) })
		return
	}
	// Integers need formatting into buffers, which fn makes escape: allocated only when the
	// listpack holds one.
	var bufs *[2][24]byte
	get := func(p, i int) []byte {
		s, v, isInt := listpack.Get(h.lp, p)
		if !isInt {
			return s
		}
		if bufs == nil {
			bufs = new([2][24]byte)
		}
		return strconv.AppendInt(bufs[i][:0], v, 10)
	}
	for p := listpack.First(h.lp); p >= 0; {
		f := get(p, 0)
		p = listpack.Next(h.lp, p)
		v := get(p, 1)
		p = listpack.Next(h.lp, p)
		if !fn(f, v) {
			return
		}
	}
}

// hashPair is a field and its value, copied out of the hash.
type hashPair struct{ f, v []byte }

func (h *hashValue) pairs() []hashPair {
	out := make([]hashPair, 0, h.length())
	h.each(func(f, v []byte) bool {
		out = append(out, hashPair{bytes.Clone(f), bytes.Clone(v)})
		return true
	})
	return out
}

// random returns a uniformly chosen pair of a non-empty hash, valid until h changes.
func (h *hashValue) random(fb, vb []byte) (f, v []byte) {
	if h.ht != nil {
		r, _ := h.ht.RandomKey(rand.IntN)
		return h.ht.Key(r), h.ht.Str(r)
	}
	p := listpack.Seek(h.lp, 2*rand.IntN(h.length()))
	return listpack.GetBytes(h.lp, p, fb), listpack.GetBytes(h.lp, listpack.Next(h.lp, p), vb)
}

// CloneValue implements valueCloner (COPY).
func (h *hashValue) CloneValue() any {
	if h.ht == nil {
		return &hashValue{lp: bytes.Clone(h.lp)}
	}
	ht := keyspace.New(keyspace.Options{})
	h.each(func(f, v []byte) bool {
		ht.SetString(f, 0, v, 0, false)
		return true
	})
	return &hashValue{ht: ht}
}

// MemoryUsage implements valueSizer (MEMORY USAGE); the figures are exact, so samples is
// not needed.
func (h *hashValue) MemoryUsage(samples int) int {
	const header = 32 // the hashValue itself
	if h.ht == nil {
		return header + cap(h.lp)
	}
	return header + tableBytes(h.ht)
}

// EncodingName implements valueEncoder (OBJECT ENCODING).
func (h *hashValue) EncodingName() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// Digest implements valueDigester (DEBUG DIGEST).
func (h *hashValue) Digest(start digest.Start, expireAt int64) digest.Digest {
	d := start.Hash()
	h.each(func(f, v []byte) bool {
		d.Add(f, v)
		return true
	})
	return d.Sum(expireAt)
}

// lookupHash finds the hash at key for reading (write: for writing). It returns a nil hash
// when the key does not exist and ok false after replying WRONGTYPE.
func (c *Client) lookupHash(key []byte, write bool) (r keyspace.Ref, h *hashValue, ok bool) {
	r, h, _, ok = lookupTyped[*hashValue](c, key, write, keyspace.TypeHash)
	return r, h, ok
}

// lookupHashOrCreate is Redis's hashTypeLookupWriteOrCreate: the hash at key, created empty
// when missing. The caller must leave it non-empty.
func (c *Client) lookupHashOrCreate(key []byte) (keyspace.Ref, *hashValue, bool) {
	r, h, ok := c.lookupHash(key, true)
	if !ok || h != nil {
		return r, h, ok
	}
	h = newHashValue()
	r = c.db.setObj(key, keyspace.TypeHash, h.enc(), h)
	return r, h, true
}

// hsetCommand is HSET and HMSET, which differ only in their reply.
func hsetCommand(c *Client) {
	if len(c.argv)%2 == 1 {
		c.w.Error(fmt.Sprintf(errWrongArgs, c.cmd.FullName))
		return
	}
	key := c.argv[1]
	r, h, ok := c.lookupHashOrCreate(key)
	if !ok {
		return
	}
	lim := c.srv.hashLimits()
	h.tryConversion(c.argv[2:], lim)
	if len(c.argv) > 4 {
		h.reserve(c.argv[2:]) // set grows the listpack once for a single pair itself
	}
	created := 0
	for i := 2; i < len(c.argv); i += 2 {
		if !h.set(c.argv[i], c.argv[i+1], lim) {
			created++
		}
	}
	c.db.ks.SetEnc(r, h.enc())
	if argEq(c.argv[0], "hmset") {
		c.w.OK()
	} else {
		c.w.Int(int64(created))
	}
	c.srv.notifyKeyspace(notifyHash, "hset", key, c.db.id)
	c.srv.dirty += int64(len(c.argv)-2) / 2
}

func hsetnxCommand(c *Client) {
	key, field := c.argv[1], c.argv[2]
	r, h, ok := c.lookupHash(key, true)
	if !ok {
		return
	}
	if h != nil {
		if _, exists := h.get(field, nil); exists {
			c.w.Int(0)
			return
		}
	} else {
		r, h, _ = c.lookupHashOrCreate(key)
	}
	lim := c.srv.hashLimits()
	h.tryConversion(c.argv[2:4], lim)
	h.set(field, c.argv[3], lim)
	c.db.ks.SetEnc(r, h.enc())
	c.w.Int(1)
	c.srv.notifyKeyspace(notifyHash, "hset", key, c.db.id)
	c.srv.dirty++
}

func hgetCommand(c *Client) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	var buf [24]byte
	if h != nil {
		if v, found := h.get(c.argv[2], buf[:0]); found {
			c.w.Bulk(v)
			return
		}
	}
	c.w.Null()
}

func hmgetCommand(c *Client) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	var buf [24]byte
	c.w.Array(len(c.argv) - 2)
	for _, f := range c.argv[2:] {
		if h != nil {
			if v, found := h.get(f, buf[:0]); found {
				c.w.Bulk(v)
				continue
			}
		}
		c.w.Null()
	}
}

func hlenCommand(c *Client) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.w.Int(0)
		return
	}
	c.w.Int(int64(h.length()))
}

func hstrlenCommand(c *Client) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	var buf [24]byte
	if h != nil {
		if v, found := h.get(c.argv[2], buf[:0]); found {
			c.w.Int(int64(len(v)))
			return
		}
	}
	c.w.Int(0)
}

func hexistsCommand(c *Client) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	if h != nil {
		if _, found := h.get(c.argv[2], nil); found {
			c.w.Int(1)
			return
		}
	}
	c.w.Int(0)
}

func hdelCommand(c *Client) {
	r, h, ok := c.lookupHash(c.argv[1], true)
	if !ok {
		return
	}
	if h == nil {
		c.w.Int(0)
		return
	}
	c.removeMembers(r, h.del, h.length, notifyHash, "hdel")
}

// Which parts of each pair HGETALL, HKEYS and HVALS reply.
const (
	hashReplyFields = 1 << iota
	hashReplyValues
)

func hashGetAllGeneric(c *Client, what int) {
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	both := what == hashReplyFields|hashReplyValues
	n := 0
	if h != nil {
		n = h.length()
	}
	if both {
		c.w.Map(n)
	} else {
		c.w.Array(n)
	}
	if h == nil {
		return
	}
	h.each(func(f, v []byte) bool {
		if what&hashReplyFields != 0 {
			c.w.Bulk(f)
		}
		if what&hashReplyValues != 0 {
			c.w.Bulk(v)
		}
		return true
	})
}

func hgetallCommand(c *Client) { hashGetAllGeneric(c, hashReplyFields|hashReplyValues) }
func hkeysCommand(c *Client)   { hashGetAllGeneric(c, hashReplyFields) }
func hvalsCommand(c *Client)   { hashGetAllGeneric(c, hashReplyValues) }

func hincrbyCommand(c *Client) {
	incr, ok := num.ParseInt64(c.argv[3])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	key, field := c.argv[1], c.argv[2]
	r, h, ok := c.lookupHash(key, true)
	if !ok {
		return
	}
	var cur int64
	if h != nil {
		var buf [24]byte
		if v, found := h.get(field, buf[:0]); found {
			if cur, ok = num.ParseInt64(v); !ok {
				c.w.Error(errHashNotInt)
				return
			}
		}
	}
	if incr < 0 && cur < 0 && incr < math.MinInt64-cur || incr > 0 && cur > 0 && incr > math.MaxInt64-cur {
		c.w.Error(errOverflow)
		return
	}
	if h == nil {
		r, h, _ = c.lookupHashOrCreate(key)
	}
	var nb [24]byte
	h.set(field, strconv.AppendInt(nb[:0], cur+incr, 10), c.srv.hashLimits())
	c.db.ks.SetEnc(r, h.enc())
	c.w.Int(cur + incr)
	c.srv.notifyKeyspace(notifyHash, "hincrby", key, c.db.id)
	c.srv.dirty++
}

func hincrbyfloatCommand(c *Client) {
	incr := c.argv[3]
	// The increment is checked before the key is looked up.
	if _, err := num.HIncrByFloat(nil, incr); err != nil {
		c.w.Error(err.Error())
		return
	}
	key, field := c.argv[1], c.argv[2]
	r, h, ok := c.lookupHash(key, true)
	if !ok {
		return
	}
	var cur []byte
	if h != nil {
		var buf [24]byte
		if v, found := h.get(field, buf[:0]); found {
			cur = bytes.Clone(v)
		}
	}
	val, err := num.HIncrByFloat(cur, incr)
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	if h == nil {
		r, h, _ = c.lookupHashOrCreate(key)
	}
	h.set(field, val, c.srv.hashLimits())
	c.db.ks.SetEnc(r, h.enc())
	c.w.Bulk(val)
	c.srv.notifyKeyspace(notifyHash, "hincrbyfloat", key, c.db.id)
	c.srv.dirty++
	// Always propagated as HSET of the result, so replicas never redo float arithmetic.
	c.propArgv = propVec([]byte("HSET"), key, field, val)
}

// --- HRANDFIELD ---

// hrandfieldSubStrategyMul picks HRANDFIELD's copy-and-remove strategy over sampling.
const hrandfieldSubStrategyMul = 3

func hrandfieldCommand(c *Client) {
	if len(c.argv) < 3 {
		_, h, ok := c.lookupHash(c.argv[1], false)
		if !ok {
			return
		}
		if h == nil {
			c.w.Null()
			return
		}
		var fb, vb [24]byte
		f, _ := h.random(fb[:0], vb[:0])
		c.w.Bulk(f)
		return
	}
	count, unique, ok := parseRandCount(c, c.argv[2])
	if !ok {
		return
	}
	withValues := false
	if len(c.argv) > 4 || len(c.argv) == 4 && !argEq(c.argv[3], "withvalues") {
		c.w.Error(errSyntax)
		return
	}
	if len(c.argv) == 4 {
		withValues = true
		if count > math.MaxInt64/2 {
			c.w.Error(errHashRandRange)
			return
		}
	}
	_, h, ok := c.lookupHash(c.argv[1], false)
	if !ok {
		return
	}
	if h == nil || count == 0 {
		c.w.Array(0)
		return
	}
	// RESP3 nests each field and value in an array of two; RESP2 flattens them.
	nested := withValues && c.w.Proto >= 3
	header := func(n uint64) {
		if withValues && !nested {
			n *= 2
		}
		c.w.Array(int(min(n, math.MaxInt)))
	}
	reply := func(f, v []byte) {
		if nested {
			c.w.Array(2)
		}
		c.w.Bulk(f)
		if withValues {
			c.w.Bulk(v)
		}
	}
	size := uint64(h.length())
	if !unique || count == 1 {
		header(count)
		var fb, vb [24]byte
		for ; count > 0; count-- {
			reply(h.random(fb[:0], vb[:0]))
			if count&1023 == 0 && c.randReplyTooBig() {
				break
			}
		}
		return
	}
	if count >= size {
		header(size)
		h.each(func(f, v []byte) bool {
			reply(f, v)
			return true
		})
		return
	}
	var picked []hashPair
	if count*hrandfieldSubStrategyMul > size {
		all := h.pairs()
		rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		picked = all[:count]
	} else {
		seen := make(map[string]struct{}, count)
		var fb, vb [24]byte
		for uint64(len(picked)) < count {
			f, v := h.random(fb[:0], vb[:0])
			if _, dup := seen[string(f)]; dup {
				continue
			}
			seen[string(f)] = struct{}{}
			picked = append(picked, hashPair{bytes.Clone(f), bytes.Clone(v)})
		}
	}
	header(uint64(len(picked)))
	for _, p := range picked {
		reply(p.f, p.v)
	}
}

// --- HSCAN ---

func hscanCommand(c *Client) {
	h, a, ok := scanStart[*hashValue](c, keyspace.TypeHash)
	if !ok {
		return
	}
	var out []hashPair
	keep := func(f, v []byte) {
		if a.pattern == nil || glob.Match(a.pattern, f, false) {
			out = append(out, hashPair{bytes.Clone(f), bytes.Clone(v)})
		}
	}
	cursor := uint64(0)
	if h.ht == nil {
		// A listpack answers in one call, cursor 0, whatever COUNT says (as Redis does).
		h.each(func(f, v []byte) bool {
			keep(f, v)
			return true
		})
	} else {
		ht := h.ht
		// Each field counts twice against COUNT, being two items of the reply in Redis.
		cursor = scanTable(ht, a.cursor, a.count, 2, func(r keyspace.Ref) { keep(ht.Key(r), ht.Str(r)) })
	}
	c.w.Array(2)
	c.w.BulkInt(int64(cursor))
	c.w.Array(2 * len(out))
	for _, p := range out {
		c.w.Bulk(p.f)
		c.w.Bulk(p.v)
	}
}

func init() {
	register(map[string]func(*Client){
		"hset":         hsetCommand,
		"hmset":        hsetCommand,
		"hsetnx":       hsetnxCommand,
		"hget":         hgetCommand,
		"hmget":        hmgetCommand,
		"hlen":         hlenCommand,
		"hstrlen":      hstrlenCommand,
		"hexists":      hexistsCommand,
		"hdel":         hdelCommand,
		"hgetall":      hgetallCommand,
		"hkeys":        hkeysCommand,
		"hvals":        hvalsCommand,
		"hincrby":      hincrbyCommand,
		"hincrbyfloat": hincrbyfloatCommand,
		"hrandfield":   hrandfieldCommand,
		"hscan":        hscanCommand,
	})
}
