package luaapi

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// strFormat is Lua 5.1's string.format: C printf conversions on each argument, with C
// Lua's argument checks and error texts ("bad argument #2 to 'format' (number expected,
// got string)", "invalid option '%z' to 'format'") and its quirks (%s stops at a NUL
// byte unless the string has 100 bytes or more and no precision is given).
func strFormat(L *lua.LState) int {
	const fname = "format"
	f := checkString(L, 1, fname)
	top := L.GetTop()
	arg := 1
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		// flags, width (2 digits at most), precision (2 digits at most)
		start := i
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if i-start > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		flags := f[start:i]
		width, i2, ok := formatDigits(f, i)
		if !ok {
			L.RaiseError("invalid format (width or precision too long)")
		}
		i = i2
		prec := -1
		if i < len(f) && f[i] == '.' {
			prec, i2, ok = formatDigits(f, i+1)
			if !ok {
				L.RaiseError("invalid format (width or precision too long)")
			}
			i = i2
			if prec < 0 {
				prec = 0
			}
		}
		if i >= len(f) {
			L.RaiseError("invalid option '%s' to 'format'", "%")
		}
		conv := f[i]
		arg++
		if arg > top {
			argError(L, arg, fname, "no value")
		}
		spec := fmtSpec{flags: flags, width: width, prec: prec}
		switch conv {
		case 'c':
			// C Lua appends strlen() of what sprintf wrote: a NUL character ends it
			var piece strings.Builder
			spec.pad(&piece, string([]byte{byte(int32(checkNumber(L, arg, fname)))}), false)
			p := piece.String()
			if k := strings.IndexByte(p, 0); k >= 0 {
				p = p[:k]
			}
			b.WriteString(p)
		case 'd', 'i':
			spec.integer(&b, cLong(checkNumber(L, arg, fname)), false, 10, false)
		case 'o':
			spec.integer(&b, cULong(checkNumber(L, arg, fname)), true, 8, false)
		case 'u':
			spec.integer(&b, cULong(checkNumber(L, arg, fname)), true, 10, false)
		case 'x':
			spec.integer(&b, cULong(checkNumber(L, arg, fname)), true, 16, false)
		case 'X':
			spec.integer(&b, cULong(checkNumber(L, arg, fname)), true, 16, true)
		case 'e', 'E', 'f', 'g', 'G':
			spec.float(&b, checkNumber(L, arg, fname), conv)
		case 'q':
			quoteString(&b, checkString(L, arg, fname))
		case 's':
			s := checkString(L, arg, fname)
			if prec < 0 && len(s) >= 100 {
				b.WriteString(s) // C Lua copies long strings whole, without formatting
				continue
			}
			if k := strings.IndexByte(s, 0); k >= 0 {
				s = s[:k] // sprintf's %s stops at the first NUL
			}
			if prec >= 0 && len(s) > prec {
				s = s[:prec]
			}
			spec.pad(&b, s, false)
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
		if b.Len() > MaxString {
			L.RaiseError("not enough memory")
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// formatDigits reads at most two digits at f[i:]; -1 when there are none.
func formatDigits(f string, i int) (n, next int, ok bool) {
	n = -1
	start := i
	for i < len(f) && f[i] >= '0' && f[i] <= '9' {
		if n < 0 {
			n = 0
		}
		n = n*10 + int(f[i]-'0')
		i++
	}
	return n, i, i-start <= 2
}

// cLong converts a Lua number to C's long as the (long) cast does on x86-64: truncation,
// and the "indefinite integer" for what does not fit.
func cLong(f float64) int64 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

// cULong is the (unsigned long) cast as x86-64 compilers emit it: values from 2^63 up
// are converted after subtracting 2^63, then the top bit is set back.
func cULong(f float64) int64 {
	if f >= 1<<63 {
		return cLong(f-(1<<63)) ^ math.MinInt64
	}
	return cLong(f)
}

type fmtSpec struct {
	flags       string
	width, prec int
}

func (s fmtSpec) has(c byte) bool { return strings.IndexByte(s.flags, c) >= 0 }

// pad writes body padded to the width: spaces on the left, on the right with '-', or zeros
// after the sign and prefix with '0' (numeric conversions only).
func (s fmtSpec) pad(b *strings.Builder, body string, numeric bool) {
	n := s.width - len(body)
	switch {
	case n <= 0:
		b.WriteString(body)
	case s.has('-'):
		b.WriteString(body)
		b.WriteString(strings.Repeat(" ", n))
	case numeric && s.has('0'):
		signLen := 0
		if body != "" && (body[0] == '-' || body[0] == '+' || body[0] == ' ') {
			signLen = 1
		}
		if len(body) >= signLen+2 && body[signLen] == '0' && (body[signLen+1] == 'x' || body[signLen+1] == 'X') {
			signLen += 2
		}
		b.WriteString(body[:signLen])
		b.WriteString(strings.Repeat("0", n))
		b.WriteString(body[signLen:])
	default:
		b.WriteString(strings.Repeat(" ", n))
		b.WriteString(body)
	}
}

// integer is %d %i %o %u %x %X.
func (s fmtSpec) integer(b *strings.Builder, v int64, unsigned bool, base int, upper bool) {
	var digits, sign string
	if unsigned {
		digits = strconv.FormatUint(uint64(v), base)
	} else {
		digits = strconv.FormatInt(v, 10)
		if v < 0 {
			sign, digits = "-", digits[1:]
		} else if s.has('+') {
			sign = "+"
		} else if s.has(' ') {
			sign = " "
		}
	}
	if upper {
		digits = strings.ToUpper(digits)
	}
	if s.prec >= 0 {
		if s.prec == 0 && v == 0 {
			digits = ""
		}
		if len(digits) < s.prec {
			digits = strings.Repeat("0", s.prec-len(digits)) + digits
		}
	}
	if s.has('#') {
		switch {
		case base == 8 && !strings.HasPrefix(digits, "0"):
			digits = "0" + digits
		case base == 16 && v != 0 && upper:
			digits = "0X" + digits
		case base == 16 && v != 0:
			digits = "0x" + digits
		}
	}
	sp := s
	if s.prec >= 0 {
		sp.flags = strings.ReplaceAll(s.flags, "0", "") // a precision turns the 0 flag off
	}
	sp.pad(b, sign+digits, true)
}

// float is %e %E %f %g %G.
func (s fmtSpec) float(b *strings.Builder, f float64, conv byte) {
	sign := ""
	if math.Signbit(f) {
		sign = "-"
	} else if s.has('+') {
		sign = "+"
	} else if s.has(' ') {
		sign = " "
	}
	a := math.Abs(f)
	upper := conv == 'E' || conv == 'G'
	if math.IsInf(f, 0) || math.IsNaN(f) {
		body := "inf"
		if math.IsNaN(f) {
			body = "nan"
		}
		if upper {
			body = strings.ToUpper(body)
		}
		sp := s
		sp.flags = strings.ReplaceAll(s.flags, "0", "")
		sp.pad(b, sign+body, true)
		return
	}
	prec := s.prec
	if prec < 0 {
		prec = 6
	}
	var body string
	switch conv {
	case 'f':
		body = strconv.FormatFloat(a, 'f', prec, 64)
		if s.has('#') && prec == 0 {
			body += "."
		}
	case 'e', 'E':
		body = cExp(strconv.FormatFloat(a, 'e', prec, 64))
		if s.has('#') && prec == 0 {
			m, e, _ := strings.Cut(body, "e")
			body = m + ".e" + e
		}
	case 'g', 'G':
		if prec == 0 {
			prec = 1
		}
		if s.has('#') {
			body = gKeepZeros(a, cExp(strconv.FormatFloat(a, 'g', prec, 64)), prec)
		} else {
			body = formatG(a, prec)
		}
	}
	if upper {
		body = strings.ToUpper(body)
	}
	s.pad(b, sign+body, true)
}

// cExp writes the exponent as C does: a sign and at least two digits.
func cExp(s string) string {
	m, e, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	sign := e[0]
	digits := e[1:]
	if len(digits) < 2 {
		digits = "0" + digits
	}
	return m + "e" + string(sign) + digits
}

// gKeepZeros is %#g: the trailing zeros of the prec significant digits stay, and the
// decimal point is always there.
func gKeepZeros(a float64, body string, prec int) string {
	m, e, hasE := strings.Cut(body, "e")
	digits := 1
	if a != 0 {
		// significant digits: leading zeros of a number below 1 do not count
		digits = len(strings.TrimLeft(strings.ReplaceAll(m, ".", ""), "0"))
	}
	if !strings.Contains(m, ".") {
		m += "."
	}
	if digits < prec {
		m += strings.Repeat("0", prec-digits)
	}
	if hasE {
		return m + "e" + e
	}
	return m
}

// quoteString is %q: a double-quoted string Lua can read back.
func quoteString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString("\\r")
		case 0:
			b.WriteString("\\000")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
