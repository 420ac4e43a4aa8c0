// Package intset is Redis's intset: a sorted array of unique integers stored in a byte
// slice in exactly Redis's format, so it can be written to and read from RDB files as is.
//
// Layout (all little-endian):
//
//	[encoding u32: 2, 4 or 8][length u32][length integers of `encoding` bytes, ascending]
//
// The encoding is the width of the widest value ever added: adding a value that does not
// fit upgrades every element, and removing values never downgrades, as in Redis.
package intset

import (
	"encoding/binary"
	"errors"
	"math"
)

// Element widths, which are also the encoding values stored in the header.
const (
	Enc16 = 2
	Enc32 = 4
	Enc64 = 8

	headerSize = 8
)

// Set is an intset blob. The zero value (nil) is not a valid blob; use New.
type Set []byte

// New returns an empty intset with the narrowest encoding.
func New() Set {
	s := make(Set, headerSize, headerSize+4*Enc16)
	binary.LittleEndian.PutUint32(s, Enc16)
	return s
}

// ValueEncoding is the narrowest encoding that holds v.
func ValueEncoding(v int64) int {
	switch {
	case v < math.MinInt32 || v > math.MaxInt32:
		return Enc64
	case v < math.MinInt16 || v > math.MaxInt16:
		return Enc32
	}
	return Enc16
}

// Encoding is the element width in bytes.
func (s Set) Encoding() int { return int(binary.LittleEndian.Uint32(s)) }

// Len is the number of elements.
func (s Set) Len() int { return int(binary.LittleEndian.Uint32(s[4:])) }

// BlobLen is the size of the blob in bytes.
func (s Set) BlobLen() int { return len(s) }

func (s Set) setLen(n int) { binary.LittleEndian.PutUint32(s[4:], uint32(n)) }

// getEnc reads element i as if the set had encoding enc.
func (s Set) getEnc(i, enc int) int64 {
	p := s[headerSize+i*enc:]
	switch enc {
	case Enc16:
		return int64(int16(binary.LittleEndian.Uint16(p)))
	case Enc32:
		return int64(int32(binary.LittleEndian.Uint32(p)))
	}
	return int64(binary.LittleEndian.Uint64(p))
}

func (s Set) putEnc(i, enc int, v int64) {
	p := s[headerSize+i*enc:]
	switch enc {
	case Enc16:
		binary.LittleEndian.PutUint16(p, uint16(v))
	case Enc32:
		binary.LittleEndian.PutUint32(p, uint32(v))
	default:
		binary.LittleEndian.PutUint64(p, uint64(v))
	}
}

// Get returns the i-th smallest element; i must be in [0, Len()).
func (s Set) Get(i int) int64 { return s.getEnc(i, s.Encoding()) }

