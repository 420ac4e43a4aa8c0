package rdb

import (
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/intset"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/quicklist"
	"github.com/sard-kv/sard/internal/stream"
	"github.com/sard-kv/sard/internal/zset"
)

// Limits are the encoding thresholds a loaded value is converted with, as Redis converts
// on load (a listpack hash with more fields than hash-max-listpack-entries becomes a
// hashtable, and so on), plus the list options new lists get.
type Limits struct {
	ListFill, ListDepth          int
	SetMaxIntset                 int
	HashMaxEntries, HashMaxValue int
	ZSetMaxEntries, ZSetMaxValue int
	Databases                    int  // SELECTDB beyond this is an error (0: no check)
	SkipChecksum                 bool // rdbchecksum no
}

// Object is a value read from an RDB stream, in the leaf type the server keeps it as.
// Exactly the fields of its kind are set:
//
//	string: Str                  list: List
//	set:    Intset or Table      hash: Listpack or Table (field -> value strings)
//	zset:   ZSet                 stream: Stream
type Object struct {
	Kind     uint8 // keyspace.TypeString...
	Str      []byte
	List     *quicklist.List
	Intset   intset.Set
	Table    *keyspace.DB
	Listpack []byte
	ZSet     *zset.Set
	Stream   *stream.Stream
}

// ValidType reports whether t is a value type this loader reads.
func ValidType(t byte) bool {
	switch t {
	case TypeString, TypeList, TypeSet, TypeZSet, TypeHash, TypeZSet2, TypeHashZipmap,
		TypeListZiplist, TypeSetIntset, TypeZSetZiplist, TypeHashZiplist, TypeListQuicklist,
		TypeStreamListpacks, TypeHashListpack, TypeZSetListpack, TypeListQuicklist2,
		TypeStreamListpacks2:
		return true
	}
	return false
}

// Object reads a value of type t. It returns nil when the value is invalid (the error is
// recorded in d) or empty (Empty reports that case, which is not an error for files).
func (d *Decoder) Object(t byte, lim *Limits) *Object {
	d.empty = false
	var o *Object
	switch t {
	case TypeString:
		s := d.String()
		if s != nil || d.err == nil {
			o = &Object{Kind: keyspace.TypeString, Str: s}
			if o.Str == nil {
				o.Str = []byte{}
			}
		}
	case TypeList:
		o = d.listLinked(lim)
	case TypeListZiplist:
		o = d.listZiplist(lim)
	case TypeListQuicklist, TypeListQuicklist2:
		o = d.listQuicklist(lim, t == TypeListQuicklist2)
	case TypeSet:
		o = d.setPlain(lim)
	case TypeSetIntset:
		o = d.setIntset(lim)
	case TypeHash:
		o = d.hashPlain(lim)
	case TypeHashZipmap, TypeHashZiplist, TypeHashListpack:
		o = d.hashPacked(t, lim)
	case TypeZSet, TypeZSet2:
		o = d.zsetPlain(lim, t == TypeZSet2)
	case TypeZSetZiplist, TypeZSetListpack:
		o = d.zsetPacked(t, lim)
	case TypeStreamListpacks, TypeStreamListpacks2:
		o = d.stream(t == TypeStreamListpacks2)
	default:
		d.fail("unknown object type %d", t)
	}
	if d.err != nil {
		return nil
	}
	return o
}

// Empty reports whether the last Object call met an empty collection.
func (d *Decoder) Empty() bool { return d.empty }

func (d *Decoder) markEmpty() *Object {
	d.empty = true
	return nil
}

// --- lists ---

func (d *Decoder) listLinked(lim *Limits) *Object {
	n := d.Count()
	q := quicklist.New(lim.ListFill, lim.ListDepth)
	for i := 0; i < n && d.err == nil; i++ {
		q.Push(d.String(), quicklist.Tail)
	}
	if d.err == nil && q.Len() == 0 {
		return d.markEmpty()
	}
	return &Object{Kind: keyspace.TypeList, List: q}
}

func (d *Decoder) listZiplist(lim *Limits) *Object {
	zl := d.String()
	if d.err != nil {
		return nil
	}
	elems, err := ziplistStrings(zl)
	if err != nil {
		d.fail("list ziplist integrity check failed")
		return nil
	}
	q := quicklist.New(lim.ListFill, lim.ListDepth)
	for _, e := range elems {
		q.Push(e, quicklist.Tail)
	}
	if q.Len() == 0 {
		return d.markEmpty()
	}
	return &Object{Kind: keyspace.TypeList, List: q}
}

