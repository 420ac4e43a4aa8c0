package geohash

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Reference values computed independently (mpmath at 300 bits, rounded to nearest):
// x, sin x, cos x.
var sinCosRef = [][3]float64{
	{0x1.0000000000000p-1, 0x1.eaee8744b05f0p-2, 0x1.c1528065b7d50p-1},
	{0x1.0000000000000p+0, 0x1.aed548f090ceep-1, 0x1.14a280fb5068cp-1},
	{0x1.921fb54442d18p+0, 0x1.0000000000000p+0, 0x1.1a62633145c07p-54},
	{0x1.921fb54442d18p+1, 0x1.1a62633145c07p-53, -0x1.0000000000000p+0},
	{0x1.4f8b588e368f1p-17, 0x1.4f8b588e1e8a2p-17, 0x1.ffffffff920c8p-1},
	{0x1.921fb54442d18p-1, 0x1.6a09e667f3bccp-1, 0x1.6a09e667f3bcdp-1},
	{0x1.4000000000000p+1, 0x1.326af0dcfcab1p-1, -0x1.9a2f7ef858b7dp-1},
	{0x1.9000000000000p+6, -0x1.03425b78c4db8p-1, 0x1.b981dbf665fdfp-1},
	{0x1.e848000000000p+19, -0x1.6664b2568d867p-2, 0x1.df9df9906d32cp-1},
	{0x1.0f0cf064dd592p+73, -0x1.b453ab76bf397p-1, 0x1.0be2cef01c8f4p-1},
	{0x1.5fdbbe9bba775p+2, -0x1.6a09e667f3bcep-1, 0x1.6a09e667f3bcbp-1},
	{0x1.999999999999ap-1, 0x1.6f494c2bffecdp-1, 0x1.64b6bde719865p-1},
	{0x1.999999ef7fd52p-1, 0x1.6f494c67d8aaep-1, 0x1.64b6bda97ab29p-1},
	{0x1.7710000000000p+11, -0x1.1a04fdc0f75cdp-2, -0x1.ec330bf9f13a7p-1},
	{-0x1.0e97c68a0285bp+1, -0x1.b64ca96885389p-1, -0x1.08a569ec6a5ecp-1},
	{-0x1.0c25d87a18d16p+2, 0x1.bbaa73462dcf9p-1, -0x1.ff186f3026153p-2},
	{0x1.cfabb3128abf8p+0, 0x1.f146326a9d448p-1, -0x1.e7a529e175e3bp-3},
	{-0x1.485e7251285d0p+2, 0x1.d3d70debe1c5ap-1, 0x1.a006fe285ac9ap-2},
	{0x1.b8eb069095700p-2, 0x1.ab6b542a60df3p-2, 0x1.d1440699f4051p-1},
	{-0x1.9c9a88a0359b8p+0, -0x1.ff92307bc59ccp-1, -0x1.4f4271980effep-5},
	{-0x1.5374f288ab1cfp+2, 0x1.a8fa7dc43d4e8p-1, 0x1.1d8c1f4269b93p-1},
	{0x1.6d7b2d271b080p-4, 0x1.6cff12275d97ap-4, 0x1.fdf690201750ep-1},
	{-0x1.63340db7bfc2cp+2, 0x1.56a1884d275b3p-1, 0x1.7c75272b37d36p-1},
	{-0x1.97ae50bed8028p-1, -0x1.6df25b49fd390p-1, 0x1.6616868778abbp-1},
	{-0x1.4a59dd68e5776p+2, 0x1.cd2caaab6e284p-1, 0x1.bccd30e882720p-2},
	{-0x1.3a55188b19768p+2, 0x1.f5e3d72ec82a5p-1, 0x1.94fa40588848ap-3},
	{-0x1.cfc10cd29a678p-1, -0x1.92e49b107f962p-1, 0x1.3bf1eaf86d22dp-1},
	{0x1.f60b7c2c912e0p+1, -0x1.684f30bc82cdbp-1, -0x1.6bc281498480fp-1},
	{-0x1.20eb8b450b79ep+2, 0x1.f5fec96ed2ad6p-1, -0x1.92e27f3c4f9d4p-3},
	{-0x1.a91ade06eb79cp+1, 0x1.6db9a729ab104p-3, -0x1.f7c5257ecc8a9p-1},
	{0x1.8779905fdeed0p+0, 0x1.ff8e9d79e1ff7p-1, 0x1.54ab7485941aap-5},
	{0x1.57d728e5f0524p+2, -0x1.94705a113a109p-1, 0x1.39f6b435ec288p-1},
	{0x1.d9b873c1b2200p-1, 0x1.98f762bbe86eap-1, 0x1.340b05b6ce615p-1},
	{-0x1.3d65c7ecf52c4p+0, -0x1.e436bea61b369p-1, 0x1.4cc07a2cce222p-2},
}

