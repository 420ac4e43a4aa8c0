package geohash

import (
	"math"
	"math/big"
	"sync"
)

// The slow path of the correctly rounded functions: the value evaluated with math/big
// far beyond double precision and rounded once. It decides the few results the fast path
// cannot round with certainty (about one call in 2^15; 30-120 us each) and checks the fast
// path's tables in tests.

// slowPrec is the working precision in bits, a wide margin over the hardest cases known
// for rounding these functions in double precision.
const slowPrec = 256

var (
	bigPiOnce sync.Once
	bigPi     *big.Float // pi to bigPiPrec bits
)

// bigPiPrec covers argument reduction for any finite double (exponent up to 1024) with
// slowPrec bits left over.
const bigPiPrec = 1024 + slowPrec + 128

func bigFloat(prec uint) *big.Float { return new(big.Float).SetPrec(prec) }

// piBig returns pi to bigPiPrec bits (Machin's formula, computed on first use).
func piBig() *big.Float {
	bigPiOnce.Do(func() {
		p := uint(bigPiPrec + 32)
		a := atanInv(5, p)
		b := atanInv(239, p)
		a.Mul(a, bigFloat(p).SetInt64(16))
		b.Mul(b, bigFloat(p).SetInt64(4))
		bigPi = bigFloat(bigPiPrec).Sub(a, b)
	})
	return bigPi
}

// atanInv is atan(1/n) by its power series.
func atanInv(n int64, prec uint) *big.Float {
	x := bigFloat(prec).Quo(bigFloat(prec).SetInt64(1), bigFloat(prec).SetInt64(n))
	x2 := bigFloat(prec).Mul(x, x)
	sum := bigFloat(prec).Set(x)
	pow := bigFloat(prec).Set(x)
	term := bigFloat(prec)
	limit := -int(prec) - 8
	for k := int64(1); ; k++ {
		pow.Mul(pow, x2)
		term.Quo(pow, bigFloat(prec).SetInt64(2*k+1))
		if k%2 == 1 {
			sum.Sub(sum, term)
		} else {
			sum.Add(sum, term)
		}
		if term.MantExp(nil) < limit {
			return sum
		}
	}
}

// bigSinCos returns sin r and cos r by their power series, for |r| up to about 2.
func bigSinCos(r *big.Float, prec uint) (sin, cos *big.Float) {
	sin = bigFloat(prec).Set(r)
	cos = bigFloat(prec).SetInt64(1)
	term := bigFloat(prec).SetInt64(1) // r^n / n!
	limit := -int(prec) - 8
	for n := int64(1); ; n++ {
		term.Mul(term, r)
		term.Quo(term, bigFloat(prec).SetInt64(n))
		if n == 1 {
			continue // the series for sin starts with r
		}
		switch n % 4 {
		case 0:
			cos.Add(cos, term)
		case 1:
			sin.Add(sin, term)
		case 2:
			cos.Sub(cos, term)
		case 3:
			sin.Sub(sin, term)
		}
		if term.Sign() == 0 || term.MantExp(nil) < limit {
			return sin, cos
		}
	}
}

// bigReduce returns r = x - k*pi/2 with |r| <= pi/4 and k mod 4, for a finite x.
func bigReduce(x float64) (*big.Float, int) {
	prec := uint(slowPrec + 64)
	if e := math.Ilogb(x); e > 0 {
		prec += uint(e)
	}
	bx := bigFloat(prec).SetFloat64(x)
	if math.Abs(x) < 0.78 {
		return bx, 0
	}
	halfPi := bigFloat(prec).Quo(piBig(), bigFloat(prec).SetInt64(2))
	q := bigFloat(prec).Quo(bx, halfPi)
	q.Add(q, bigFloat(prec).SetFloat64(0.5))
	k, _ := q.Int(nil)
	if q.Sign() < 0 && !q.IsInt() {
		k.Sub(k, big.NewInt(1)) // Int truncates: floor for negatives
	}
	r := bigFloat(prec).Mul(bigFloat(prec).SetInt(k), halfPi)
	r.Sub(bx, r)
	return r, int(new(big.Int).And(k, big.NewInt(3)).Int64())
}

// slowSinCos returns sin x and cos x correctly rounded.
func slowSinCos(x float64) (sin, cos float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return math.NaN(), math.NaN()
	}
	r, q := bigReduce(x)
	s, c := bigSinCos(r, r.Prec())
	switch q {
	case 1:
		s, c = c, s.Neg(s)
	case 2:
		s, c = s.Neg(s), c.Neg(c)
	case 3:
		s, c = c.Neg(c), s
	}
	sin, _ = s.Float64()
	cos, _ = c.Float64()
	if x == 0 {
		sin = x // keeps the sign of zero
	}
	return sin, cos
}

// slowAsin returns asin x correctly rounded: Newton's iteration on sin y = x from the
// double approximation, which converges quadratically.
func slowAsin(x float64) float64 {
	switch {
	case math.IsNaN(x) || x > 1 || x < -1:
		return math.NaN()
	case x == 0:
		return x
	}
	prec := uint(slowPrec + 64)
	half := bigFloat(prec).Quo(piBig(), bigFloat(prec).SetInt64(2))
	if x == 1 || x == -1 {
		v, _ := half.Float64()
		return math.Copysign(v, x)
	}
	bx := bigFloat(prec).SetFloat64(x)
	y := bigFloat(prec).SetFloat64(math.Asin(x))
	d := bigFloat(prec)
	for i := 0; i < 12; i++ {
		s, c := bigSinCos(y, prec)
		d.Sub(s, bx)
		d.Quo(d, c)
		y.Sub(y, d)
		if d.Sign() == 0 || d.MantExp(nil) < y.MantExp(nil)-int(prec)+8 {
			break
		}
	}
	v, _ := y.Float64()
	return v
}
