package num

import (
	"errors"
	"math"
	"strconv"
)

// The error replies Redis gives when float arguments or results are bad.
// Each text is the whole error line after '-', ready to send.
var (
	ErrNotFloat      = errors.New("ERR value is not a valid float")
	ErrNaNOrInfinity = errors.New("ERR increment would produce NaN or Infinity")
	// ErrIncrNaNOrInfinity is HINCRBYFLOAT's reply to an infinite increment.
	ErrIncrNaNOrInfinity = errors.New("ERR value is NaN or Infinity")
	// ErrHashNotFloat is HINCRBYFLOAT's reply when the field's value is bad.
	ErrHashNotFloat = errors.New("ERR hash value is not a float")
)

type floatKind uint8

const (
	kindInvalid floatKind = iota
	kindDecimal
	kindHex
	kindInf
	kindNaN
)

// maxExp bounds the exponents scanned; anything this large is already far
// outside the range of every format involved.
const maxExp = 1 << 30

// floatSyntax describes a string in C strtod's grammar (C locale):
// [+-] then decimal digits with an optional '.' and e-exponent, or "0x" hex
// digits with an optional '.' and p-exponent, or "inf"/"infinity"/"nan".
type floatSyntax struct {
	kind               floatKind
	neg                bool
	intStart, intEnd   int // digits before the point
	fracStart, fracEnd int // digits after the point
	exp                int // explicit exponent, saturated at ±maxExp
	hasExp             bool
	nonzero            bool // some mantissa digit is not 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// scanFloat checks that all of b is one strtod number. Redis rejects
// leading whitespace and any unparsed tail, so the whole input must match.
func scanFloat(b []byte) floatSyntax {
	var f floatSyntax
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		f.neg = b[i] == '-'
		i++
	}
	rest := b[i:]
	if equalFold(rest, "inf") || equalFold(rest, "infinity") {
		f.kind = kindInf
		return f
	}
	if len(rest) >= 3 && equalFold(rest[:3], "nan") {
		// "nan" and "nan(chars)" parse, but every caller rejects NaN.
		f.kind = kindNaN
		return f
	}
	digit, expChar := isDigit, byte('e')
	f.kind = kindDecimal
	if len(rest) >= 3 && rest[0] == '0' && rest[1]|0x20 == 'x' && (isHexDigit(rest[2]) || rest[2] == '.' && len(rest) > 3 && isHexDigit(rest[3])) {
		f.kind, digit, expChar = kindHex, isHexDigit, 'p'
		i += 2
	}
	f.intStart = i
	for i < len(b) && digit(b[i]) {
		f.nonzero = f.nonzero || b[i] != '0'
		i++
	}
	f.intEnd, f.fracStart = i, i
	if i < len(b) && b[i] == '.' {
		i++
		f.fracStart = i
		for i < len(b) && digit(b[i]) {
			f.nonzero = f.nonzero || b[i] != '0'
			i++
		}
	}
	f.fracEnd = i
	if f.intEnd == f.intStart && f.fracEnd == f.fracStart {
		return floatSyntax{}
	}
	if i < len(b) && b[i]|0x20 == expChar {
		j := i + 1
		eneg := false
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			eneg = b[j] == '-'
			j++
		}
		if j == len(b) || !isDigit(b[j]) {
			// strtod would stop before the 'e', leaving a tail.
			return floatSyntax{}
		}
		for ; j < len(b) && isDigit(b[j]); j++ {
			if f.exp < maxExp {
				f.exp = f.exp*10 + int(b[j]-'0')
			}
		}
		if eneg {
			f.exp = -f.exp
		}
		f.hasExp = true
		i = j
	}
	if i != len(b) {
		return floatSyntax{}
	}
	return f
}

// ParseFloat parses b the way Redis's string2d does for sorted-set scores
// and other double arguments: C strtod syntax over the whole input (hex
// floats, "inf" and "infinity" in any case, a leading '+'), but no
// whitespace, no NaN, and no result that overflows or underflows to zero.
// A result that lands among the subnormals is accepted.
func ParseFloat(b []byte) (float64, bool) {
	f := scanFloat(b)
	switch f.kind {
	case kindInf:
		if f.neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case kindDecimal, kindHex:
	default:
		return 0, false
	}
	var scratch [64]byte
	s := b
	if f.kind == kindHex && !f.hasExp {
		// strtod allows a hex float without a 'p' exponent; Go does not.
		s = append(append(scratch[:0], b...), 'p', '0')
	}
	v, err := strconv.ParseFloat(bytesString(s), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	if v == 0 && f.nonzero {
		// strtod flags underflow to zero with ERANGE, which Redis rejects.
		return 0, false
	}
	return v, true
}

// FormatDouble appends f as Redis 7.0 replies with a double (ZSCORE and
// friends): printf's "%.17g", with "inf" and "-inf" for infinities. The
// RESP framing (bulk string or RESP3 ',') is the caller's.
func FormatDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		// glibc prints the sign of a NaN.
		if math.Signbit(f) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	}
	// Seventeen significant digits, correctly rounded (ties to even, as
	// glibc does), then laid out by %g's rules.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', 16, 64)
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	// e is now "d.dddddddddddddddde±XX".
	mant, expPart := e[:18], e[19:]
	x, _ := strconv.Atoi(bytesString(expPart))
	var digits [17]byte
	digits[0] = mant[0]
	copy(digits[1:], mant[2:])
	if x < -4 || x >= 17 {
		n := trimZeros(digits[:])
		dst = append(dst, digits[0])
		if n > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:n]...)
		}
		return append(dst, e[18:]...)
	}
	if x >= 0 {
		dst = append(dst, digits[:x+1]...)
		dst = append(dst, '.')
		dst = append(dst, digits[x+1:]...)
	} else {
		dst = append(dst, "0."...)
		for range -x - 1 {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[:]...)
	}
	end := len(dst)
	for dst[end-1] == '0' {
		end--
	}
	if dst[end-1] == '.' {
		end--
	}
	return dst[:end]
}

// trimZeros returns the length of d without its trailing zeros (at least 1).
func trimZeros(d []byte) int {
	n := len(d)
	for n > 1 && d[n-1] == '0' {
		n--
	}
	return n
}