// x, asin x.
var asinRef = [][2]float64{
	{0x1.0000000000000p-1, 0x1.0c152382d7366p-1},
	{0x1.fffffffffffffp-1, 0x1.921fb50442d18p+0},
	{0x1.ffffffff24190p-1, 0x1.921ec8003f9d8p+0},
	{0x1.0000000000000p-2, 0x1.02be9ce0b87cdp-2},
	{0x1.12e0be826d695p-30, 0x1.12e0be826d695p-30},
	{0x1.6a09e667f3bcdp-1, 0x1.921fb54442d19p-1},
	{0x1.bd70a3d70a3d7p-1, 0x1.0e21bd416ba16p+0},
	{0x1.f3d7b58e26346p-1, 0x1.5a39976c23a98p+0},
	{0x1.7d9af63a065c0p-5, 0x1.7dbe53b9d8f22p-5},
	{0x1.b7892d8885efap-1, 0x1.08433c3c1d1d4p+0},
	{0x1.288f5635a6592p-2, 0x1.2cdec8cf97585p-2},
	{0x1.276f358a6a63cp-3, 0x1.287801306546cp-3},
	{0x1.e27a1d244ecc8p-4, 0x1.e39989e8d9053p-4},
	{0x1.3be2a8c7b682ap-2, 0x1.411f77f1f0d91p-2},
	{0x1.a1db506ba5eeap-1, 0x1.e8cb3fb405502p-1},
	{0x1.7220ac1a61dbcp-3, 0x1.742c34e33b4bdp-3},
	{0x1.29c77f248e9cdp-1, 0x1.3dcba7765f05dp-1},
	{0x1.471faa8c06143p-1, 0x1.62dc0a9e07f20p-1},
	{0x1.7d55c80c789aep-2, 0x1.86bfcd4458f2bp-2},
	{0x1.1871f66d93390p-1, 0x1.28c9f8e4b2fb0p-1},
	{0x1.012f0320f4e18p-4, 0x1.015a59b28374dp-4},
	{0x1.e840b679dda60p-5, 0x1.e88ad550f9137p-5},
}

func TestSlowPathAgainstReference(t *testing.T) {
	for _, r := range sinCosRef {
		s, c := slowSinCos(r[0])
		if s != r[1] || c != r[2] {
			t.Errorf("slowSinCos(%x) = %x, %x, want %x, %x", r[0], s, c, r[1], r[2])
		}
		if s, c := Sin(r[0]), Cos(r[0]); s != r[1] || c != r[2] {
			t.Errorf("Sin, Cos(%x) = %x, %x, want %x, %x", r[0], s, c, r[1], r[2])
		}
		if s, c := Sin(-r[0]), Cos(-r[0]); s != -r[1] || c != r[2] {
			t.Errorf("Sin, Cos(%x) = %x, %x, want %x, %x", -r[0], s, c, -r[1], r[2])
		}
	}
	for _, r := range asinRef {
		if a := slowAsin(r[0]); a != r[1] {
			t.Errorf("slowAsin(%x) = %x, want %x", r[0], a, r[1])
		}
		if a := Asin(r[0]); a != r[1] {
			t.Errorf("Asin(%x) = %x, want %x", r[0], a, r[1])
		}
		if a := Asin(-r[0]); a != -r[1] {
			t.Errorf("Asin(%x) = %x, want %x", -r[0], a, -r[1])
		}
	}
}

func TestSinCosTable(t *testing.T) {
	prec := uint(300)
	for j := range sinCosTable {
		a := bigFloat(prec).Quo(bigFloat(prec).SetInt64(int64(j)), bigFloat(prec).SetInt64(tableStep))
		s, c := bigSinCos(a, prec)
		sh, sl := ddOf(s)
		ch, cl := ddOf(c)
		e := sinCosTable[j]
		if e.sinHi != sh || e.sinLo != sl || e.cosHi != ch || e.cosLo != cl {
			t.Errorf("entry %d: have {%#x, %#x, %#x, %#x}, want {%#x, %#x, %#x, %#x}", j,
				e.sinHi, e.sinLo, e.cosHi, e.cosLo, sh, sl, ch, cl)
		}
	}
}

