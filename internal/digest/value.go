package digest

import (
	"math"
	"strconv"
)

// Start is where one key's digest begins: ForKey for a DEBUG DIGEST key digest
// (to give to Dataset.Add), ForValue for what DEBUG DIGEST-VALUE prints. Its
// methods start a digest of each value type; every one ends by taking the key's
// expiry as expireAtMs (NoExpire when it has none).
//
// Usage, for a caller walking its own structures:
//
//	ds.Add(db, digest.ForKey(k).String(v, exp))
//
//	l := digest.ForKey(k).List()
//	for _, e := range elems { l.Add(e) }
//	ds.Add(db, l.Sum(exp))
//
//	reply := digest.ForValue().String(v, exp).Hex()
//
// The values given to the builders are the bytes a client would read back:
// integers in compact encodings are given with AddInt or formatted in decimal.
type Start struct{ d Digest }

// ForKey starts the digest of key name for DEBUG DIGEST.
func ForKey(name []byte) Start {
	var s Start
	mixBytes(&s.d, name)
	return s
}

// ForValue starts a DEBUG DIGEST-VALUE digest, which leaves the key name out.
// A missing key's DIGEST-VALUE is the zero Digest, not anything built from here.
func ForValue() Start { return Start{} }

func (s Start) typed(t int) Digest {
	d := s.d
	mixHash(&d, &typeHashes[t])
	return d
}

func finish(d Digest, expireAtMs int64) Digest {
	if expireAtMs != NoExpire {
		xorDigest(&d, &expireHash)
	}
	return d
}

// String digests a string value.
func (s Start) String(val []byte, expireAtMs int64) Digest {
	d := s.typed(typeString)
	mixBytes(&d, val)
	return finish(d, expireAtMs)
}

// Int digests a string value held as an integer; Redis digests its decimal text.
func (s Start) Int(n int64, expireAtMs int64) Digest {
	var buf [20]byte
	return s.String(strconv.AppendInt(buf[:0], n, 10), expireAtMs)
}

// List digests a list: its elements mixed in order from head to tail.
type List struct{ d Digest }

// List starts a list digest.
func (s Start) List() List { return List{s.typed(typeList)} }

// Add mixes the next element, going from head to tail.
func (l *List) Add(elem []byte) { mixBytes(&l.d, elem) }

// AddInt mixes the next element when it is stored as an integer.
func (l *List) AddInt(n int64) {
	var buf [20]byte
	l.Add(strconv.AppendInt(buf[:0], n, 10))
}

// Sum returns the key's digest.
func (l *List) Sum(expireAtMs int64) Digest { return finish(l.d, expireAtMs) }

// Set digests a set: every member is xored in, so order does not matter.
type Set struct{ d Digest }

// Set starts a set digest.
func (s Start) Set() Set { return Set{s.typed(typeSet)} }

// Add xors in one member.
func (st *Set) Add(member []byte) { xorBytes(&st.d, member) }

// AddInt xors in one member stored as an integer (Redis's intset encoding).
func (st *Set) AddInt(n int64) {
	var buf [20]byte
	st.Add(strconv.AppendInt(buf[:0], n, 10))
}

// Sum returns the key's digest.
func (st *Set) Sum(expireAtMs int64) Digest { return finish(st.d, expireAtMs) }

// Hash digests a hash: each pair is digested as e = mix(mix(0, field), value)
// and xor(d, e) folds it in, hashing e once more; pair order does not matter.
type Hash struct{ d Digest }

// Hash starts a hash digest.
func (s Start) Hash() Hash { return Hash{s.typed(typeHash)} }

// Add xors in one field and its value.
func (h *Hash) Add(field, value []byte) {
	var e Digest
	mixBytes(&e, field)
	mixBytes(&e, value)
	xorBytes(&h.d, e[:])
}

// Sum returns the key's digest.
func (h *Hash) Sum(expireAtMs int64) Digest { return finish(h.d, expireAtMs) }

// ZSet digests a sorted set like a hash whose values are the scores' text.
type ZSet struct{ d Digest }

// ZSet starts a sorted set digest.
func (s Start) ZSet() ZSet { return ZSet{s.typed(typeZSet)} }

// Add xors in one member and its score. A score of -0 digests as "-0", as
// Redis's skiplist encoding keeps it; its listpack encoding stores -0 as the
// integer 0, so a server mirroring Redis normalises -0 there, not here.
func (z *ZSet) Add(member []byte, score float64) {
	var e Digest
	var buf [32]byte
	mixBytes(&e, member)
	mixBytes(&e, AppendScore(buf[:0], score))
	xorBytes(&z.d, e[:])
}

// Sum returns the key's digest.
func (z *ZSet) Sum(expireAtMs int64) Digest { return finish(z.d, expireAtMs) }

// AppendScore appends a score as Redis's digest (and its 7.0 replies) format
// it: C's "%.17g", which spells infinities "inf" and "-inf".
func AppendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		// Unreachable from Redis (scores are never NaN); glibc's spelling.
		return append(dst, "nan"...)
	}
	// Go's 'g' with a precision trims trailing zeros and picks the exponent
	// form under the same rule as C's %g, with a two-digit minimum exponent.
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// Stream digests a stream's entries in ID order: each entry mixes its ID as
// "ms.seq" and then each field and value in stored order. Redis 7.0 leaves the
// consumer groups, their pending entries, the last ID and the counters out.
type Stream struct{ d Digest }

// Stream starts a stream digest.
func (s Start) Stream() Stream { return Stream{s.typed(typeStream)} }

// Entry mixes the ID of the next entry; its fields follow with Field.
func (st *Stream) Entry(ms, seq uint64) {
	var buf [48]byte
	b := strconv.AppendUint(buf[:0], ms, 10)
	// Redis's digest spells the ID with a dot, not the dash of its replies.
	b = append(b, '.')
	b = strconv.AppendUint(b, seq, 10)
	mixBytes(&st.d, b)
}

// Field mixes one field and its value of the current entry.
func (st *Stream) Field(field, value []byte) {
	mixBytes(&st.d, field)
	mixBytes(&st.d, value)
}

// Sum returns the key's digest.
func (st *Stream) Sum(expireAtMs int64) Digest { return finish(st.d, expireAtMs) }