func (d *Decoder) listQuicklist(lim *Limits, v2 bool) *Object {
	n := d.Count()
	q := quicklist.New(lim.ListFill, lim.ListDepth)
	for i := 0; i < n && d.err == nil; i++ {
		container := uint64(containerPacked)
		if v2 {
			container = d.Len()
			if container != containerPacked && container != containerPlain {
				d.fail("quicklist integrity check failed: unknown node container %d", container)
				return nil
			}
		}
		data := d.String()
		if d.err != nil {
			return nil
		}
		var lp []byte
		switch {
		case container == containerPlain:
			// A plain node holds one large element; sard keeps every node as a listpack.
			lp = listpack.Append(listpack.NewCap(len(data)+16), data)
		case v2:
			if listpack.Validate(data, true) != nil {
				d.fail("quicklist listpack integrity check failed")
				return nil
			}
			lp = data
		default:
			elems, err := ziplistStrings(data)
			if err != nil {
				d.fail("quicklist ziplist integrity check failed")
				return nil
			}
			lp = listpack.New()
			for _, e := range elems {
				lp = listpack.Append(lp, e)
			}
		}
		if listpack.Len(lp) == 0 {
			continue // Redis drops empty nodes
		}
		q.AppendListpack(lp)
	}
	if d.err != nil {
		return nil
	}
	if q.Len() == 0 {
		return d.markEmpty()
	}
	return &Object{Kind: keyspace.TypeList, List: q}
}

// --- sets ---

func (d *Decoder) setPlain(lim *Limits) *Object {
	n := d.Count()
	o := &Object{Kind: keyspace.TypeSet}
	if n <= lim.SetMaxIntset {
		o.Intset = intset.New()
	} else {
		o.Table = keyspace.New(keyspace.Options{})
	}
	for i := 0; i < n && d.err == nil; i++ {
		m := d.String()
		if d.err != nil {
			return nil
		}
		if o.Table == nil {
			if v, ok := num.ParseInt64(m); ok {
				if !o.Intset.Add(v) {
					d.fail("duplicate set members detected")
					return nil
				}
				continue
			}
			o.Table = intsetToTable(o.Intset)
			o.Intset = nil
		}
		if _, ok := o.Table.Lookup(m); ok {
			d.fail("duplicate set members detected")
			return nil
		}
		o.Table.SetString(m, 0, nil, 0, false)
	}
	if d.err != nil {
		return nil
	}
	if n == 0 {
		return d.markEmpty()
	}
	return o
}

func intsetToTable(is intset.Set) *keyspace.DB {
	t := keyspace.New(keyspace.Options{})
	var buf [24]byte
	for i := 0; i < is.Len(); i++ {
		t.SetString(strconv.AppendInt(buf[:0], is.Get(i), 10), 0, nil, 0, false)
	}
	return t
}

func (d *Decoder) setIntset(lim *Limits) *Object {
	b := d.String()
	if d.err != nil {
		return nil
	}
	if err := intset.Validate(b, true); err != nil {
		if err == intset.ErrEmpty {
			return d.markEmpty()
		}
		d.fail("intset integrity check failed: %v", err)
		return nil
	}
	is := intset.Set(b)
	if is.Len() > lim.SetMaxIntset {
		return &Object{Kind: keyspace.TypeSet, Table: intsetToTable(is)}
	}
	return &Object{Kind: keyspace.TypeSet, Intset: is}
}

// --- hashes ---

func (d *Decoder) hashPlain(lim *Limits) *Object {
	n := d.Count()
	o := &Object{Kind: keyspace.TypeHash}
	var pairs [][]byte
	big := n > lim.HashMaxEntries
	for i := 0; i < n && d.err == nil; i++ {
		f := d.String()
		v := d.String()
		if d.err != nil {
			return nil
		}
		if len(f) > lim.HashMaxValue || len(v) > lim.HashMaxValue {
			big = true
		}
		pairs = append(pairs, f, v)
		if big {
			if o.Table == nil {
				o.Table = keyspace.New(keyspace.Options{})
			}
			for j := 0; j < len(pairs); j += 2 {
				if _, ok := o.Table.Lookup(pairs[j]); ok {
					d.fail("duplicate hash fields detected")
					return nil
				}
				o.Table.SetString(pairs[j], 0, pairs[j+1], 0, false)
			}
			pairs = pairs[:0]
		}
	}
	if d.err != nil {
		return nil
	}
	if n == 0 {
		return d.markEmpty()
	}
	if o.Table != nil {
		return o
	}
	lp := listpack.New()
	seen := make(map[string]struct{}, len(pairs)/2)
	for j := 0; j < len(pairs); j += 2 {
		if _, dup := seen[string(pairs[j])]; dup {
			d.fail("duplicate hash fields detected")
			return nil
		}
		seen[string(pairs[j])] = struct{}{}
		lp = listpack.Append(lp, pairs[j])
		lp = listpack.Append(lp, pairs[j+1])
	}
	o.Listpack = lp
	return o
}