func TestHalfPiSplit(t *testing.T) {
	prec := uint(400)
	half := bigFloat(prec).Quo(piBig(), bigFloat(prec).SetInt64(2))
	sum := bigFloat(prec).SetFloat64(halfPi1)
	sum.Add(sum, bigFloat(prec).SetFloat64(halfPi2))
	sum.Add(sum, bigFloat(prec).SetFloat64(halfPi3))
	diff := bigFloat(prec).Sub(half, sum)
	if diff.Sign() != 0 && diff.MantExp(nil) > -135 {
		t.Errorf("halfPi1+halfPi2+halfPi3 is %g away from pi/2", diff)
	}
	for _, p := range []float64{halfPi1, halfPi2} {
		m, _ := math.Frexp(p)
		if v := math.Abs(m) * (1 << 42); v != math.Trunc(v) {
			t.Errorf("%x has more than 42 significant bits", p)
		}
	}
	if hi, lo := ddOf(half); hi != halfPiHi || lo != halfPiLo {
		t.Errorf("pi/2 = %#x + %#x, have %#x + %#x", hi, lo, halfPiHi, halfPiLo)
	}
	if v, _ := bigFloat(prec).Quo(bigFloat(prec).SetInt64(1), half).Float64(); v != twoOverPi {
		t.Errorf("2/pi = %#x, have %#x", v, twoOverPi)
	}
}

func TestCorrectRoundingSpecialValues(t *testing.T) {
	negZero := math.Copysign(0, -1)
	if v := Sin(negZero); v != 0 || !math.Signbit(v) {
		t.Errorf("sin(-0) = %v", v)
	}
	if v := Asin(negZero); v != 0 || !math.Signbit(v) {
		t.Errorf("asin(-0) = %v", v)
	}
	if v := Cos(negZero); v != 1 {
		t.Errorf("cos(-0) = %v", v)
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if v := Sin(x); !math.IsNaN(v) {
			t.Errorf("sin(%v) = %v", x, v)
		}
		if v := Cos(x); !math.IsNaN(v) {
			t.Errorf("cos(%v) = %v", x, v)
		}
	}
	for _, x := range []float64{math.NaN(), 1.0000000000000002, -1.5, math.Inf(1)} {
		if v := Asin(x); !math.IsNaN(v) {
			t.Errorf("asin(%v) = %v", x, v)
		}
	}
	if v := Asin(1); v != math.Pi/2 {
		t.Errorf("asin(1) = %v", v)
	}
	if v := Asin(-1); v != -math.Pi/2 {
		t.Errorf("asin(-1) = %v", v)
	}
	// near multiples of pi/2 the fast reduction gives way to math/big
	for k := 1; k < 8; k++ {
		x := float64(k) * math.Pi / 2
		for _, y := range []float64{x, math.Nextafter(x, 0), math.Nextafter(x, 10)} {
			s, c := slowSinCos(y)
			if Sin(y) != s || Cos(y) != c {
				t.Errorf("sin, cos(%x) = %x, %x, want %x, %x", y, Sin(y), Cos(y), s, c)
			}
		}
	}
}

// fastErr is the relative error of a fast-path double-double against the exact value.
func fastErr(hi, lo float64, exact *big.Float) float64 {
	prec := exact.Prec()
	v := bigFloat(prec).SetFloat64(hi)
	v.Add(v, bigFloat(prec).SetFloat64(lo))
	v.Sub(v, exact)
	v.Quo(v, exact)
	e, _ := v.Float64()
	return math.Abs(e)
}

