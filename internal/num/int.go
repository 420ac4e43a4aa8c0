// Package num parses and formats numbers exactly as Redis 7.0 does: strict integers, strtod-style doubles, %.17g replies and INCRBYFLOAT's long double arithmetic.
package num

import (
	"math"
	"strconv"
)

// ParseInt64 parses b the way Redis's string2ll does, the rule behind
// INCR, EXPIRE, SETRANGE and every other integer argument: an optional '-'
// then decimal digits, with no '+', no spaces, no leading zeros (so "-0"
// and "007" are rejected) and no overflow. It never allocates.
//
// Not inlined on purpose: inlined into another package, the call to the generic
// parseInt64 hides from escape analysis that b is only read, and every stack
// buffer a caller parses would move to the heap.
//
//go:noinline
func ParseInt64(b []byte) (int64, bool) { return parseInt64(b) }

// ParseInt64String is ParseInt64 for a string (not inlined for the same reason).
//
//go:noinline
func ParseInt64String(s string) (int64, bool) { return parseInt64(s) }

func parseInt64[T string | []byte](b T) (int64, bool) {
	// 20 bytes hold "-9223372036854775808"; Redis refuses anything longer
	// before looking at it.
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	i, neg := 0, false
	if b[0] == '-' {
		neg, i = true, 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := uint64(b[i] - '0')
		if d > 9 || v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// FormatInt64 appends the decimal form of v to dst.
func FormatInt64(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
