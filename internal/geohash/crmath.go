package geohash

import "math"

// Correctly rounded sin, cos and asin. Redis computes distances with the C library's
// functions. glibc's (2.36) return the double nearest the exact value for all but about
// 0.1-0.15% of arguments; Go's math functions differ from that double for 16-32% of them.
// Returning the nearest double every time agrees with glibc wherever glibc rounds
// correctly.
//
// Each function evaluates the result as a double-double hi+lo with a bounded relative
// error (Ziv's strategy); when hi+lo is too close to a midpoint between two doubles for
// the bound to decide the rounding, the slow path in crslow.go decides it with math/big.

// relErr bounds the relative error of the fast path's hi+lo: the error analysis gives
// about 2^-70.5 at worst (sin just above 1/512, where the series terms weigh most);
// TestFastPathError measured at most 2^-71.4 over 200,000 arguments. The fast path then
// decides all but about one result in 2^15.
const relErr = 0x1p-69

// Cody-Waite reduction by pi/2: halfPi1 and halfPi2 have at most 42 significant bits, so
// k*halfPi1 and k*halfPi2 are exact for k < 2^11.
const (
	halfPi1   = 0x1.921fb54443p+00
	halfPi2   = -0x1.73dcb3b3998p-43
	halfPi3   = -0x1.5d1fc8f8cbb5cp-85
	halfPiHi  = 0x1.921fb54442d18p+00 // pi/2 as a double-double
	halfPiLo  = 0x1.1a62633145c07p-54
	twoOverPi = 0x1.45f306dc9c883p-01
	quickMax  = 3000 // above this the reduction is left to the slow path
	tableStep = 256  // the table holds sin and cos of j/256
	kernelMax = 0.8  // the kernel's domain: |r| <= kernelMax
)

func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// fastTwoSum needs |a| >= |b| (or a == 0).
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return p, e
}

// roundDD returns hi when it is certainly the double nearest to the value that hi+lo
// approximates within relErr; ok is false when the value may lie across a midpoint.
// hi+lo must be normalised (hi == hi+lo in double arithmetic).
func roundDD(hi, lo float64) (float64, bool) {
	ah, al := hi, lo
	if ah < 0 {
		ah, al = -ah, -lo
	}
	bits := math.Float64bits(ah)
	if bits>>52 == 0 || bits>>52 >= 0x7ff {
		return hi, false // zero, subnormal, inf, NaN: not for the fast path
	}
	ulp := math.Float64frombits((bits>>52 - 52) << 52)
	down := ulp
	if bits&(1<<52-1) == 0 {
		down = ulp / 2 // a power of two: the double below is closer
	}
	err := ah * relErr
	return hi, al+err < ulp/2 && al-err > -down/2
}

// reduce returns r = |x| - k*pi/2 as a double-double with |r| <= kernelMax, and k mod 4.
// ok is false when the fast reduction cannot guarantee relErr.
func reduce(x float64) (rh, rl float64, q int, ok bool) {
	ax := math.Abs(x)
	if ax <= kernelMax {
		return ax, 0, 0, true
	}
	if !(ax < quickMax) {
		return 0, 0, 0, false
	}
	k := float64(int(ax*twoOverPi + 0.5)) // rounded to nearest (ax >= 0)
	t := ax - float64(k*halfPi1)          // exact: k*halfPi1 is within a factor 2 of ax
	s, e := twoSum(t, -float64(k*halfPi2))
	ph, pl := twoProd(k, halfPi3)
	rh, e2 := twoSum(s, -ph)
	rl = e2 + (e - pl)
	rh, rl = fastTwoSum(rh, rl)
	if math.Abs(rh) < 0x1p-20 {
		return 0, 0, 0, false // close to a multiple of pi/2: leave it to math/big
	}
	return rh, rl, int(k) & 3, true
}

// kernel returns sin t or cos t as a double-double for 0 <= t = th+tl <= kernelMax:
// t = a + d with a = j/256 from the table and |d| <= 1/512, sin d and cos d by short
// series, and the angle-sum formulas.
func kernel(th, tl float64, wantSin bool) (hi, lo float64) {
	j := int(th*tableStep + 0.5)
	e := &sinCosTable[j]
	dh := th - float64(j)/tableStep // exact (Sterbenz)
	dl := tl
	z := dh * dh
	// sin d = dh + sl, with sl small
	sl := dl + dh*(z*(-1.0/6+z*(1.0/120+z*(-1.0/5040))))
	// cos d = 1 + ch + cl, ch = -dh^2/2 exactly
	q, qe := twoProd(dh, dh)
	ch := -0.5 * q
	cl := -0.5*qe - dh*dl + z*z*(1.0/24+z*(-1.0/720))
	if wantSin {
		// sin(a+d) = sin a + cos a * sin d + sin a * (cos d - 1)
		p, pe := twoProd(e.cosHi, dh)
		m, me := twoProd(e.sinHi, ch)
		h1, e1 := twoSum(e.sinHi, p)
		h2, e2 := twoSum(h1, m)
		lo = e.sinHi*cl + e.sinLo*ch + e.cosLo*dh + e.cosHi*sl + me + pe + e.sinLo + e1 + e2
		return fastTwoSum(h2, lo)
	}
	// cos(a+d) = cos a - sin a * sin d + cos a * (cos d - 1)
	p, pe := twoProd(e.sinHi, dh)
	m, me := twoProd(e.cosHi, ch)
	h1, e1 := twoSum(e.cosHi, -p)
	h2, e2 := twoSum(h1, m)
	lo = e.cosHi*cl + e.cosLo*ch - e.sinLo*dh - e.sinHi*sl + me - pe + e.cosLo + e1 + e2
	return fastTwoSum(h2, lo)
}

