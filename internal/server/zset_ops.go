package server

import (
	"fmt"
	"math"
	"sort"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/zset"
)

// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
// zunionInterDiffGenericCommand). Plain sets are accepted as inputs, every member scoring 1.

const (
	zopUnion = iota
	zopInter
	zopDiff
)

const (
	aggrSum = iota
	aggrMin
	aggrMax
)

// zsetSrc is one input: a sorted set, a set, or nothing (missing key).
type zsetSrc struct {
	z      *zset.Set
	s      *setValue
	weight float64
}

func (src *zsetSrc) len() int {
	switch {
	case src.z != nil:
		return src.z.Len()
	case src.s != nil:
		return src.s.size()
	}
	return 0
}

func (src *zsetSrc) each(fn func(m []byte, score float64) bool) {
	switch {
	case src.z != nil:
		src.z.Range(0, src.z.Len()-1, false, fn)
	case src.s != nil:
		src.s.each(func(m []byte, _ int64, _ bool) bool { return fn(m, 1) })
	}
}

func (src *zsetSrc) find(m []byte) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.Score(m)
	case src.s != nil:
		return 1, src.s.has(m)
	}
	return 0, false
}

// aggregate folds val into *target; a SUM of +inf and -inf is 0, as in Redis.
func aggregate(target *float64, val float64, how int) {
	switch how {
	case aggrSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggrMin:
		if val < *target {
			*target = val
		}
	case aggrMax:
		if val > *target {
			*target = val
		}
	}
}

func zunionCommand(c *Client)      { zsetOpGeneric(c, nil, 1, zopUnion, false) }
func zinterCommand(c *Client)      { zsetOpGeneric(c, nil, 1, zopInter, false) }
func zdiffCommand(c *Client)       { zsetOpGeneric(c, nil, 1, zopDiff, false) }
func zunionstoreCommand(c *Client) { zsetOpGeneric(c, c.argv[1], 2, zopUnion, false) }
func zinterstoreCommand(c *Client) { zsetOpGeneric(c, c.argv[1], 2, zopInter, false) }
func zdiffstoreCommand(c *Client)  { zsetOpGeneric(c, c.argv[1], 2, zopDiff, false) }
func zintercardCommand(c *Client)  { zsetOpGeneric(c, nil, 1, zopInter, true) }

