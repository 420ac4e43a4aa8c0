package num

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseInt64Table(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"-0", 0, false}, // Redis rejects a negative zero
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1a", 0, false},
		{"1.0", 0, false},
		{"000000000000000000001", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseInt64([]byte(c.in))
		if ok != c.ok || got != c.want {
			t.Errorf("ParseInt64(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
		got, ok = ParseInt64String(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseInt64String(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestFormatInt64(t *testing.T) {
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		s := FormatInt64([]byte("x"), v)
		if string(s) != "x"+strconv.FormatInt(v, 10) {
			t.Errorf("FormatInt64(%d) = %q", v, s)
		}
		if back, ok := ParseInt64(s[1:]); !ok || back != v {
			t.Errorf("round trip of %d failed", v)
		}
	}
}

func TestParseFloatTable(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true},
		{"-1.5", -1.5, true},
		{"+.5", 0.5, true},
		{"5.", 5, true},
		{"1e3", 1000, true},
		{"1E+3", 1000, true},
		{"0x10", 16, true}, // hex without a 'p' exponent, as strtod allows
		{"0x1p3", 8, true},
		{"0X.8P1", 1, true},
		{"inf", math.Inf(1), true},
		{"+Inf", math.Inf(1), true},
		{"-INFINITY", math.Inf(-1), true},
		{"4e-320", 4e-320, true}, // subnormal: accepted
		{"1e-400", 0, false},     // underflows to zero: rejected
		{"0e-400", 0, true},
		{"1e309", 0, false},
		{"nan", 0, false},
		{"NaN(123)", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"", 0, false},
		{".", 0, false},
		{"1e", 0, false},
		{"1e+", 0, false},
		{"0x", 0, false},
		{"0xg", 0, false},
		{"infinit", 0, false},
		{"1_000", 0, false},
		{"0x1_0p0", 0, false},
		{"1\x00", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseFloat([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseFloat(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if v, ok := ParseFloat([]byte("-0")); !ok || !math.Signbit(v) {
		t.Errorf("ParseFloat(-0) = %v, %v; want negative zero", v, ok)
	}
}

func TestFormatDoubleTable(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-2.5, "-2.5"},
		{0.1, "0.10000000000000001"},
		{1e20, "1e+20"},
		{1e16, "10000000000000000"},
		{1e17, "1e+17"},
		{123456789012345678, "1.2345678901234568e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1.0000000000000001e-05"},
		{1e-300, "1e-300"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "4.9406564584124654e-324"},
		{1 + 1.0/(1<<17), "1.0000076293945312"}, // a tie, rounded to even
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, c := range cases {
		if got := string(FormatDouble([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("FormatDouble(%v) = %q, want %q", c.in, got[1:], c.want)
		}
	}
}

func TestIncrByFloatTable(t *testing.T) {
	cases := []struct {
		cur, incr string
		missing   bool
		want      string
		err       error
	}{
		{"", "1", true, "1", nil},
		{"10.5", "0.1", false, "10.6", nil},
		{"", "0.1", true, "0.1", nil},
		{"0.1", "0.2", false, "0.3", nil}, // long double hides the binary error
		{"", "-0", true, "0", nil},
		{"5.0e3", "2.0e2", false, "5200", nil},
		{"", "3.0e3", true, "3000", nil},
		{"", "1e-18", true, "0", nil},
		{"", "0.000003814697265625", true, "0.00000381469726562", nil}, // ties to even
		{"", "1e-4940", true, "0", nil},
		{"", "1e-5000", true, "", ErrNotFloat},
		{"", "1e5000", true, "", ErrNotFloat},
		{"", "inf", true, "", ErrNaNOrInfinity},
		{"inf", "1", false, "", ErrNaNOrInfinity},
		{"", "nan", true, "", ErrNotFloat},
		{"abc", "1", false, "", ErrNotFloat},
		{"", "1", false, "", ErrNotFloat}, // an existing empty string
		{" 1", "1", false, "", ErrNotFloat},
		{"1", " 1", false, "", ErrNotFloat},
		{"1.18973149535723176502e+4932", "1.18973149535723176502e+4932", false, "", ErrNaNOrInfinity},
	}
	for _, c := range cases {
		var cur []byte
		if !c.missing {
			cur = []byte(c.cur)
		}
		got, err := IncrByFloat(cur, []byte(c.incr))
		if err != c.err || string(got) != c.want {
			t.Errorf("IncrByFloat(%q, %q) = %q, %v; want %q, %v", c.cur, c.incr, got, err, c.want, c.err)
		}
	}
	got, err := IncrByFloat(nil, []byte("1e300"))
	if err != nil || string(got) != "1"+strings.Repeat("0", 300) &&
		!strings.HasPrefix(string(got), "10000000000000000000") {
		t.Errorf("IncrByFloat(1e300) = %q, %v", got, err)
	}
	if len(got) != 301 {
		t.Errorf("1e300 should print with every integer digit, got %d bytes", len(got))
	}
}

func TestHIncrByFloatErrorOrder(t *testing.T) {
	cases := []struct {
		cur, incr string
		err       error
	}{
		{"abc", "x", ErrNotFloat},
		{"abc", "inf", ErrIncrNaNOrInfinity},
		{"abc", "1", ErrHashNotFloat},
		{"inf", "1", ErrNaNOrInfinity},
	}
	for _, c := range cases {
		if _, err := HIncrByFloat([]byte(c.cur), []byte(c.incr)); err != c.err {
			t.Errorf("HIncrByFloat(%q, %q) error %v, want %v", c.cur, c.incr, err, c.err)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	ib, fb, hb := []byte("-1234567890123"), []byte("-1234.5678e-3"), []byte("0x1.8p3")
	buf := make([]byte, 0, 64)
	checks := map[string]func(){
		"ParseInt64":    func() { ParseInt64(ib) },
		"ParseFloat":    func() { ParseFloat(fb) },
		"ParseFloat/0x": func() { ParseFloat(hb) },
		"FormatDouble":  func() { FormatDouble(buf[:0], 0.1) },
		"FormatInt64":   func() { FormatInt64(buf[:0], -42) },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func FuzzParseLongDouble(f *testing.F) {
	for _, s := range []string{"1", "0x1p-16445", "1e-4951", "1.2e4932", "-0", "inf", "1e99999999999999", "0x.8p99999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, ok := ParseLongDouble(b)
		// long double has more range and precision than double, so every
		// score strtod accepts, strtold accepts (below Redis's 5 KiB cap).
		if _, dok := ParseFloat(b); dok && len(b) < 5*1024 && !ok {
			t.Fatalf("ParseFloat accepts %q but ParseLongDouble does not", b)
		}
		if !ok {
			return
		}
		x.AppendHuman(nil)
		x.Add(x).AppendHuman(nil)
		IncrByFloat(b, b)
		HIncrByFloat(b, b)
	})
}

func BenchmarkParseInt64(b *testing.B) {
	in := []byte("-1234567890123")
	for b.Loop() {
		ParseInt64(in)
	}
}

func BenchmarkParseFloat(b *testing.B) {
	for _, s := range []string{"1", "3.14159", "-1.2345678901234567e-100"} {
		in := []byte(s)
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				ParseFloat(in)
			}
		})
	}
}

func BenchmarkFormatDouble(b *testing.B) {
	buf := make([]byte, 0, 64)
	for _, v := range []float64{1, 0.1, 1.2345678901234567e-100} {
		b.Run(fmt.Sprint(v), func(b *testing.B) {
			for b.Loop() {
				FormatDouble(buf[:0], v)
			}
		})
	}
}

func BenchmarkIncrByFloat(b *testing.B) {
	cur, incr := []byte("10.5"), []byte("0.1")
	for b.Loop() {
		IncrByFloat(cur, incr)
	}
}