// sinCosDD returns sin x (or cos x) as a double-double within relErr; ok is false when
// the fast path does not apply.
func sinCosDD(x float64, wantSin bool) (hi, lo float64, ok bool) {
	rh, rl, q, ok := reduce(x)
	if !ok {
		return 0, 0, false
	}
	rneg := rh < 0
	if rneg {
		rh, rl = -rh, -rl
	}
	// sin and cos of k*pi/2 + r by quadrant, from sin |r| and cos |r|
	var useSin, neg bool
	if wantSin {
		switch q {
		case 0:
			useSin, neg = true, rneg
		case 2:
			useSin, neg = true, !rneg
		case 3:
			neg = true
		}
		neg = neg != (x < 0)
	} else {
		switch q {
		case 1:
			useSin, neg = true, !rneg
		case 2:
			neg = true
		case 3:
			useSin, neg = true, rneg
		}
	}
	hi, lo = kernel(rh, rl, useSin)
	if neg {
		hi, lo = -hi, -lo
	}
	return hi, lo, true
}

// Sin is sin x correctly rounded (the double nearest the exact value).
func Sin(x float64) float64 {
	if math.Abs(x) < 0x1p-26 {
		return x // sin x = x(1 - x^2/6 + ...) rounds to x (and keeps -0)
	}
	if hi, lo, ok := sinCosDD(x, true); ok {
		if v, ok := roundDD(hi, lo); ok {
			return v
		}
	}
	s, _ := slowSinCos(x)
	return s
}

// Cos is cos x correctly rounded.
func Cos(x float64) float64 {
	if math.Abs(x) < 0x1p-27 {
		return 1 // cos x = 1 - x^2/2 + ... rounds to 1
	}
	if hi, lo, ok := sinCosDD(x, false); ok {
		if v, ok := roundDD(hi, lo); ok {
			return v
		}
	}
	_, c := slowSinCos(x)
	return c
}

// asinSmall returns asin(xh+xl) as a double-double for 0 <= xh <= 0.5 by one Newton step
// from math.Asin: y = y0 + (x - sin y0) / cos y0. The correction is a few ulps of y0, so
// cos y0 = sqrt(1 - x^2) in double precision is precise enough for it.
func asinSmall(xh, xl float64) (hi, lo float64) {
	y0 := math.Asin(xh)
	sh, sl := kernel(y0, 0, true)                     // 0 <= y0 <= pi/6: in the kernel's domain
	d := ((xh - sh) + (xl - sl)) / math.Sqrt(1-xh*xh) // xh - sh is exact: within a few ulps
	return fastTwoSum(y0, d)
}

// Asin is asin x correctly rounded.
func Asin(x float64) float64 {
	ax := math.Abs(x)
	switch {
	case !(ax <= 1):
		return math.NaN()
	case ax < 0x1p-26:
		return x // asin x = x(1 + x^2/6 + ...) rounds to x
	case ax == 1:
		return math.Copysign(halfPiHi, x)
	}
	var hi, lo float64
	if ax <= 0.5 {
		hi, lo = asinSmall(ax, 0)
	} else {
		// asin x = pi/2 - 2 asin(sqrt((1-x)/2)), well conditioned near 1
		z := (1 - ax) * 0.5 // exact
		sh := math.Sqrt(z)
		sl := math.FMA(-sh, sh, z) / (2 * sh) // the exact remainder of sqrt, over 2 sqrt z
		ah, al := asinSmall(sh, sl)
		h, e := twoSum(halfPiHi, -2*ah)
		hi, lo = fastTwoSum(h, e+(halfPiLo-2*al))
	}
	if v, ok := roundDD(hi, lo); ok {
		return math.Copysign(v, x)
	}
	return slowAsin(x)
}

