// Package zset is the sorted set value of sard: Redis's listpack encoding for small sets
// and, for large ones, a member dictionary plus a pointer-free counted B+tree ordered by
// (score, member), with rank queries in O(log n).
package zset

import (
	"encoding/binary"
	"math"

	"github.com/sard-kv/sard/internal/digest"
	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/listpack"
	"github.com/sard-kv/sard/internal/num"
)

// Set is a sorted set. While small it is a listpack of member, score pairs in order, byte
// for byte as Redis keeps it; once converted (Redis's "skiplist" encoding) it is a
// dictionary member -> score and a tree. The zero value is not usable: call New.
type Set struct {
	lp  []byte
	big *bigSet
}

type bigSet struct {
	dict *keyspace.DB // member -> score, 8 bytes little endian
	t    tree
}

// New returns an empty set in the listpack encoding.
func New() *Set { return &Set{lp: listpack.New()} }

// NewBig returns an empty set in the large encoding.
func NewBig() *Set {
	s := &Set{lp: listpack.New()}
	s.toBig()
	return s
}

// IsBig reports whether the set uses the large ("skiplist") encoding.
func (s *Set) IsBig() bool { return s.big != nil }

// EncodingName is OBJECT ENCODING's reply.
func (s *Set) EncodingName() string {
	if s.big != nil {
		return "skiplist"
	}
	return "listpack"
}

// Listpack returns the listpack of a small set (nil for a large one), for persistence.
func (s *Set) Listpack() []byte { return s.lp }

// FromListpack wraps a validated zset listpack (RDB loading).
func FromListpack(lp []byte) *Set { return &Set{lp: lp} }

// Len is the number of members.
func (s *Set) Len() int {
	if s.big != nil {
		return s.big.t.n
	}
	return listpack.Len(s.lp) / 2
}

// --- listpack helpers ---

// lpScore decodes the score entry at p. Redis writes scores with d2string and reads them
// with strtod, so the text always parses.
func lpScore(lp []byte, p int) float64 {
	str, v, isInt := listpack.Get(lp, p)
	if isInt {
		return float64(v)
	}
	f, ok := num.ParseFloat(str)
	if !ok {
		// "inf"/"-inf" parse; anything else would be a corrupt listpack.
		return 0
	}
	return f
}

// appendScoreEntry inserts score as Redis's d2string writes it: integral values that fit a
// double's mantissa as integers (so -0 becomes 0, a listpack quirk), others as "%.17g".
func lpInsertScore(lp []byte, p int, score float64) ([]byte, int) {
	if iv, ok := scoreAsInt(score); ok {
		return listpack.InsertInt(lp, p, iv, listpack.Before)
	}
	var buf [32]byte
	return listpack.Insert(lp, p, num.FormatDouble(buf[:0], score), listpack.Before)
}

func scoreAsInt(score float64) (int64, bool) {
	const lim = 1 << 52
	if score > -lim && score < lim && score == math.Trunc(score) {
		return int64(score), true
	}
	return 0, false
}

// lpMember returns the member at p as bytes (integers formatted into buf).
func lpMember(lp []byte, p int, buf []byte) []byte { return listpack.GetBytes(lp, p, buf) }

// lpFind returns the position of member's entry, or -1.
func (s *Set) lpFind(member []byte) int {
	return listpack.Find(s.lp, listpack.First(s.lp), member, 1)
}

// lpInsert inserts member/score at its place in the order.
func (s *Set) lpInsert(member []byte, score float64) {
	var buf [24]byte
	p := listpack.First(s.lp)
	for p >= 0 {
		sp := listpack.Next(s.lp, p)
		sc := lpScore(s.lp, sp)
		if sc > score || (sc == score && compareBytes(lpMember(s.lp, p, buf[:0]), member) > 0) {
			break
		}
		p = listpack.Next(s.lp, sp)
	}
	if p < 0 {
		p = len(s.lp) - 1 // the terminator: inserting before it appends
	}
	s.lp, p = listpack.Insert(s.lp, p, member, listpack.Before)
	p = listpack.Next(s.lp, p)
	if p < 0 {
		p = len(s.lp) - 1
	}
	s.lp, _ = lpInsertScore(s.lp, p, score)
}

// --- large encoding helpers ---

func scoreBytes(b *[8]byte, score float64) []byte {
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(score))
	return b[:]
}

func (b *bigSet) score(r keyspace.Ref) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(b.dict.Str(r)))
}