// search returns v's position, or where it would be inserted and false.
func (s Set) search(v int64) (int, bool) {
	enc := s.Encoding()
	lo, hi := 0, s.Len()
	if hi == 0 {
		return 0, false
	}
	// Values past either end are common (sequential inserts): answer them without a search.
	if v > s.getEnc(hi-1, enc) {
		return hi, false
	}
	if v < s.getEnc(0, enc) {
		return 0, false
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		cur := s.getEnc(mid, enc)
		switch {
		case cur == v:
			return mid, true
		case cur < v:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return lo, false
}

// Find reports whether v is an element.
func (s Set) Find(v int64) bool {
	if ValueEncoding(v) > s.Encoding() {
		return false
	}
	_, ok := s.search(v)
	return ok
}

// Add inserts v and reports whether it was absent. The blob may be reallocated.
func (s *Set) Add(v int64) bool {
	enc := s.Encoding()
	if venc := ValueEncoding(v); venc > enc {
		s.upgradeAndAdd(v, venc)
		return true
	}
	pos, found := s.search(v)
	if found {
		return false
	}
	n := s.Len()
	b := append(*s, make([]byte, enc)...)
	at := headerSize + pos*enc
	copy(b[at+enc:], b[at:headerSize+n*enc])
	*s = b
	s.putEnc(pos, enc, v)
	s.setLen(n + 1)
	return true
}

// Grow makes room for n more elements at the current encoding, so that adding several
// values reallocates once rather than as append's doubling goes.
func (s *Set) Grow(n int) {
	need := len(*s) + n*s.Encoding()
	if n <= 0 || need <= cap(*s) {
		return
	}
	b := make(Set, len(*s), need)
	copy(b, *s)
	*s = b
}

// upgradeAndAdd widens every element to venc and adds v, which, being too wide for the old
// encoding, is either smaller or larger than all of them.
func (s *Set) upgradeAndAdd(v int64, venc int) {
	old := *s
	oenc, n := old.Encoding(), old.Len()
	b := make(Set, headerSize+(n+1)*venc)
	binary.LittleEndian.PutUint32(b, uint32(venc))
	b.setLen(n + 1)
	shift := 0
	if v < 0 {
		shift = 1
	}
	for i := 0; i < n; i++ {
		b.putEnc(i+shift, venc, old.getEnc(i, oenc))
	}
	if v < 0 {
		b.putEnc(0, venc, v)
	} else {
		b.putEnc(n, venc, v)
	}
	*s = b
}

// Remove deletes v and reports whether it was present. The encoding is kept.
func (s *Set) Remove(v int64) bool {
	if ValueEncoding(v) > s.Encoding() {
		return false
	}
	pos, found := s.search(v)
	if !found {
		return false
	}
	enc, n := s.Encoding(), s.Len()
	b := *s
	at := headerSize + pos*enc
	copy(b[at:], b[at+enc:headerSize+n*enc])
	b = b[:headerSize+(n-1)*enc]
	// Give memory back when the blob has shrunk to well under its capacity.
	if cap(b) > 64 && len(b) < cap(b)/4 {
		b = append(Set(nil), b...)
	}
	*s = b
	s.setLen(n - 1)
	return true
}

// Random returns a uniformly chosen element; rnd(n) must return a number in [0, n) and the
// set must not be empty.
func (s Set) Random(rnd func(n int) int) int64 { return s.Get(rnd(s.Len())) }

// Min and Max return the smallest and largest elements of a non-empty set.
func (s Set) Min() int64 { return s.Get(0) }

// Max returns the largest element of a non-empty set.
func (s Set) Max() int64 { return s.Get(s.Len() - 1) }

// Clone returns a copy that shares no memory with s.
func (s Set) Clone() Set { return append(Set(nil), s...) }

// Validation errors.
var (
	ErrShort    = errors.New("intset: blob shorter than its header")
	ErrEncoding = errors.New("intset: invalid encoding")
	ErrLength   = errors.New("intset: length does not match the blob size")
	ErrEmpty    = errors.New("intset: empty intset")
	ErrOrder    = errors.New("intset: elements not strictly ascending")
)

// Validate checks a blob read from outside (an RDB file) under Redis's rules: a valid
// encoding, a size that matches the length exactly and at least one element; deep also
// checks that the elements are strictly ascending (sorted, no duplicates).
func Validate(b []byte, deep bool) error {
	if len(b) < headerSize {
		return ErrShort
	}
	enc := binary.LittleEndian.Uint32(b)
	if enc != Enc16 && enc != Enc32 && enc != Enc64 {
		return ErrEncoding
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	if headerSize+n*uint64(enc) != uint64(len(b)) {
		return ErrLength
	}
	if n == 0 {
		return ErrEmpty
	}
	if !deep {
		return nil
	}
	s := Set(b)
	prev := s.getEnc(0, int(enc))
	for i := 1; i < int(n); i++ {
		cur := s.getEnc(i, int(enc))
		if cur <= prev {
			return ErrOrder
		}
		prev = cur
	}
	return nil
}
