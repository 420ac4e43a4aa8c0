package server

import (
	"bytes"
	"math"
	"strconv"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/pqsort"
	"github.com/sard-kv/sard/internal/quicklist"
	"github.com/sard-kv/sard/internal/zset"
)

// SORT and SORT_RO: sorting the elements of a list, set or sorted set, numerically or
// lexicographically, by the elements or by keys/hash fields named after them, with LIMIT,
// GET and STORE.

const (
	errSortScores    = "ERR One or more scores can't be converted into double"
	errSortByCluster = "ERR BY option of SORT denied in Cluster mode."
	errSortGetClust  = "ERR GET option of SORT denied in Cluster mode."
)

// sortItem is one element to sort with its key: score for numeric sorts, cmp (nil when
// the BY key is missing) for alphabetic sorts by pattern.
type sortItem struct {
	val   []byte
	score float64
	cmp   []byte
}

// patternValue resolves a BY or GET pattern for one element: "#" is the element itself,
// "prefix*suffix" the string at that key, "prefix*suffix->field" a hash field. ok is false
// when there is no such value.
func patternValue(c *Client, pattern, elem []byte) ([]byte, bool) {
	pat := cString(pattern)
	if len(pat) == 1 && pat[0] == '#' {
		return elem, true
	}
	star := bytes.IndexByte(pat, '*')
	if star < 0 {
		return nil, false
	}
	var field []byte
	keyEnd := len(pattern)
	if f := bytes.Index(pat[star+1:], []byte("->")); f >= 0 && star+1+f+2 < len(pat) {
		keyEnd = star + 1 + f
		field = pattern[keyEnd+2:]
	}
	key := make([]byte, 0, keyEnd-1+len(elem))
	key = append(append(append(key, pattern[:star]...), elem...), pattern[star+1:keyEnd]...)
	r, found := c.db.lookupRead(key)
	if !found {
		return nil, false
	}
	ks := c.db.ks
	if field == nil {
		if ks.Type(r) != keyspace.TypeString {
			return nil, false
		}
		return bytes.Clone(ks.Str(r)), true
	}
	if ks.Type(r) != keyspace.TypeHash {
		return nil, false
	}
	v, ok := ks.Obj(r).(*hashValue).get(field, nil)
	if !ok {
		return nil, false
	}
	return bytes.Clone(v), true
}