func (b *bigSet) insert(member []byte, score float64) {
	var sb [8]byte
	r, _ := b.dict.SetString(member, 0, scoreBytes(&sb, score), 0, false)
	b.t.insert(score, uint32(r), member)
}

func (s *Set) toBig() {
	b := &bigSet{dict: keyspace.New(keyspace.Options{})}
	b.t.dict = b.dict
	var buf [24]byte
	for p := listpack.First(s.lp); p >= 0; {
		sp := listpack.Next(s.lp, p)
		b.insert(lpMember(s.lp, p, buf[:0]), lpScore(s.lp, sp))
		p = listpack.Next(s.lp, sp)
	}
	s.lp, s.big = nil, b
}

// ConvertToBig switches to the large encoding (Redis's zsetConvert to skiplist).
func (s *Set) ConvertToBig() {
	if s.big == nil {
		s.toBig()
	}
}

// ConvertToSmall switches a large set back to a listpack (Redis does so only for the
// results of store commands).
func (s *Set) ConvertToSmall() {
	if s.big == nil {
		return
	}
	lp := listpack.New()
	b := s.big
	b.t.walk(0, false, func(score float64, ref uint32) bool {
		lp = listpack.Append(lp, b.dict.Key(keyspace.Ref(ref)))
		lp, _ = lpInsertScore(lp, len(lp)-1, score)
		return true
	})
	s.lp, s.big = lp, nil
}

// NeedsBig reports whether adding a member of length mlen to a set of n members must
// convert it, with Redis's thresholds (zset-max-listpack-entries and -value).
func NeedsBig(n, mlen int, maxEntries, maxValue int64) bool {
	return int64(n+1) > maxEntries || int64(mlen) > maxValue
}

// FitsSmall reports whether a set of n members, the longest maxLen bytes, may be a
// listpack (Redis's zsetConvertToListpackIfNeeded).
func FitsSmall(n, maxLen int, maxEntries, maxValue int64) bool {
	return int64(n) <= maxEntries && int64(maxLen) <= maxValue
}

// MaxMemberLen is the length of the longest member.
func (s *Set) MaxMemberLen() int {
	m := 0
	s.Range(0, s.Len()-1, false, func(member []byte, _ float64) bool {
		m = max(m, len(member))
		return true
	})
	return m
}

// --- queries ---

// Score returns member's score.
func (s *Set) Score(member []byte) (float64, bool) {
	if b := s.big; b != nil {
		r, ok := b.dict.Lookup(member)
		if !ok {
			return 0, false
		}
		return b.score(r), true
	}
	p := s.lpFind(member)
	if p < 0 {
		return 0, false
	}
	return lpScore(s.lp, listpack.Next(s.lp, p)), true
}

// Rank returns member's 0-based rank in ascending order and its score.
func (s *Set) Rank(member []byte) (int, float64, bool) {
	if b := s.big; b != nil {
		r, ok := b.dict.Lookup(member)
		if !ok {
			return 0, 0, false
		}
		sc := b.score(r)
		rank := b.t.countWhile(func(score float64, ref uint32) bool {
			return b.t.cmpKey(score, ref, sc, member) < 0
		})
		return rank, sc, true
	}
	rank := 0
	for p := listpack.First(s.lp); p >= 0; rank++ {
		sp := listpack.Next(s.lp, p)
		if listpack.Equal(s.lp, p, member) {
			return rank, lpScore(s.lp, sp), true
		}
		p = listpack.Next(s.lp, sp)
	}
	return 0, 0, false
}

// Range calls fn for ranks start..end (0 <= start <= end < Len), ascending, or from end
// down to start with rev, until fn returns false. The member slice is valid only during
// the call; fn must not modify the set.
func (s *Set) Range(start, end int, rev bool, fn func(member []byte, score float64) bool) {
	if start < 0 || end >= s.Len() || start > end {
		return
	}
	if b := s.big; b != nil {
		k := end - start + 1
		from := start
		if rev {
			from = end
		}
		b.t.walk(from, rev, func(score float64, ref uint32) bool {
			k--
			return fn(b.dict.Key(keyspace.Ref(ref)), score) && k > 0
		})
		return
	}
	var buf [24]byte
	if rev {
		p := listpack.Seek(s.lp, 2*end)
		for i := end; i >= start && p >= 0; i-- {
			sp := listpack.Next(s.lp, p)
			if !fn(lpMember(s.lp, p, buf[:0]), lpScore(s.lp, sp)) {
				return
			}
			if p = listpack.Prev(s.lp, p); p >= 0 {
				p = listpack.Prev(s.lp, p)
			}
		}
		return
	}
	p := listpack.Seek(s.lp, 2*start)
	for i := start; i <= end && p >= 0; i++ {
		sp := listpack.Next(s.lp, p)
		if !fn(lpMember(s.lp, p, buf[:0]), lpScore(s.lp, sp)) {
			return
		}
		p = listpack.Next(s.lp, sp)
	}
}