// hashPacked reads the zipmap, ziplist and listpack forms of a small hash.
func (d *Decoder) hashPacked(t byte, lim *Limits) *Object {
	b := d.String()
	if d.err != nil {
		return nil
	}
	var lp []byte
	switch t {
	case TypeHashListpack:
		if listpack.Validate(b, true) != nil {
			d.fail("hash listpack integrity check failed")
			return nil
		}
		lp = b
	case TypeHashZiplist:
		elems, err := ziplistStrings(b)
		if err != nil {
			d.fail("hash ziplist integrity check failed")
			return nil
		}
		lp = listFromStrings(elems)
	default:
		pairs, err := zipmapPairs(b)
		if err != nil {
			d.fail("zipmap integrity check failed")
			return nil
		}
		lp = listFromStrings(pairs)
	}
	n := listpack.Len(lp)
	if n == 0 {
		return d.markEmpty()
	}
	if n%2 != 0 {
		d.fail("hash listpack has an odd number of elements")
		return nil
	}
	seen := make(map[string]struct{}, n/2)
	big := n/2 > lim.HashMaxEntries
	var fb [24]byte
	i := 0
	for p := listpack.First(lp); p >= 0; p = listpack.Next(lp, p) {
		e := listpack.GetBytes(lp, p, fb[:0])
		if len(e) > lim.HashMaxValue {
			big = true
		}
		if i%2 == 0 {
			if _, dup := seen[string(e)]; dup {
				d.fail("duplicate hash fields detected")
				return nil
			}
			seen[string(e)] = struct{}{}
		}
		i++
	}
	if !big {
		return &Object{Kind: keyspace.TypeHash, Listpack: lp}
	}
	t2 := keyspace.New(keyspace.Options{})
	var vb [24]byte
	for p := listpack.First(lp); p >= 0; {
		f := listpack.GetBytes(lp, p, fb[:0])
		p = listpack.Next(lp, p)
		v := listpack.GetBytes(lp, p, vb[:0])
		p = listpack.Next(lp, p)
		t2.SetString(f, 0, v, 0, false)
	}
	return &Object{Kind: keyspace.TypeHash, Table: t2}
}

func listFromStrings(elems [][]byte) []byte {
	lp := listpack.New()
	for _, e := range elems {
		lp = listpack.Append(lp, e)
	}
	return lp
}

// --- sorted sets ---

func (d *Decoder) zsetPlain(lim *Limits, binary bool) *Object {
	n := d.Count()
	z := zset.NewBig()
	maxLen := 0
	for i := 0; i < n && d.err == nil; i++ {
		m := d.String()
		var score float64
		if binary {
			score = d.Double()
		} else {
			score = d.OldDouble()
		}
		if d.err != nil {
			return nil
		}
		if math.IsNaN(score) {
			d.fail("zset with NAN score detected")
			return nil
		}
		if _, dup := z.Score(m); dup {
			d.fail("duplicate zset fields detected")
			return nil
		}
		z.Insert(m, score)
		maxLen = max(maxLen, len(m))
	}
	if d.err != nil {
		return nil
	}
	if n == 0 {
		return d.markEmpty()
	}
	if zset.FitsSmall(z.Len(), maxLen, int64(lim.ZSetMaxEntries), int64(lim.ZSetMaxValue)) {
		z.ConvertToSmall()
	}
	return &Object{Kind: keyspace.TypeZSet, ZSet: z}
}

func (d *Decoder) zsetPacked(t byte, lim *Limits) *Object {
	b := d.String()
	if d.err != nil {
		return nil
	}
	var elems [][]byte
	if t == TypeZSetZiplist {
		var err error
		if elems, err = ziplistStrings(b); err != nil {
			d.fail("zset ziplist integrity check failed")
			return nil
		}
	} else {
		if listpack.Validate(b, true) != nil {
			d.fail("zset listpack integrity check failed")
			return nil
		}
		for p := listpack.First(b); p >= 0; p = listpack.Next(b, p) {
			elems = append(elems, listpack.GetBytes(b, p, nil))
		}
	}
	if len(elems) == 0 {
		return d.markEmpty()
	}
	if len(elems)%2 != 0 {
		d.fail("zset listpack has an odd number of elements")
		return nil
	}
	// Rebuild through the set's own insertion, which also puts an out-of-order listpack
	// right; Redis-written ones are sorted already.
	z := zset.NewBig()
	maxLen := 0
	for i := 0; i < len(elems); i += 2 {
		score, ok := parseScore(elems[i+1])
		if !ok {
			d.fail("zset listpack has an invalid score")
			return nil
		}
		if _, dup := z.Score(elems[i]); dup {
			d.fail("duplicate zset fields detected")
			return nil
		}
		z.Insert(elems[i], score)
		maxLen = max(maxLen, len(elems[i]))
	}
	if zset.FitsSmall(z.Len(), maxLen, int64(lim.ZSetMaxEntries), int64(lim.ZSetMaxValue)) {
		z.ConvertToSmall()
	}
	return &Object{Kind: keyspace.TypeZSet, ZSet: z}
}

// parseScore reads a listpack score: an integer or a double's text (inf included).
func parseScore(b []byte) (float64, bool) {
	if f, ok := num.ParseFloat(b); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