// sortScore parses a sort key the way Redis does with strtod: leading blanks allowed, the
// whole rest (up to a NUL) consumed, no overflow, no NaN; an empty string is 0.
func sortScore(b []byte) (float64, bool) {
	b = cString(b)
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	b = b[i:]
	if len(b) == 0 {
		return 0, true
	}
	v, ok := num.ParseFloat(b)
	if !ok || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

func sortCommand(c *Client)   { sortGeneric(c, false) }
func sortROCommand(c *Client) { sortGeneric(c, true) }

func sortGeneric(c *Client, readOnly bool) {
	argv := c.argv
	desc, alpha, dontSort := false, false, false
	var limitStart, limitCount int64 = 0, -1
	var sortBy, storeKey []byte
	var gets [][]byte
	cluster := c.srv.cfgBool("cluster-enabled")
	for j := 2; j < len(argv); j++ {
		left := len(argv) - j - 1
		a := argv[j]
		switch {
		case argEq(a, "asc"):
			desc = false
		case argEq(a, "desc"):
			desc = true
		case argEq(a, "alpha"):
			alpha = true
		case argEq(a, "limit") && left >= 2:
			var ok bool
			if limitStart, ok = num.ParseInt64(argv[j+1]); !ok {
				c.w.Error(errNotInt)
				return
			}
			if limitCount, ok = num.ParseInt64(argv[j+2]); !ok {
				c.w.Error(errNotInt)
				return
			}
			j += 2
		case !readOnly && argEq(a, "store") && left >= 1:
			storeKey = argv[j+1]
			j++
		case argEq(a, "by") && left >= 1:
			sortBy = argv[j+1]
			// a pattern without '*' (such as "nosort") means: do not sort
			if bytes.IndexByte(cString(sortBy), '*') < 0 {
				dontSort = true
			} else if cluster {
				c.w.Error(errSortByCluster)
				return
			}
			j++
		case argEq(a, "get") && left >= 1:
			if cluster {
				c.w.Error(errSortGetClust)
				return
			}
			gets = append(gets, argv[j+1])
			j++
		default:
			c.w.Error(errSyntax)
			return
		}
	}

	r, found := c.db.lookupRead(argv[1])
	typ := uint8(keyspace.TypeList)
	var obj any
	if found {
		typ = c.db.ks.Type(r)
		if typ != keyspace.TypeList && typ != keyspace.TypeSet && typ != keyspace.TypeZSet {
			c.w.Error(errWrongType)
			return
		}
		obj = c.db.ks.Obj(r)
	}
	// An unsorted set would come out in hash order: sort it when the result is stored or
	// goes to a script, so that replicas and the AOF see the same thing (Redis 7.0 forces
	// ALPHA there). Lists and sorted sets keep their own order.
	if dontSort && typ == keyspace.TypeSet && (storeKey != nil || c == c.srv.scripts.fake) {
		dontSort, alpha, sortBy = false, true, nil
	}
	// Redis converts a small sorted set to its skiplist encoding for SORT, for good.
	if z, ok := obj.(*zset.Set); ok && !z.IsBig() {
		z.ConvertToBig()
		c.db.ks.SetEnc(r, zsetEncSkiplist)
	}

	var n int
	switch o := obj.(type) {
	case *listValue:
		n = o.Len()
	case *setValue:
		n = o.size()
	case *zset.Set:
		n = o.Len()
	}
	start := min(max(limitStart, 0), int64(n))
	count := min(max(limitCount, -1), int64(n))
	end := int64(n) - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= int64(n) {
		start, end = int64(n)-1, int64(n)-2
	}
	end = min(end, int64(n)-1)

	var items []sortItem
	switch o := obj.(type) {
	case *listValue:
		if dontSort {
			if end >= start {
				idx, rev := int(start), false
				if desc {
					idx, rev = -int(start)-1, true
				}
				it := o.Iterator(idx, rev)
				for k := start; k <= end; k++ {
					e, ok := it.Next()
					if !ok {
						break
					}
					items = append(items, sortItem{val: entryBytes(e)})
				}
				end -= start
				start = 0
			}
		} else {
			it := o.Iterator(0, false)
			for {
				e, ok := it.Next()
				if !ok {
					break
				}
				items = append(items, sortItem{val: entryBytes(e)})
			}
		}
	case *setValue:
		for _, m := range o.members() {
			items = append(items, sortItem{val: m})
		}
	case *zset.Set:
		if dontSort {
			if end >= start {
				lo, hi := int(start), int(end)
				if desc {
					lo, hi = n-1-int(end), n-1-int(start)
				}
				o.Range(lo, hi, desc, func(m []byte, _ float64) bool {
					items = append(items, sortItem{val: bytes.Clone(m)})
					return true
				})
				end -= start
				start = 0
			}
		} else {
			o.Range(0, n-1, false, func(m []byte, _ float64) bool {
				items = append(items, sortItem{val: bytes.Clone(m)})
				return true
			})
		}
	}

	convErr := false
	if !dontSort {
		for i := range items {
			it := &items[i]
			byVal := it.val
			if sortBy != nil {
				v, ok := patternValue(c, sortBy, it.val)
				if !ok {
					continue
				}
				byVal = v
			}
			if alpha {
				if sortBy != nil {
					it.cmp = byVal
				}
				continue
			}
			s, ok := sortScore(byVal)
			if !ok {
				convErr = true
			}
			it.score = s
		}
		byPattern := sortBy != nil
		store := storeKey != nil
		less := func(a, b *sortItem) int {
			var cmp int
			switch {
			case !alpha:
				switch {
				case a.score > b.score:
					cmp = 1
				case a.score < b.score:
					cmp = -1
				default:
					cmp = bytes.Compare(a.val, b.val)
				}
			case byPattern:
				switch {
				case a.cmp == nil && b.cmp == nil:
					cmp = 0
				case a.cmp == nil:
					cmp = -1
				case b.cmp == nil:
					cmp = 1
				case store:
					cmp = bytes.Compare(a.cmp, b.cmp)
				default:
					cmp = bytes.Compare(cString(a.cmp), cString(b.cmp)) // strcoll in the C locale
				}
			case store:
				cmp = bytes.Compare(a.val, b.val)
			default:
				cmp = bytes.Compare(cString(a.val), cString(b.val))
			}
			if desc {
				return -cmp
			}
			return cmp
		}
		// Equal keys end in the order Redis's sorts leave them: its partial quicksort when
		// sorting BY a pattern with a LIMIT that leaves something out, otherwise glibc's
		// qsort, a merge sort that keeps equal keys in input order.
		if sortBy != nil && (start != 0 || end != int64(len(items))-1) {
			pqsort.Sort(items, less, int(start), int(end))
		} else {
			pqsort.Stable(items, less)
		}
	}

	outLen := int(end - start + 1)
	if len(gets) > 0 {
		outLen *= len(gets)
	}
	if convErr {
		c.w.Error(errSortScores)
		return
	}
	if storeKey == nil {
		c.w.Array(outLen)
		for j := start; j <= end; j++ {
			elem := items[j].val
			if len(gets) == 0 {
				c.w.Bulk(elem)
			}
			for _, g := range gets {
				if v, ok := patternValue(c, g, elem); ok {
					c.w.Bulk(v)
				} else {
					c.w.Null()
				}
			}
		}
		return
	}
	l := c.srv.newList()
	for j := start; j <= end; j++ {
		elem := items[j].val
		if len(gets) == 0 {
			l.Push(elem, quicklist.Tail)
		}
		for _, g := range gets {
			v, _ := patternValue(c, g, elem)
			l.Push(v, quicklist.Tail)
		}
	}
	if outLen > 0 {
		c.db.storeList(storeKey, l)
		c.srv.notifyKeyspace(notifyList, "sortstore", storeKey, c.db.id)
		c.srv.dirty += int64(outLen)
	} else if c.db.delete(storeKey) {
		c.srv.notifyKeyspace(notifyGeneric, "del", storeKey, c.db.id)
		c.srv.dirty++
	}
	c.w.Int(int64(outLen))
}

// entryBytes copies a list element, formatting integers.
func entryBytes(e quicklist.Entry) []byte {
	if e.IsInt {
		return strconv.AppendInt(nil, e.Int, 10)
	}
	return bytes.Clone(e.Str)
}

func init() {
	register(map[string]func(*Client){
		"sort":    sortCommand,
		"sort_ro": sortROCommand,
	})
}