// TestFastPathError compares the fast path with math/big on random arguments in the
// ranges the distance formula uses (and up to the fast reduction's limit), checks that
// every result is the correctly rounded one, and that the fast path's error stays below
// relErr/2: the bound its rounding test relies on, with a margin.
func TestFastPathError(t *testing.T) {
	n := 5000 // about 3 s; SARD_CRMATH_N=200000 for a long run
	if v, err := strconv.Atoi(os.Getenv("SARD_CRMATH_N")); err == nil {
		n = v
	}
	rng := rand.New(rand.NewPCG(3, 4))
	prec := uint(slowPrec)
	var maxSin, maxCos, maxAsin float64
	slow := 0
	for i := 0; i < n; i++ {
		var x float64
		switch i % 4 {
		case 0:
			x = (rng.Float64()*2 - 1) * math.Pi
		case 1:
			x = (rng.Float64()*2 - 1) * 1e-3
		case 2:
			x = (rng.Float64()*2 - 1) * 0.85
		default:
			x = (rng.Float64()*2 - 1) * 3000
		}
		r, q := bigReduce(x)
		bs, bc := bigSinCos(r, r.Prec())
		switch q {
		case 1:
			bs, bc = bc, bs.Neg(bs)
		case 2:
			bs, bc = bs.Neg(bs), bc.Neg(bc)
		case 3:
			bs, bc = bc.Neg(bc), bs
		}
		if hi, lo, ok := sinCosDD(x, true); ok {
			maxSin = max(maxSin, fastErr(hi, lo, bs))
		}
		if hi, lo, ok := sinCosDD(x, false); ok {
			maxCos = max(maxCos, fastErr(hi, lo, bc))
		}
		ws, _ := bs.Float64()
		wc, _ := bc.Float64()
		if Sin(x) != ws || Cos(x) != wc {
			t.Fatalf("sin, cos(%x) = %x, %x, want %x, %x", x, Sin(x), Cos(x), ws, wc)
		}

		// asin on [0, 1], denser near 0 and near 1
		a := rng.Float64()
		switch i % 3 {
		case 1:
			a *= 1e-4
		case 2:
			a = 1 - a*1e-6
		}
		want := slowAsin(a)
		if got := Asin(a); got != want {
			t.Fatalf("asin(%x) = %x, want %x", a, got, want)
		}
		if a > 0.5 {
			continue
		}
		hi, lo := asinSmall(a, 0)
		if _, ok := roundDD(hi, lo); !ok {
			slow++
		}
		maxAsin = max(maxAsin, asinErr(hi, lo, a, prec))
	}
	t.Logf("max relative error: sin %.3g (2^%.1f), cos %.3g (2^%.1f), asin %.3g (2^%.1f); asin fallbacks %d",
		maxSin, math.Log2(maxSin), maxCos, math.Log2(maxCos), maxAsin, math.Log2(maxAsin), slow)
	for name, e := range map[string]float64{"sin": maxSin, "cos": maxCos, "asin": maxAsin} {
		if e > relErr/2 {
			t.Errorf("%s: fast path error %g exceeds relErr/2", name, e)
		}
	}
}

// asinErr measures the fast path's error for asin x by checking sin(hi+lo) against x.
func asinErr(hi, lo, x float64, prec uint) float64 {
	y := bigFloat(prec).SetFloat64(hi)
	y.Add(y, bigFloat(prec).SetFloat64(lo))
	s, c := bigSinCos(y, prec)
	// asin error = (sin y - x) / cos y, relative to y
	d := bigFloat(prec).Sub(s, bigFloat(prec).SetFloat64(x))
	d.Quo(d, c)
	d.Quo(d, y)
	e, _ := d.Float64()
	return math.Abs(e)
}

// BenchmarkFuncs compares the correctly rounded functions with Go's math package in one
// run (the machine is shared: ratios are what to read). The arguments are 4096 random
// values, so that the slow path is taken as often as it would be in use.
func BenchmarkFuncs(b *testing.B) {
	for _, f := range []struct {
		name   string
		fn     func(float64) float64
		lo, hi float64
	}{
		{"sin", Sin, -3, 3}, {"math.Sin", math.Sin, -3, 3},
		{"cos", Cos, -1.5, 1.5}, {"math.Cos", math.Cos, -1.5, 1.5},
		{"asin", Asin, 0, 1}, {"math.Asin", math.Asin, 0, 1},
	} {
		b.Run(f.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			var xs [4096]float64
			for i := range xs {
				xs[i] = f.lo + (f.hi-f.lo)*rng.Float64()
			}
			sum := 0.0
			for i := 0; b.Loop(); i++ {
				sum += f.fn(xs[i&4095])
			}
			_ = sum
		})
	}
}

// ddOf splits a big value into a double-double: hi the nearest double, lo the nearest
// double to the rest.
func ddOf(v *big.Float) (hi, lo float64) {
	hi, _ = v.Float64()
	rest := bigFloat(v.Prec()).Sub(v, bigFloat(v.Prec()).SetFloat64(hi))
	lo, _ = rest.Float64()
	return hi, lo
}
