package num

import (
	"math/big"
	"math/bits"
)

// The x87 80-bit extended format that C's long double is on x86-64, which
// is what Redis 7.0 does INCRBYFLOAT and HINCRBYFLOAT in: a 64-bit
// significand, normal numbers from 2^-16382 up to just below 2^16384, and
// subnormals down to 2^-16445.
const (
	ldPrec       = 64
	ldMaxExp     = 16384  // |x| < 2^ldMaxExp
	ldMinNormExp = -16382 // |x| >= 2^ldMinNormExp unless subnormal
	ldMinExp     = -16445 // the subnormal grid: multiples of 2^ldMinExp
)

// LongDouble is a value of C's long double as Redis computes with it.
type LongDouble struct {
	kind floatKind // kindDecimal means finite
	neg  bool
	mant uint64 // the value is mant * 2^exp; mant == 0 means zero
	exp  int
}

// LongDoubleFromInt64 converts v exactly, as C does for a long long.
func LongDoubleFromInt64(v int64) LongDouble {
	if v < 0 {
		return LongDouble{kind: kindDecimal, neg: true, mant: uint64(-v)}
	}
	return LongDouble{kind: kindDecimal, mant: uint64(v)}
}

// IsFinite reports whether x is neither infinite nor NaN.
func (x LongDouble) IsFinite() bool { return x.kind == kindDecimal }

func (x LongDouble) big() *big.Float {
	f := new(big.Float).SetPrec(ldPrec).SetUint64(x.mant)
	f.SetMantExp(f, x.exp)
	if x.neg {
		f.Neg(f)
	}
	return f
}

// fromBig converts a finite f already rounded to ldPrec bits; the caller
// has checked its range.
func fromBig(f *big.Float) LongDouble {
	x := LongDouble{kind: kindDecimal, neg: f.Signbit()}
	if f.Sign() == 0 {
		return x
	}
	m := new(big.Float)
	e := f.MantExp(m)
	m.Abs(m)
	m.SetMantExp(m, ldPrec)
	x.mant, _ = m.Uint64()
	x.exp = e - ldPrec
	return x
}

// ParseLongDouble parses b the way Redis's string2ld does (strtold, then
// Redis's checks): the strtod grammar over the whole input, no leading
// whitespace, no NaN, no overflow, and no underflow all the way to zero.
// "inf" is accepted here; the caller decides what an infinity means.
func ParseLongDouble(b []byte) (LongDouble, bool) {
	// Redis copies the argument into a 5 KiB buffer and refuses longer ones.
	if len(b) == 0 || len(b) >= 5*1024 {
		return LongDouble{}, false
	}
	f := scanFloat(b)
	switch f.kind {
	case kindInf:
		return LongDouble{kind: kindInf, neg: f.neg}, true
	case kindDecimal, kindHex:
	default:
		return LongDouble{}, false
	}
	if !f.nonzero {
		return LongDouble{kind: kindDecimal, neg: f.neg}, true
	}
	digits := make([]byte, 0, f.intEnd-f.intStart+f.fracEnd-f.fracStart)
	digits = append(digits, b[f.intStart:f.intEnd]...)
	digits = append(digits, b[f.fracStart:f.fracEnd]...)
	for digits[0] == '0' {
		digits = digits[1:]
	}
	frac := f.fracEnd - f.fracStart
	var num, den big.Int
	if f.kind == kindHex {
		num.SetString(string(digits), 16)
		// value = num * 2^e2
		e2 := f.exp - 4*frac
		if top := num.BitLen() + e2; top > ldMaxExp {
			return LongDouble{}, false
		} else if top <= ldMinExp-1 {
			// Below half the smallest subnormal: rounds to zero.
			return LongDouble{}, false
		}
		den.SetInt64(1)
		if e2 >= 0 {
			num.Lsh(&num, uint(e2))
		} else {
			den.Lsh(&den, uint(-e2))
		}
	} else {
		num.SetString(string(digits), 10)
		// value = num * 10^e10, and 10^(len-1+e10) <= value < 10^(len+e10).
		e10 := f.exp - frac
		if lead := len(digits) - 1 + e10; lead >= 4933 {
			// At least 1e4933, beyond the largest long double (~1.19e4932).
			return LongDouble{}, false
		} else if lead < -4952 {
			// Below 1e-4951, under half the smallest subnormal (~3.6e-4951).
			return LongDouble{}, false
		}
		den.SetInt64(1)
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(e10))), nil)
		if e10 >= 0 {
			num.Mul(&num, p)
		} else {
			den.Set(p)
		}
	}
	x, ok := roundRational(&num, &den)
	x.neg = f.neg
	return x, ok
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// roundRational rounds num/den (both positive) to the nearest long double,
// ties to even, as a correctly rounding strtold does. It fails on overflow
// and on underflow to zero, the two ERANGE cases Redis rejects.
func roundRational(num, den *big.Int) (LongDouble, bool) {
	q := new(big.Float).SetPrec(ldPrec).Quo(new(big.Float).SetInt(num), new(big.Float).SetInt(den))
	e := q.MantExp(nil) // |q| = m * 2^e with m in [0.5, 1)
	if e > ldMaxExp {
		return LongDouble{}, false
	}
	if e > ldMinNormExp {
		return fromBig(q), true
	}
	// Subnormal: round on the fixed 2^ldMinExp grid instead of to 64 bits.
	n := new(big.Int).Lsh(num, -ldMinExp)
	r := new(big.Int)
	n.QuoRem(n, den, r)
	r.Lsh(r, 1)
	if c := r.Cmp(den); c > 0 || c == 0 && n.Bit(0) == 1 {
		n.Add(n, big.NewInt(1))
	}
	if n.Sign() == 0 {
		return LongDouble{}, false
	}
	return LongDouble{kind: kindDecimal, mant: n.Uint64(), exp: ldMinExp}, true
}