// sinCosTable holds sin(j/256) and cos(j/256) for j = 0..205 as double-doubles (each part
// the nearest double; TestSinCosTable recomputes them).
var sinCosTable = [206]struct{ sinHi, sinLo, cosHi, cosLo float64 }{
	{0x0.0000p+00, 0x0.0000p+00, 0x1.0000p+00, 0x0.0000p+00},
	{0x1.ffffaaaaaeeefp-09, -0x1.2b12b0ce9b237p-65, 0x1.ffff000015555p-01, 0x1.27d27df7df7bbp-55},
	{0x1.fffeaaaaeeeefp-08, -0x1.e45e2ec67b77cp-62, 0x1.fffc000155552p-01, 0x1.f4a01a0196daep-55},
	{0x1.7ffdc0010333p-07, -0x1.15efa2be503dbp-61, 0x1.fff70006bffep-01, -0x1.9984c57e6cfb8p-55},
	{0x1.fffaaaaeeeed5p-07, -0x1.2ab639a9f0776p-63, 0x1.fff000155549fp-01, 0x1.28a28a03a5ef3p-55},
	{0x1.3ffacab12d517p-06, 0x1.519b3218acccfp-60, 0x1.ffe700341529fp-01, -0x1.b3bc25e3e4cb3p-57},
	{0x1.7ff7001033255p-06, 0x1.efe2b51527336p-64, 0x1.ffdc006bff7e6p-01, 0x1.ae6dae86977bdp-55},
	{0x1.bff1b57858e83p-06, 0x1.df20c232a4f03p-60, 0x1.ffcf00c8140e9p-01, -0x1.c3e3e857e2d3p-55},
	{0x1.ffeaaaeeee86fp-06, -0x1.cd406fb224ae2p-60, 0x1.ffc00155527d3p-01, -0x1.3b54492d89b5bp-55},
	{0x1.1ff0d03d81efcp-05, 0x1.b74e4aa1f4c7fp-59, 0x1.ffaf0222ba3bdp-01, -0x1.426013ff0feb7p-57},
	{0x1.3feb2b12d45d5p-05, 0x1.4ec54203d1c11p-60, 0x1.ff9c03414a7bap-01, 0x1.991f4be6c59bfp-57},
	{0x1.5fe445fd1660fp-05, 0x1.d7a6e37a23793p-59, 0x1.ff8704c4021c8p-01, -0x1.d80c59264b631p-57},
	{0x1.7fdc01032fba9p-05, -0x1.599bdf46e997ap-59, 0x1.ff7006bfdf99fp-01, -0x1.8b3b560648d5fp-56},
	{0x1.9fd23c2d680dfp-05, -0x1.70b1a2ba5f59p-60, 0x1.ff57094be0f62p-01, 0x1.780a6d6b9aac9p-55},
	{0x1.bfc6d78586dacp-05, 0x1.8e4fd03dbf236p-62, 0x1.ff3c0c8103a31p-01, 0x1.4856dbddc0e66p-56},
	{0x1.dfb9b316f372ap-05, -0x1.b3adb2cd8fe77p-61, 0x1.ff1f107a44695p-01, 0x1.2552d1d5613d6p-58},
	{0x1.ffaaaeeed4edbp-05, -0x1.2d16d32684b69p-59, 0x1.ff0015549f4d3p-01, 0x1.328387b99426fp-55},
	{0x1.0fccd58e190ecp-04, -0x1.ef54e5b79b73cp-58, 0x1.fedf1b2f0f71dp-01, -0x1.358030423989ep-58},
	{0x1.1fc343d808befp-04, -0x1.f3d32e6f3be4fp-58, 0x1.febc222a8ef9fp-01, 0x1.7934934f54c77p-58},
	{0x1.2fb8925ecc92p-04, -0x1.1aceeb6944bb7p-60, 0x1.fe972a6a16e73p-01, -0x1.9b4127ab3d548p-58},
	{0x1.3facb12d1755bp-04, -0x1.921915299468bp-58, 0x1.fe7034129ef6fp-01, -0x1.cbf4337c96f97p-57},
	{0x1.4f9f904ecb8ffp-04, 0x1.6fdd8bf8cda76p-58, 0x1.fe473f4b1d7d6p-01, 0x1.a001dd2227ed4p-55},
	{0x1.5f911fd10b737p-04, -0x1.0184f02be9102p-58, 0x1.fe1c4c3c873ebp-01, -0x1.5a9c9057c4a02p-60},
	{0x1.6f814fc248d1fp-04, -0x1.1e7a14e279b6ap-59, 0x1.fdef5b11cf45dp-01, -0x1.e833a0863483p-56},
	{0x1.7f701032550e4p-04, 0x1.afc2d1800501ap-60, 0x1.fdc06bf7e6b9bp-01, 0x1.31902b535f8dbp-55},
	{0x1.8f5d5132710c4p-04, 0x1.ae29046de7c88p-61, 0x1.fd8f7f1dbcb07p-01, -0x1.c752ecfaa985bp-55},
	{0x1.9f4902d55d1f9p-04, 0x1.2696d7eac1dc1p-58, 0x1.fd5c94b43ep-01, -0x1.2e768cb4f92f9p-57},
	{0x1.af33152f68f8fp-04, 0x1.3f7698bdd23f1p-58, 0x1.fd27acee550dbp-01, 0x1.c3f64be936b41p-55},
	{0x1.bf1b78568391dp-04, 0x1.e91841dea4cc8p-58, 0x1.fcf0c800e99b1p-01, 0x1.ea3d786d186acp-57},
	{0x1.cf021c624b168p-04, -0x1.f6aedf73fb13fp-62, 0x1.fcb7e622e090ep-01, 0x1.efee620ded043p-55},
	{0x1.dee6f16c1cce6p-04, -0x1.50f8e2fb71673p-59, 0x1.fc7d078d1bc88p-01, 0x1.075d2447db685p-55},
	{0x1.eec9e78f2502bp-04, 0x1.3535175887f66p-60, 0x1.fc402c7a79d2cp-01, 0x1.f515d61e3b7d1p-56},
	{0x1.feaaeee86ee36p-04, -0x1.afcb2bcc6f03bp-59, 0x1.fc015527d5bd3p-01, 0x1.b68f35094efb8p-55},
	{0x1.0744fbcb7a34fp-03, -0x1.35f080b446e47p-57, 0x1.fbc081d406d54p-01, 0x1.19ca5c619c114p-55},
	{0x1.0f3378ddd71d1p-03, 0x1.d8468724f0f9ep-57, 0x1.fb7db2bfe0695p-01, 0x1.21dadf4f65ab1p-55},
	{0x1.1720e6bcd1c11p-03, -0x1.370a768c28cc9p-57, 0x1.fb38e82e3188p-01, -0x1.cd45c28dde5cfp-56},
	{0x1.1f0d3d7afceafp-03, -0x1.6ef95099769a5p-57, 0x1.faf22263c4bd3p-01, -0x1.52ace133a2769p-58},
	{0x1.26f8752c02859p-03, 0x1.99d3f99560e16p-60, 0x1.faa961a75fcd7p-01, 0x1.154aedc530b9p-55},
	{0x1.2ee285e4ab88fp-03, -0x1.e4d0f05dee058p-57, 0x1.fa5ea641c36f2p-01, 0x1.04da6ed17cc7cp-59},
	{0x1.36cb67bae7e52p-03, -0x1.2b58c9385fe0dp-59, 0x1.fa11f07dab019p-01, 0x1.4c36f0cfac1a2p-55},
	{0x1.3eb312c5d66cbp-03, 0x1.47d666b66cb91p-57, 0x1.f9c340a7cc428p-01, 0x1.c5b6b063b7462p-55},
	{0x1.46997f1dccbd6p-03, 0x1.5772779edaa4cp-61, 0x1.f972970ed7014p-01, 0x1.82d46ff943b09p-55},
	{0x1.4e7ea4dc5f27bp-03, 0x1.949db2ac072fcp-58, 0x1.f91ff40374d01p-01, -0x1.7d03f4d3a9e4cp-57},
	{0x1.56627c1c68959p-03, -0x1.c1a626f9f35f9p-57, 0x1.f8cb57d848b36p-01, -0x1.e28ca6524cc98p-60},
	{0x1.5e44fcfa126f3p-03, -0x1.6f443063f89b6p-57, 0x1.f874c2e1eecf6p-01, -0x1.c6514e1332b16p-55},
	{0x1.66261f92dc7f2p-03, 0x1.4732388b03388p-58, 0x1.f81c3576fc132p-01, -0x1.a210f729d0428p-56},
	{0x1.6e05dc05a4d4cp-03, -0x1.32c5c8b81c919p-66, 0x1.f7c1afeffde24p-01, -0x1.8f55bc47540b1p-56},
	{0x1.75e42a72afa53p-03, 0x1.25101dbbe3de1p-57, 0x1.f76532a779bc3p-01, -0x1.cc2b661f73e17p-56},
	{0x1.7dc102fbaf2b5p-03, 0x1.5ab50e23c97c3p-59, 0x1.f706bdf9ece1cp-01, -0x1.698c80c36dcb4p-55},
	{0x1.859c5dc3cb85dp-03, 0x1.bdacb1bb1532ap-58, 0x1.f6a65245cbf89p-01, 0x1.21006d1ee0324p-55},
	{0x1.8d7632efaa944p-03, -0x1.20fa262cbb953p-57, 0x1.f643efeb82acdp-01, 0x1.6b00ac1fe28acp-56},
	{0x1.954e7aa577d22p-03, 0x1.add11e2b03481p-57, 0x1.f5df974d73509p-01, -0x1.1041b91c41e29p-55},
	{0x1.9d252d0cec312p-03, 0x1.9c43d80b1137dp-58, 0x1.f57948cff6797p-01, 0x1.e3a0d3e03b1d4p-57},
	{0x1.a4fa424f55f0fp-03, 0x1.88fc2611aa255p-57, 0x1.f51104d95a9c8p-01, -0x1.1bc67d424373p-55},
	{0x1.accdb297a0765p-03, -0x1.9883b57d6cdeap-58, 0x1.f4a6cbd1e3a79p-01, 0x1.13df0edaebb57p-55},
	{0x1.b49f76125c1fdp-03, 0x1.697d0c986b191p-60, 0x1.f43a9e23ca996p-01, -0x1.c057991f742e7p-55},
	{0x1.bc6f84edc6199p-03, 0x1.9c1a56a7b0cabp-57, 0x1.f3cc7c3b3d16ep-01, -0x1.21a3ad28a3494p-57},
	{0x1.c43dd759d02eep-03, -0x1.5bcc2e3046626p-63, 0x1.f35c66865cff8p-01, 0x1.7cda41f3feef8p-55},
	{0x1.cc0a6588289a3p-03, -0x1.868d09bc87c6bp-57, 0x1.f2ea5d753ffedp-01, 0x1.cc4215f56d583p-55},
	{0x1.d3d527ac41d38p-03, -0x1.6fa59a447a134p-58, 0x1.f2766179ef1c7p-01, -0x1.2932f8987bcb6p-57},
	{0x1.db9e15fb5a5dp-03, -0x1.32e20d6cc6fc2p-57, 0x1.f20073086649fp-01, 0x1.b940416c1984bp-56},
	{0x1.e36528ac848dap-03, -0x1.240b73f3963fep-60, 0x1.f188929693ef2p-01, -0x1.81f656ea94ccfp-55},
	{0x1.eb2a57f8ae5a3p-03, -0x1.0be06af572cebp-57, 0x1.f10ec09c5873bp-01, 0x1.d9072762c1283p-55},
	{0x1.f2ed9c1aa91c4p-03, -0x1.6142de810c2b7p-57, 0x1.f092fd9385c7ep-01, 0x1.750563a9bed86p-59},
	{0x1.faaeed4f31577p-03, -0x1.15d88508e32b8p-57, 0x1.f01549f7deea1p-01, 0x1.d3c1e99e5cafdp-55},
	{0x1.013721ea7b3e5p-02, 0x1.10fa1d5106315p-56, 0x1.ef95a647176b9p-01, -0x1.a2aefc066f251p-55},
	{0x1.0515cbf65155cp-02, -0x1.9b8c29dfd8ec7p-56, 0x1.ef141300d2f26p-01, -0x1.2aa1b08ded372p-55},
	{0x1.08f370ec7138ap-02, -0x1.183d7d425e7ecp-57, 0x1.ee9090a6a4bap-01, 0x1.48d59a9171632p-55},
	{0x1.0cd00cef36436p-02, -0x1.9fb0a0c93e2b4p-56, 0x1.ee0b1fbc0f11cp-01, -0x1.bfd2380bbc3b1p-59},
	{0x1.10ab9c2204c59p-02, -0x1.843c6295a07bfp-56, 0x1.ed83c0c682d9p-01, 0x1.8605a9115beaep-57},
	{0x1.14861aa94ddebp-02, -0x1.be881b5b615a4p-57, 0x1.ecfa744d5efa1p-01, -0x1.56d0a4af541dp-58},
	{0x1.185f84aa9359bp-02, -0x1.5486ede74dbb2p-57, 0x1.ec6f3ad9efe2ap-01, -0x1.0bc0bfbb6aeaap-55},
	{0x1.1c37d64c6b876p-02, 0x1.46076fe0dcff4p-56, 0x1.ebe214f76efa8p-01, -0x1.02f9f12ba543ep-55},
	{0x1.200f0bb68518p-02, 0x1.31bdc968ef588p-57, 0x1.eb53033302187p-01, -0x1.40e3e817e1641p-56},
	{0x1.23e52111aaf36p-02, -0x1.4f080334eff18p-56, 0x1.eac2061bbaf4fp-01, 0x1.2c1d53e94658dp-57},
	{0x1.27ba1287c8102p-02, -0x1.0fb418a5581bp-59, 0x1.ea2f1e42969b4p-01, -0x1.bd66b6627d017p-55},
	{0x1.2b8ddc43eb49fp-02, 0x1.1553899f2d807p-57, 0x1.e99a4c3a7cd83p-01, -0x1.2264b1bc53ce8p-55},
	{0x1.2f607a724b365p-02, 0x1.70f6b47bd3fc4p-56, 0x1.e90390983fa78p-01, -0x1.28954c7f8dd8fp-55},
	{0x1.3331e94049f87p-02, 0x1.e0cb6b40c302cp-56, 0x1.e86aebf29a9edp-01, 0x1.9397afdbb58a7p-55},
	{0x1.370224dc7913dp-02, -0x1.badca2c0c47dp-57, 0x1.e7d05ee232573p-01, -0x1.c4621b65d22fbp-55},
	{0x1.3ad129769d3d8p-02, 0x1.03d550487839ap-63, 0x1.e733ea0193d4p-01, -0x1.6428b3546ce13p-55},
	{0x1.3e9ef33fb22cbp-02, -0x1.cd85ab33f11b4p-58, 0x1.e6958ded33e8ep-01, -0x1.a2d4a62b00c99p-59},
	{0x1.426b7e69ee697p-02, -0x1.f09c75705c59fp-56, 0x1.e5f54b436e9dp-01, 0x1.7eb0fd02fc8bcp-55},
	{0x1.4636c728c71a8p-02, -0x1.3e9c8df9261a7p-57, 0x1.e55322a4868cep-01, -0x1.ff59bf4b08084p-55},
	{0x1.4a00c9b0f3d2p-02, 0x1.823ba6bb08eadp-56, 0x1.e4af14b2a449cp-01, -0x1.68ca02e8a6833p-55},
	{0x1.4dc982387258bp-02, -0x1.57b6fc37e14d8p-56, 0x1.e4092211d5b7ep-01, 0x1.bc7573acc79e9p-56},
	{0x1.5190ecf68a77ap-02, 0x1.b357155eef0f3p-56, 0x1.e3614b680d6a5p-01, -0x1.27793aa015237p-56},
	{0x1.55570623d1c18p-02, 0x1.4cdaa70975dbep-59, 0x1.e2b7915d21fccp-01, 0x1.3149be81a8fd3p-55},
	{0x1.591bc9fa2f597p-02, 0x1.7c74bac3fe0cbp-57, 0x1.e20bf49acd6c1p-01, -0x1.660aec7ef636bp-58},
	{0x1.5cdf34b4dfb98p-02, 0x1.7458b493a1d2p-56, 0x1.e15e75ccac6c3p-01, 0x1.3261811c2a8d6p-55},
	{0x1.60a1429078775p-02, 0x1.b1fd80ba89133p-58, 0x1.e0af15a03dbcep-01, 0x1.fe8e702771ae6p-58},
	{0x1.6461efcaec077p-02, -0x1.94dc7178bd734p-56, 0x1.dffdd4c4e17bep-01, 0x1.51415af290396p-55},
	{0x1.682138a38d7f7p-02, -0x1.d889202444aadp-56, 0x1.df4ab3ebd875ep-01, -0x1.e2d8a7e6736c4p-55},
	{0x1.6bdf195b1456ap-02, -0x1.1c05d4d4179b8p-57, 0x1.de95b3c84374dp-01, 0x1.8b4bf71c7de42p-55},
	{0x1.6f9b8e33a0255p-02, 0x1.42bc14ee9da0dp-56, 0x1.ddded50f228d6p-01, -0x1.e80c8d42ba2bfp-57},
	{0x1.73569370bc62bp-02, 0x1.bf3442bdd527ep-56, 0x1.dd26187754695p-01, 0x1.f16517d83bbcap-56},
	{0x1.7710255764214p-02, -0x1.6ead7314bb6cep-57, 0x1.dc6b7eb995912p-01, 0x1.4b364776dcd35p-58},
	{0x1.7ac8402e05c9bp-02, 0x1.a39e39ea9f25cp-56, 0x1.dbaf08907fb2fp-01, 0x1.9a5395924f2ffp-55},
	{0x1.7e7ee03c86d4ep-02, -0x1.b63bcdabf5af2p-56, 0x1.daf0b6b888e83p-01, 0x1.a249e2b5e5ceap-55},
	{0x1.823401cc47836p-02, -0x1.08091b8d964c7p-56, 0x1.da3089f002f9p-01, -0x1.15b9a62d60141p-55},
	{0x1.85e7a12826949p-02, 0x1.8a40e9b5facep-56, 0x1.d96e82f71a9dcp-01, 0x1.ff61bd5d2039dp-55},
	{0x1.8999ba9c84fbap-02, 0x1.c1fef1753c7bfp-59, 0x1.d8aaa28fd6bf6p-01, -0x1.d74eb5f28a765p-55},
	{0x1.8d4a4a774992fp-02, 0x1.44a02ea766326p-56, 0x1.d7e4e97e17b4ap-01, -0x1.3b770352bed94p-57},
	{0x1.90f94d07e4ce8p-02, 0x1.32c8fb2f2ea25p-56, 0x1.d71d5887967eep-01, -0x1.516e003d9dd64p-58},
	{0x1.94a6be9f546c5p-02, -0x1.69ce13e683f58p-56, 0x1.d653f073e404p-01, -0x1.76236434bec37p-55},
	{0x1.98529b9027235p-02, -0x1.70c0c231d4808p-56, 0x1.d588b20c6846ep-01, -0x1.bef54b0f32a77p-55},
	{0x1.9bfce02e8051p-02, 0x1.09e39a320b0a4p-56, 0x1.d4bb9e1c619ep-01, 0x1.f34bb77858f61p-55},
	{0x1.9fa588d01ba55p-02, -0x1.6aa35ae5de16ap-59, 0x1.d3ecb570e3e87p-01, 0x1.8b4d9843b2bf5p-55},
	{0x1.a34c91cc50ccap-02, -0x1.a310e3b50cecdp-58, 0x1.d31bf8d8d7c06p-01, 0x1.e60dd3089cbddp-56},
	{0x1.a6f1f77c1718ap-02, 0x1.e7b0a3486494fp-56, 0x1.d2496924f9ac7p-01, 0x1.f17673d6927ffp-55},
	{0x1.aa95b63a09277p-02, -0x1.6293eb13c0381p-57, 0x1.d1750727d94fp-01, 0x1.0d52b1ec1a48ep-55},
	{0x1.ae37ca626888ap-02, 0x1.2d294cf918262p-57, 0x1.d09ed3b5d8937p-01, 0x1.a8d847bc2c5bbp-55},
	{0x1.b1d8305321617p-02, -0x1.ae242cb99f519p-56, 0x1.cfc6cfa52ad9fp-01, 0x1.8b5b5508f2a0dp-55},
	{0x1.b576e46bce0e6p-02, 0x1.beb8a2f9cde89p-56, 0x1.ceecfbcdd4213p-01, 0x1.b682a76d7e904p-60},
	{0x1.b913e30dbac43p-02, -0x1.e38ad2f6c3ff1p-56, 0x1.ce115909a82e5p-01, 0x1.1f139bb31109ap-55},
	{0x1.bcaf289be92ddp-02, 0x1.8b06e5fb8daacp-56, 0x1.cd33e83449b34p-01, 0x1.61068cd16da9fp-57},
	{0x1.c048b17b140a3p-02, 0x1.19fe6757e9fa7p-57, 0x1.cc54aa2b2972ep-01, 0x1.4ee162ba83a98p-57},
	{0x1.c3e07a11b2c6ep-02, -0x1.76c26153de447p-57, 0x1.cb739fcd8563cp-01, -0x1.7e793b55ea6a2p-55},
	{0x1.c7767ec7fd19ep-02, -0x1.eb14d1a3d5826p-58, 0x1.ca90c9fc67d0bp-01, -0x1.46a81485e3462p-57},
	{0x1.cb0abc07ee997p-02, -0x1.2d6ebfce7c05p-56, 0x1.c9ac299aa677fp-01, 0x1.7560844703578p-55},
	{0x1.ce9d2e3d4a51fp-02, -0x1.2fc8a12dae298p-57, 0x1.c8c5bf8ce1a84p-01, 0x1.ab3d1a1590123p-56},
	{0x1.d22dd1d59e5a4p-02, -0x1.3a439e78d544p-57, 0x1.c7dd8cb9835c3p-01, -0x1.dd23c3aa785f7p-55},
	{0x1.d5bca34047661p-02, 0x1.28a44a75fc29cp-56, 0x1.c6f39208be53bp-01, -0x1.741dbfbaadb42p-55},
	{0x1.d9499eee7456bp-02, 0x1.40792a7dee83dp-59, 0x1.c607d0648d2c1p-01, -0x1.2169fa0e8ce47p-56},
	{0x1.dcd4c15329c9ap-02, 0x1.0d4c6e171fd9ap-56, 0x1.c51a48b8b175ep-01, -0x1.1bbb43b9aa88p-57},
	{0x1.e05e06e345a5dp-02, 0x1.0f838535e3a93p-57, 0x1.c42afbf2b2c93p-01, -0x1.f2a77b07f14e6p-57},
	{0x1.e3e56c1582a69p-02, -0x1.0a4821099f88fp-58, 0x1.c339eb01ddd81p-01, -0x1.caaf5ee82c5cp-55},
	{0x1.e76aed627be4ep-02, 0x1.8937d7fe3f57fp-56, 0x1.c24716d7437f3p-01, -0x1.4874850e5d927p-56},
	{0x1.eaee8744b05fp-02, -0x1.789b43c9b027dp-58, 0x1.c1528065b7d5p-01, -0x1.892111312e828p-55},
	{0x1.ee703638867dap-02, -0x1.3872f1aaf5cbdp-56, 0x1.c05c28a1d1369p-01, 0x1.f9a1ac93aee95p-55},
	{0x1.f1eff6bc4f97bp-02, 0x1.17212f8a7525cp-56, 0x1.bf641081e7536p-01, 0x1.b7bd71628a9a1p-55},
	{0x1.f56dc5504b742p-02, 0x1.a18434fc65e81p-56, 0x1.be6a38fe1236ap-01, 0x1.fdab7587b02acp-56},
	{0x1.f8e99e76abc97p-02, 0x1.9d950af2d00a3p-58, 0x1.bd6ea310294f5p-01, 0x1.31bbcc88c109dp-56},
	{0x1.fc637eb397bb8p-02, 0x1.d8f507b2ea243p-56, 0x1.bc714fb3c2766p-01, 0x1.eb19c8a06c31p-56},
	{0x1.ffdb628d2f57ap-02, 0x1.f4a992e905b6ap-57, 0x1.bb723fe630f32p-01, 0x1.72bd2452d0a39p-56},
	{0x1.01a8a345c7871p-01, 0x1.a6deb08435eep-55, 0x1.ba7174a6847dep-01, -0x1.defb28953f677p-60},
	{0x1.0362939c69955p-01, -0x1.2d8cd78397b01p-55, 0x1.b96eeef58840ep-01, 0x1.45a3cc78fadep-58},
	{0x1.051b80908da4ap-01, 0x1.f7686b96f8f0ep-57, 0x1.b86aafd5c1d79p-01, 0x1.a6cc07549db15p-55},
	{0x1.06d3686946e5bp-01, 0x1.3f5ae4538ff1bp-55, 0x1.b764b84b704c2p-01, -0x1.f5848c21b389bp-55},
	{0x1.088a496eada47p-01, 0x1.e07780127666dp-56, 0x1.b65d095c8b12ep-01, 0x1.1d33cb4db26bdp-56},
	{0x1.0a4021e9e1001p-01, -0x1.6f643a13914f6p-55, 0x1.b553a410c104ep-01, 0x1.8ff7947027a15p-58},
	{0x1.0bf4f02508a1cp-01, 0x1.da0ced695fe43p-57, 0x1.b44889717757cp-01, 0x1.b17c0070c2815p-61},
	{0x1.0da8b26b5672ep-01, -0x1.a58def0bee909p-55, 0x1.b33bba89c8948p-01, 0x1.ea6a51d1f6ca9p-55},
	{0x1.0f5b670908515p-01, 0x1.a7ed13e5fbb05p-56, 0x1.b22d3866838c8p-01, -0x1.6e9a5f4ff5b7dp-59},
	{0x1.110d0c4b69c3bp-01, 0x1.d918998809981p-55, 0x1.b11d04162a4c6p-01, 0x1.1dd561efbc0c2p-56},
	{0x1.12bda080d5abcp-01, 0x1.d3a97fee7e959p-55, 0x1.b00b1ea8f10dep-01, -0x1.958d71955fb3fp-55},
	{0x1.146d21f8b7f82p-01, 0x1.bf9535e2739a8p-56, 0x1.aef78930bd275p-01, -0x1.f836279746f94p-56},
	{0x1.161b8f038f54ep-01, -0x1.c5ee5cde48178p-58, 0x1.ade244c123f9fp-01, 0x1.8d3fc4dfa0f9cp-55},
	{0x1.17c8e5f2eedbp-01, 0x1.35e57102e2488p-57, 0x1.accb526f69de5p-01, 0x1.8fb6a8dd6b6ccp-55},
	{0x1.197525197fbefp-01, 0x1.810a2d8e3468ap-57, 0x1.abb2b352810eep-01, 0x1.db59f6f843f91p-55},
	{0x1.1b204acb02fddp-01, -0x1.f190c70cbb5fep-58, 0x1.aa98688308913p-01, -0x1.b83d607cd5072p-63},
	{0x1.1cca555c5309bp-01, -0x1.fc53db3120a83p-58, 0x1.a97c731b4b1d2p-01, 0x1.1245d6144e0cdp-56},
	{0x1.1e7343236574cp-01, 0x1.22a3fa4f41d5ap-56, 0x1.a85ed4373e02dp-01, 0x1.9be06385ec792p-57},
	{0x1.201b12774c9b6p-01, -0x1.d31fe293d1034p-59, 0x1.a73f8cf4800e8p-01, -0x1.c372ed4bdefbfp-57},
	{0x1.21c1c1b0394cfp-01, 0x1.e5b324b23aa31p-58, 0x1.a61e9e72586afp-01, 0x1.58330e2fd453fp-55},
	{0x1.23674f277c73cp-01, 0x1.87167f61285ffp-56, 0x1.a4fc09d1b5825p-01, -0x1.4cce741fb33a5p-55},
	{0x1.250bb93788bbbp-01, 0x1.ea3d02457bccep-56, 0x1.a3d7d0352bdcfp-01, -0x1.68dbaeca19669p-55},
	{0x1.26aefe3bf437cp-01, -0x1.657b40100c3a6p-60, 0x1.a2b1f2c0f4ffp-01, 0x1.c9fe748eedc9cp-56},
	{0x1.28511c917a067p-01, -0x1.01df1d9a16b7p-55, 0x1.a18a729aee445p-01, 0x1.95e25736c0357p-60},
	{0x1.29f21295fbf51p-01, -0x1.6bd333b0b0cbbp-55, 0x1.a06150ea97ba3p-01, 0x1.bc4a6cdcbf214p-55},
	{0x1.2b91dea88421ep-01, -0x1.fa371db216abp-55, 0x1.9f368ed912f85p-01, -0x1.1d200c5791606p-55},
	{0x1.2d307f29469cfp-01, 0x1.ba5fe5f921e0bp-56, 0x1.9e0a2d9121f73p-01, -0x1.5e7ba2bd64f0ap-56},
	{0x1.2ecdf279a3082p-01, 0x1.d3557e0e7e37ep-55, 0x1.9cdc2e3f25e5cp-01, 0x1.3f99112993f62p-55},
	{0x1.306a36fc26359p-01, -0x1.21305ba6473abp-55, 0x1.9bac92111dfcep-01, 0x1.0ce9c6f353e9ap-55},
	{0x1.32054b148bc4fp-01, 0x1.f6b42095a135bp-55, 0x1.9a7b5a36a6514p-01, 0x1.722cfcc9fa7a9p-55},
	{0x1.339f2d27bfc05p-01, -0x1.ddf4717254e6fp-55, 0x1.994887e0f6a3fp-01, 0x1.0be6cea471d02p-56},
	{0x1.3537db9be0367p-01, 0x1.b327e7af040fp-57, 0x1.98141c42e131p-01, 0x1.d1ff80488f08dp-55},
	{0x1.36cf54d83ed56p-01, 0x1.6e1f20c8b5b7dp-57, 0x1.96de1890d17cep-01, 0x1.caa25dc8e6991p-55},
	{0x1.386597456282bp-01, -0x1.10fada93b07a8p-56, 0x1.95a67e00cb1fdp-01, -0x1.0befda21f862dp-55},
	{0x1.39faa14d08f31p-01, -0x1.cd164b88ce902p-57, 0x1.946d4dca688fcp-01, 0x1.02c6f2978af1dp-55},
	{0x1.3b8e715a2840ap-01, -0x1.97653a7d2f07ap-56, 0x1.93328926d9e92p-01, -0x1.bb77003600cdap-55},
	{0x1.3d2105d8f07fep-01, 0x1.1602a42d4b3d4p-57, 0x1.91f63150e3b52p-01, -0x1.80bd33fb3df2ep-57},
	{0x1.3eb25d36cd53ap-01, -0x1.be570e1570fcp-58, 0x1.90b84784ddaf7p-01, -0x1.0feb10ab93b87p-56},
	{0x1.404275e2677f7p-01, -0x1.f859aade89fd2p-56, 0x1.8f78cd00b1899p-01, -0x1.d5d3da9ac3dd3p-58},
	{0x1.41d14e4ba679p-01, 0x1.4608fd287ecf5p-55, 0x1.8e37c303d9ad1p-01, -0x1.463a4b53d4bf8p-57},
	{0x1.435ee4e3b1f86p-01, 0x1.fd05667361565p-55, 0x1.8cf52acf5ffcp-01, 0x1.eb45b71ac7cc5p-56},
	{0x1.44eb381cf386bp-01, -0x1.3ed6c1e6a5505p-55, 0x1.8bb105a5dc9p-01, 0x1.863e03e9474c1p-55},
	{0x1.4676466b180b9p-01, 0x1.d4f2a623cabd3p-56, 0x1.8a6b54cb74779p-01, 0x1.754938eccac38p-55},
	{0x1.48000e431159fp-01, -0x1.b194a7463ed1p-55, 0x1.89241985d871fp-01, 0x1.c48d9c413ed84p-55},
	{0x1.49888e1b17ba8p-01, 0x1.85f236b9ef692p-56, 0x1.87db551c43a98p-01, 0x1.cc790421e159ap-58},
	{0x1.4b0fc46aab761p-01, 0x1.0da05738cc59cp-61, 0x1.869108d77a6c6p-01, 0x1.338ffe2bfe9ddp-56},
	{0x1.4c95afaa965d9p-01, 0x1.99f87b905eef7p-55, 0x1.85453601c8e3ep-01, -0x1.8826853e7560ap-57},
	{0x1.4e1a4e54ed51bp-01, -0x1.a492f89b7c76ap-55, 0x1.83f7dde701cap-01, -0x1.152cf609bc6e8p-59},
	{0x1.4f9d9ee511c85p-01, 0x1.2ed6c74c625f7p-55, 0x1.82a901d47d1dcp-01, 0x1.7cbb4128c4c1ep-55},
	{0x1.511f9fd7b351cp-01, -0x1.5c0e861c48831p-55, 0x1.8158a31916d5dp-01, -0x1.de8b90b8228dep-57},
	{0x1.52a04faad11b6p-01, 0x1.07d7bd78bcb9cp-55, 0x1.8006c3052d917p-01, 0x1.aa8fb560a8d95p-55},
	{0x1.541facddbb724p-01, 0x1.232c28520d391p-56, 0x1.7eb362eaa1488p-01, 0x1.a1d65a4a5959fp-58},
	{0x1.559db5f115436p-01, -0x1.7229f7edd605p-56, 0x1.7d5e841cd1f93p-01, 0x1.ba5492fa6d189p-58},
	{0x1.571a6966d59b3p-01, 0x1.c843b4d0fb197p-58, 0x1.7c0827f09e54fp-01, -0x1.c73d6d72aee68p-57},
	{0x1.5895c5c24923bp-01, 0x1.b97f22c957c4fp-55, 0x1.7ab04fbc626b6p-01, 0x1.36a41f9c8150ap-55},
	{0x1.5a0fc98813a12p-01, -0x1.d82e2b7d4227bp-55, 0x1.7956fcd7f6543p-01, -0x1.ab276e9d45ae4p-55},
	{0x1.5b88733e316d1p-01, -0x1.077c33cd5e751p-55, 0x1.77fc309cacd6ep-01, 0x1.a61550088db65p-58},
	{0x1.5cffc16bf8f0dp-01, 0x1.96cb370eb578ap-55, 0x1.769fec655211fp-01, -0x1.827d5cf8c68c5p-57},
	{0x1.5e75b29a1c1dfp-01, 0x1.c266e6544ba29p-55, 0x1.7542318e2a1fap-01, 0x1.da5b28e9eb3b9p-55},
	{0x1.5fea4552a9e57p-01, 0x1.0b6cef7ee20b7p-55, 0x1.73e30174efba1p-01, -0x1.5d3ae3d94ad5fp-57},
	{0x1.615d78210faddp-01, -0x1.e3827d0c03315p-56, 0x1.72825d78d2dd2p-01, -0x1.5c7ee90b400a9p-55},
	{0x1.62cf49921ac79p-01, -0x1.edd9855b6241ap-55, 0x1.712046fa77678p-01, 0x1.425b0a5029c81p-55},
	{0x1.643fb833f9e07p-01, -0x1.4a1c5cd0442cdp-57, 0x1.6fbcbf5bf3ba2p-01, 0x1.eaec3811b3b5dp-55},
	{0x1.65aec2963e755p-01, 0x1.126f96b71053cp-55, 0x1.6e57c800cf55ep-01, 0x1.60286dedbd0a6p-55},
	{0x1.671c6749de429p-01, -0x1.57b95de1e1fdfp-55, 0x1.6cf1624e01782p-01, 0x1.d2f32a51e82e8p-56},
	{0x1.6888a4e134b2fp-01, -0x1.6b7d37644d5e6p-55, 0x1.6b898fa9efb5dp-01, 0x1.15ac786ccf4b2p-56},
	{0x1.69f379f0044d7p-01, 0x1.d89d29f8584f8p-55, 0x1.6a20517c6c95p-01, 0x1.a6fd059b9724cp-55},
	{0x1.6b5ce50b7821ap-01, -0x1.5d5158f702e0fp-57, 0x1.68b5a92eb6253p-01, -0x1.9a91ad985f89cp-55},
	{0x1.6cc4e4ca25321p-01, -0x1.60095ee08b1c7p-55, 0x1.6749982b7495cp-01, -0x1.c9e7453b2bb61p-55},
	{0x1.6e2b77c40bde1p-01, -0x1.0e729857fad53p-56, 0x1.65dc1fdeb8cbap-01, -0x1.97c1b47337c77p-58},
	{0x1.6f909c929949ap-01, 0x1.da20306b5ddcbp-56, 0x1.646d41b5faf52p-01, 0x1.e17dedc76c083p-56},
}