// At returns the element at rank; the member is a copy.
func (s *Set) At(rank int) ([]byte, float64) {
	var m []byte
	var sc float64
	s.Range(rank, rank, false, func(member []byte, score float64) bool {
		m, sc = append([]byte(nil), member...), score
		return false
	})
	return m, sc
}

// CountWhile returns how many elements from the lowest rank satisfy less, which must hold
// for a prefix of the order for the large encoding (it binary searches); the listpack is
// scanned from its head as Redis does.
func (s *Set) CountWhile(less func(member []byte, score float64) bool) int {
	if b := s.big; b != nil {
		return b.t.countWhile(func(score float64, ref uint32) bool {
			return less(b.dict.Key(keyspace.Ref(ref)), score)
		})
	}
	n := 0
	var buf [24]byte
	for p := listpack.First(s.lp); p >= 0; n++ {
		sp := listpack.Next(s.lp, p)
		if !less(lpMember(s.lp, p, buf[:0]), lpScore(s.lp, sp)) {
			break
		}
		p = listpack.Next(s.lp, sp)
	}
	return n
}

// CountWhileScore is CountWhile for a predicate on the score alone; it never reads
// members.
func (s *Set) CountWhileScore(less func(score float64) bool) int {
	if b := s.big; b != nil {
		return b.t.countWhile(func(score float64, _ uint32) bool { return less(score) })
	}
	n := 0
	for p := listpack.First(s.lp); p >= 0; n++ {
		sp := listpack.Next(s.lp, p)
		if !less(lpScore(s.lp, sp)) {
			break
		}
		p = listpack.Next(s.lp, sp)
	}
	return n
}

// --- updates ---

// Insert adds a member that is not in the set. The caller converts the encoding first
// when NeedsBig says so.
func (s *Set) Insert(member []byte, score float64) {
	if s.big != nil {
		s.big.insert(member, score)
		return
	}
	s.lpInsert(member, score)
}

// Update changes the score of an existing member.
func (s *Set) Update(member []byte, score float64) {
	if b := s.big; b != nil {
		r, ok := b.dict.Lookup(member)
		if !ok {
			return
		}
		old := b.score(r)
		if old == score {
			return
		}
		b.t.remove(old, member)
		var sb [8]byte
		copy(b.dict.StrForUpdate(r, 8), scoreBytes(&sb, score))
		b.t.insert(score, uint32(r), member)
		return
	}
	s.Remove(member)
	s.lpInsert(member, score)
}

// Remove deletes member and reports whether it was there.
func (s *Set) Remove(member []byte) bool {
	if b := s.big; b != nil {
		r, ok := b.dict.Lookup(member)
		if !ok {
			return false
		}
		b.t.remove(b.score(r), member)
		b.dict.DeleteRef(r)
		return true
	}
	p := s.lpFind(member)
	if p < 0 {
		return false
	}
	s.lp = listpack.DeleteFrom(s.lp, p, 2)
	return true
}

// RemoveRange deletes ranks start..end (inclusive, in range) and calls fn, if not nil,
// with each removed member before it goes.
func (s *Set) RemoveRange(start, end int, fn func(member []byte)) {
	if start < 0 || end >= s.Len() || start > end {
		return
	}
	if b := s.big; b != nil {
		for i := start; i <= end; i++ {
			_, ref := b.t.removeRank(start)
			if fn != nil {
				fn(b.dict.Key(keyspace.Ref(ref)))
			}
			b.dict.DeleteRef(keyspace.Ref(ref))
		}
		return
	}
	if fn != nil {
		s.Range(start, end, false, func(member []byte, _ float64) bool {
			fn(member)
			return true
		})
	}
	s.lp = listpack.DeleteRange(s.lp, 2*start, 2*(end-start+1))
}