// Add returns x+y rounded to long double, ties to even; a finite sum too
// large becomes an infinity, and inf plus -inf is NaN.
func (x LongDouble) Add(y LongDouble) LongDouble {
	switch {
	case x.kind == kindNaN || y.kind == kindNaN:
		return LongDouble{kind: kindNaN}
	case x.kind == kindInf && y.kind == kindInf:
		if x.neg != y.neg {
			return LongDouble{kind: kindNaN}
		}
		return x
	case x.kind == kindInf:
		return x
	case y.kind == kindInf:
		return y
	}
	s := new(big.Float).SetPrec(ldPrec).Add(x.big(), y.big())
	if s.Sign() == 0 {
		// Exact cancellation gives +0 in round-to-nearest, but -0 + -0 is -0.
		return LongDouble{kind: kindDecimal, neg: x.neg && y.neg}
	}
	if s.MantExp(nil) > ldMaxExp {
		return LongDouble{kind: kindInf, neg: s.Signbit()}
	}
	// A sum that lands among the subnormals is exact (both operands are on
	// the 2^ldMinExp grid and the sum needs fewer than 64 bits there).
	return fromBig(s)
}

// AppendHuman appends x in Redis's "human" long double format, the one
// INCRBYFLOAT replies and stores: printf "%.17Lf", then trailing zeros and
// a trailing '.' removed, and "-0" printed as "0". Large values keep every
// integer digit (1e300 prints as 301 digits).
func (x LongDouble) AppendHuman(dst []byte) []byte {
	switch x.kind {
	case kindInf:
		if x.neg {
			return append(dst, "-inf"...)
		}
		return append(dst, "inf"...)
	case kindNaN:
		return append(dst, "nan"...)
	}
	if x.mant != 0 && bits.Len64(x.mant)+x.exp <= -58 {
		// Below 2^-58 (< 0.5e-17) every digit rounds away; skip the exact
		// decimal expansion, which for subnormals runs to 16,000 digits.
		return append(dst, '0')
	}
	start := len(dst)
	dst = x.big().Append(dst, 'f', 17)
	end := len(dst)
	for dst[end-1] == '0' {
		end--
	}
	if dst[end-1] == '.' {
		end--
	}
	dst = dst[:end]
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

// IncrByFloat is INCRBYFLOAT's arithmetic: it parses the key's current
// value (cur == nil means the key does not exist, counted as 0; an empty
// non-nil cur is the empty string and is rejected) and the increment, adds
// them in long double, and returns the new value in the format Redis both
// replies with and stores. Errors are ErrNotFloat and ErrNaNOrInfinity.
func IncrByFloat(cur, incr []byte) ([]byte, error) {
	var v LongDouble
	if cur != nil {
		var ok bool
		if v, ok = ParseLongDouble(cur); !ok {
			return nil, ErrNotFloat
		}
	}
	d, ok := ParseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	sum := v.Add(d)
	if !sum.IsFinite() {
		return nil, ErrNaNOrInfinity
	}
	return sum.AppendHuman(nil), nil
}

// HIncrByFloat is HINCRBYFLOAT's arithmetic on a field (cur == nil means
// the field does not exist). Redis checks in this order and with these
// texts: a bad increment is ErrNotFloat, an infinite one
// ErrIncrNaNOrInfinity, a bad stored value ErrHashNotFloat, and an infinite
// sum ErrNaNOrInfinity.
func HIncrByFloat(cur, incr []byte) ([]byte, error) {
	d, ok := ParseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	if !d.IsFinite() {
		return nil, ErrIncrNaNOrInfinity
	}
	var v LongDouble
	if cur != nil {
		if v, ok = ParseLongDouble(cur); !ok {
			return nil, ErrHashNotFloat
		}
	}
	sum := v.Add(d)
	if !sum.IsFinite() {
		return nil, ErrNaNOrInfinity
	}
	return sum.AppendHuman(nil), nil
}
