// Package stream implements Redis 7.0's stream value: entries kept in listpack nodes laid out
// byte for byte as Redis lays them out (so node boundaries, approximate trimming and the RDB
// form match), the stream's counters, and consumer groups with their pending entries lists.
package stream

import (
	"math"
	"strconv"
)

// ID is a stream entry ID, <ms>-<seq>.
type ID struct{ Ms, Seq uint64 }

// MaxID is the largest ID ("+").
var MaxID = ID{math.MaxUint64, math.MaxUint64}

// Compare returns -1, 0 or 1 as a is less than, equal to or greater than b.
func (a ID) Compare(b ID) int {
	switch {
	case a.Ms < b.Ms:
		return -1
	case a.Ms > b.Ms:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Less reports a < b.
func (a ID) Less(b ID) bool { return a.Compare(b) < 0 }

// IsZero reports whether the ID is 0-0.
func (a ID) IsZero() bool { return a.Ms == 0 && a.Seq == 0 }

// Incr returns the next ID; ok is false at MaxID.
func (a ID) Incr() (ID, bool) {
	if a.Seq == math.MaxUint64 {
		if a.Ms == math.MaxUint64 {
			return a, false
		}
		return ID{a.Ms + 1, 0}, true
	}
	return ID{a.Ms, a.Seq + 1}, true
}

// Decr returns the previous ID; ok is false at 0-0.
func (a ID) Decr() (ID, bool) {
	if a.Seq == 0 {
		if a.Ms == 0 {
			return a, false
		}
		return ID{a.Ms - 1, math.MaxUint64}, true
	}
	return ID{a.Ms, a.Seq - 1}, true
}

// Append appends the ID as "ms-seq".
func (a ID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, a.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, a.Seq, 10)
}

// String formats the ID as "ms-seq".
func (a ID) String() string { return string(a.Append(nil)) }

// Key is the 16-byte big-endian form Redis uses as radix-tree key (and in RDB files).
func (a ID) Key() [16]byte {
	var k [16]byte
	for i := range 8 {
		k[i] = byte(a.Ms >> (56 - 8*i))
		k[8+i] = byte(a.Seq >> (56 - 8*i))
	}
	return k
}

// ParseMode says which special forms ParseID accepts.
type ParseMode int

const (
	// Strict rejects "-" and "+".
	Strict ParseMode = 1 << iota
	// SeqStar accepts "<ms>-*" (XADD), reported by seqGiven=false.
	SeqStar
)

// ParseID parses an ID argument the way Redis's streamParseID does: "-" is 0-0, "+" the
// largest ID (both rejected in Strict mode), "<ms>" takes missingSeq as sequence. Each part
// goes through Redis's string2ull, which falls back to C's strtoull and so accepts leading
// blanks, a "+" sign and wrapped negatives written with blanks first.
func ParseID(b []byte, missingSeq uint64, mode ParseMode) (id ID, seqGiven bool, ok bool) {
	if len(b) > 127 {
		return ID{}, false, false
	}
	// Redis copies the argument into a C string: it ends at the first NUL.
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		if mode&Strict != 0 {
			return ID{}, false, false
		}
		if b[0] == '-' {
			return ID{}, true, true
		}
		return MaxID, true, true
	}
	seqGiven = true
	msPart, seqPart, hasDash := b, []byte(nil), false
	for i, c := range b {
		if c == '-' {
			msPart, seqPart, hasDash = b[:i], b[i+1:], true
			break
		}
	}
	ms, ok := string2ull(msPart)
	if !ok {
		return ID{}, false, false
	}
	seq := missingSeq
	if hasDash {
		if mode&SeqStar != 0 && len(seqPart) == 1 && seqPart[0] == '*' {
			seq, seqGiven = 0, false
		} else if seq, ok = string2ull(seqPart); !ok {
			return ID{}, false, false
		}
	}
	return ID{ms, seq}, seqGiven, true
}

// string2ull is Redis's string2ull: a strict signed 64-bit parse, negative values refused,
// then C's strtoull for the rest.
func string2ull(s []byte) (uint64, bool) {
	if v, ok := strictInt64(s); ok {
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	return strtoull(s)
}

// strictInt64 is Redis's string2ll.
func strictInt64(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := false
	p := s
	if p[0] == '-' {
		neg = true
		p = p[1:]
		if len(p) == 0 {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// strtoull emulates C's strtoull(s, &end, 10) as Redis checks it: the whole string must be
// consumed and no overflow reported.
func strtoull(s []byte) (uint64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start || i != len(s) || overflow {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