func zsetOpGeneric(c *Client, dst []byte, numIdx int, op int, cardOnly bool) {
	setnum, ok := num.ParseInt64(c.argv[numIdx])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	if setnum < 1 {
		c.w.Error(fmt.Sprintf(errZAtLeastOneKey, c.cmd.FullName))
		return
	}
	if setnum > int64(len(c.argv)-numIdx-1) {
		c.w.Error(errSyntax)
		return
	}
	srcs := make([]zsetSrc, setnum)
	j := numIdx + 1
	for i := range srcs {
		var r keyspace.Ref
		var found bool
		if dst != nil {
			r, found = c.db.lookupWrite(c.argv[j])
		} else {
			r, found = c.db.lookupRead(c.argv[j])
		}
		srcs[i].weight = 1
		j++
		if !found {
			continue
		}
		switch c.db.ks.Type(r) {
		case keyspace.TypeZSet:
			srcs[i].z = c.db.ks.Obj(r).(*zset.Set)
		case keyspace.TypeSet:
			srcs[i].s = c.db.ks.Obj(r).(*setValue)
		default:
			c.w.Error(errWrongType)
			return
		}
	}
	how := aggrSum
	withScores := false
	limit := int64(0)
	for remaining := len(c.argv) - j; remaining > 0; remaining = len(c.argv) - j {
		a := c.argv[j]
		switch {
		case op != zopDiff && !cardOnly && remaining >= int(setnum)+1 && argEq(a, "weights"):
			j++
			for i := range srcs {
				w, ok := num.ParseFloat(c.argv[j])
				if !ok {
					c.w.Error(errZWeightFloat)
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && remaining >= 2 && argEq(a, "aggregate"):
			switch v := c.argv[j+1]; {
			case argEq(v, "sum"):
				how = aggrSum
			case argEq(v, "min"):
				how = aggrMin
			case argEq(v, "max"):
				how = aggrMax
			default:
				c.w.Error(errSyntax)
				return
			}
			j += 2
		case dst == nil && !cardOnly && argEq(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && argEq(a, "limit"):
			v, ok := num.ParseInt64(c.argv[j+1])
			if !ok || v < 0 {
				c.w.Error(errZLimitNegative)
				return
			}
			limit = v
			j += 2
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	// Smallest inputs first (the first one drives an intersection); for a difference only
	// the inputs after the first are reordered, largest first.
	if op != zopDiff {
		sort.SliceStable(srcs, func(a, b int) bool { return srcs[a].len() < srcs[b].len() })
	} else {
		rest := srcs[1:]
		sort.SliceStable(rest, func(a, b int) bool { return rest[a].len() > rest[b].len() })
	}
	maxE, maxV := c.srv.zsetLimits()
	var res *zset.Set
	cardinality := int64(0)
	switch op {
	case zopInter:
		type item struct {
			m     []byte
			score float64
		}
		var items []item
		if srcs[0].len() > 0 {
			srcs[0].each(func(m []byte, sc float64) bool {
				score := srcs[0].weight * sc
				if math.IsNaN(score) {
					score = 0
				}
				k := 1
				for ; k < len(srcs); k++ {
					v, found := srcs[k].find(m)
					if !found {
						break
					}
					aggregate(&score, v*srcs[k].weight, how)
				}
				if k < len(srcs) {
					return true
				}
				if cardOnly {
					cardinality++
					return limit == 0 || cardinality < limit
				}
				items = append(items, item{append([]byte(nil), m...), score})
				return true
			})
		}
		if cardOnly {
			c.w.Int(cardinality)
			return
		}
		res = newZSetFor(len(items), maxE)
		for _, it := range items {
			zsetInsert(res, it.m, it.score, maxE, maxV)
		}
	case zopUnion:
		acc := make(map[string]float64)
		var order []string
		for i := range srcs {
			src := &srcs[i]
			src.each(func(m []byte, sc float64) bool {
				score := src.weight * sc
				if math.IsNaN(score) {
					score = 0
				}
				if cur, seen := acc[string(m)]; seen {
					aggregate(&cur, score, how)
					acc[string(m)] = cur
				} else {
					acc[string(m)] = score
					order = append(order, string(m))
				}
				return true
			})
		}
		res = newZSetFor(len(order), maxE)
		for _, m := range order {
			zsetInsert(res, []byte(m), acc[m], maxE, maxV)
		}
	case zopDiff:
		type item struct {
			m     []byte
			score float64
		}
		var items []item
		srcs[0].each(func(m []byte, sc float64) bool {
			for k := 1; k < len(srcs); k++ {
				if _, found := srcs[k].find(m); found {
					return true
				}
			}
			items = append(items, item{append([]byte(nil), m...), sc})
			return true
		})
		res = newZSetFor(len(items), maxE)
		for _, it := range items {
			zsetInsert(res, it.m, it.score, maxE, maxV)
		}
	}
	if dst != nil {
		if res.Len() > 0 {
			c.db.storeZSet(dst, res)
			c.w.Int(int64(res.Len()))
			event := [...]string{"zunionstore", "zinterstore", "zdiffstore"}[op]
			c.srv.notifyKeyspace(notifyZSet, event, dst, c.db.id)
			c.srv.dirty++
			return
		}
		c.w.Int(0)
		if c.db.delete(dst) {
			c.srv.notifyKeyspace(notifyGeneric, "del", dst, c.db.id)
			c.srv.dirty++
		}
		return
	}
	n := res.Len()
	if withScores && c.w.Proto == 2 {
		c.w.Array(2 * n)
	} else {
		c.w.Array(n)
	}
	res.Range(0, n-1, false, func(m []byte, sc float64) bool {
		if withScores && c.w.Proto > 2 {
			c.w.Array(2)
		}
		c.w.Bulk(m)
		if withScores {
			writeScore(&c.w, sc)
		}
		return true
	})
}