// Scan visits part of the set for ZSCAN and returns the next cursor (0 when done). A
// listpack is visited whole in one call, as Redis does. Scores are given as Redis's
// ZSCAN prints them: the listpack's stored text, or the formatted double.
func (s *Set) Scan(cursor uint64, fn func(member, score []byte)) uint64 {
	var sbuf [32]byte
	if b := s.big; b != nil {
		return b.dict.Scan(cursor, func(r keyspace.Ref) {
			fn(b.dict.Key(r), num.FormatDouble(sbuf[:0], b.score(r)))
		})
	}
	var buf [24]byte
	for p := listpack.First(s.lp); p >= 0; {
		sp := listpack.Next(s.lp, p)
		fn(lpMember(s.lp, p, buf[:0]), listpack.GetBytes(s.lp, sp, sbuf[:0]))
		p = listpack.Next(s.lp, sp)
	}
	return 0
}

// Random returns the element at a uniformly drawn rank; rnd(n) is in [0, n).
func (s *Set) Random(rnd func(n int) int) ([]byte, float64) {
	return s.At(rnd(s.Len()))
}

// --- value interfaces used by the generic commands ---

// CloneValue deep-copies the set (COPY).
func (s *Set) CloneValue() any {
	if s.big == nil {
		return &Set{lp: append([]byte(nil), s.lp...)}
	}
	c := NewBig()
	s.big.t.walk(0, false, func(score float64, ref uint32) bool {
		c.big.insert(s.big.dict.Key(keyspace.Ref(ref)), score)
		return true
	})
	return c
}

// MemoryUsage estimates the bytes the set uses (MEMORY USAGE); samples > 0 extrapolates
// the member sizes of a large set from that many elements.
func (s *Set) MemoryUsage(samples int) int {
	if s.big == nil {
		return 16 + cap(s.lp)
	}
	b := s.big
	n := b.t.n
	if n == 0 {
		return 64
	}
	k := n
	if samples > 0 {
		k = min(samples, n)
	}
	total := 0
	b.t.walk(0, false, func(_ float64, ref uint32) bool {
		total += len(b.dict.Key(keyspace.Ref(ref)))
		k--
		return k > 0
	})
	seen := n
	if samples > 0 {
		seen = min(samples, n)
	}
	// a dictionary entry (~48 bytes with its bucket) and a record header per member
	perElem := 48 + 10 + 8
	return 64 + total*n/seen + n*perElem + b.t.nodeBytes()
}

// Digest is the set's DEBUG DIGEST contribution.
func (s *Set) Digest(start digest.Start, expireAt int64) digest.Digest {
	z := start.ZSet()
	s.Range(0, s.Len()-1, false, func(member []byte, score float64) bool {
		z.Add(member, score)
		return true
	})
	return z.Sum(expireAt)
}

// Check verifies the structure's invariants (tests).
func (s *Set) Check() bool {
	if s.big == nil {
		return listpack.Validate(s.lp, true) == nil && listpack.Len(s.lp)%2 == 0
	}
	b := s.big
	if b.dict.Len() != b.t.n {
		return false
	}
	prevOK := false
	var ps float64
	var pm []byte
	ok := true
	cnt := 0
	b.t.walk(0, false, func(score float64, ref uint32) bool {
		m := b.dict.Key(keyspace.Ref(ref))
		if prevOK && (ps > score || (ps == score && compareBytes(pm, m) >= 0)) {
			ok = false
		}
		if math.Float64bits(b.score(keyspace.Ref(ref))) != math.Float64bits(score) {
			ok = false
		}
		prevOK, ps, pm = true, score, append(pm[:0], m...)
		cnt++
		return ok
	})
	return ok && cnt == b.t.n && b.t.checkCounts()
}

func (t *tree) checkCounts() bool {
	if t.n == 0 {
		return true
	}
	var rec func(id uint32, lvl int) (int, bool)
	rec = func(id uint32, lvl int) (int, bool) {
		if lvl == 0 {
			return int(t.leaves[id].n), t.leaves[id].n > 0
		}
		in := t.inners[id]
		total := 0
		for i := 0; i < int(in.n); i++ {
			c, ok := rec(in.child[i], lvl-1)
			cnt, s, r := t.info(in.child[i], lvl-1)
			if !ok || int(in.count[i]) != c || cnt != in.count[i] || math.Float64bits(s) != math.Float64bits(in.minS[i]) || r != in.minRef[i] {
				return 0, false
			}
			total += c
		}
		return total, in.n > 0
	}
	c, ok := rec(t.root, t.height)
	return ok && c == t.n
}
