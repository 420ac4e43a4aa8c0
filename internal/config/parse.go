package config

import (
	"math"
	"strconv"
	"strings"

	"github.com/sard-kv/sard/internal/resp"
)

// splitArgs tokenizes one configuration line the way Redis's sdssplitargs
// does, with the same splitter inline requests use. ok is false when quotes
// are unbalanced or a closing quote is glued to the next token.
func splitArgs(line string) (args []string, ok bool) {
	raw, ok := resp.SplitArgs([]byte(line), nil)
	if !ok {
		return nil, false
	}
	args = make([]string, len(raw))
	for i, a := range raw {
		args[i] = string(a)
	}
	return args, true
}

// isSpace is C's isspace in the C locale, as strtoll and strtod skip it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// repr quotes s the way Redis's sdscatrepr does, so that splitArgs reads it
// back unchanged; config rewrite and command-line error echoes use it.
func repr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			} else {
				b.WriteString(`\x`)
				b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
				b.WriteString(strconv.FormatUint(uint64(c)&15, 16))
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// trimLine strips what Redis's sdstrim(" \t\r\n") strips from both ends.
func trimLine(s string) string {
	return strings.Trim(s, " \t\r\n")
}

// lowerASCII lower-cases only ASCII letters, like sdstolower under the C locale.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// splitSpaces splits a multi-argument value on single spaces like
// sdssplitlen(" "): empty fields are kept and "" gives no fields at all.
func splitSpaces(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// parseStrictInt mirrors Redis's string2ll: optional '-', no '+', no spaces,
// no leading zeros, no overflow.
func parseStrictInt(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := false
	p := s
	if p[0] == '-' {
		neg = true
		p = p[1:]
		if p == "" {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > uint64(math.MaxInt64)+1 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseCLong mirrors strtoll(s, &end, base) followed by a check that the whole
// string was consumed: leading whitespace and a sign are allowed, overflow
// saturates (and is reported), and an empty digit run yields 0 only when
// nothing follows.
func parseCLong(s string, base int) (v int64, ok, overflow bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	over := false
	for i < len(s) {
		d := digitVal(s[i])
		if d < 0 || d >= base {
			break
		}
		if u > (math.MaxUint64-uint64(d))/uint64(base) {
			over = true
		} else {
			u = u*uint64(base) + uint64(d)
		}
		i++
	}
	if i == start {
		// strtoll consumed nothing: end points at the start of s.
		return 0, s == "", false
	}
	if i != len(s) {
		return 0, false, false
	}
	if neg {
		if over || u > uint64(math.MaxInt64)+1 {
			return math.MinInt64, true, true
		}
		return int64(-u), true, false
	}
	if over || u > math.MaxInt64 {
		return math.MaxInt64, true, true
	}
	return int64(u), true, false
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// parseMemory mirrors Redis's memtoull: digits then an optional unit
// (b, k, kb, m, mb, g, gb; case-insensitive, k=1000 and kb=1024). Like Redis,
// the digit run saturates on overflow and the unit multiply wraps.
func parseMemory(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	var mul uint64
	switch strings.ToLower(s[i:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 {
		return 0, false
	}
	var v uint64
	for j := 0; j < i; j++ {
		d := uint64(s[j] - '0')
		if v > (math.MaxUint64-d)/10 {
			v = math.MaxUint64
			break
		}
		v = v*10 + d
	}
	return v * mul, true
}

// parseFloat mirrors Redis's string2d: strtod over the whole string, no
// leading space, no NaN.
func parseFloat(s string) (float64, bool) {
	if s == "" || isSpace(s[0]) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !strings.ContainsRune("+-.eE", rune(c)) && !strings.ContainsRune("infINFtyTY", rune(c)) {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// formatPercentile prints like "%f" followed by Redis's trimDoubleString.
func formatPercentile(f float64) string {
	s := strconv.FormatFloat(f, 'f', 6, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// formatMemoryRewrite writes bytes the way CONFIG REWRITE does: the largest
// binary unit that divides it exactly.
func formatMemoryRewrite(v int64) string {
	const kb, mb, gb = 1024, 1024 * 1024, 1024 * 1024 * 1024
	switch {
	case v != 0 && v%gb == 0:
		return strconv.FormatInt(v/gb, 10) + "gb"
	case v != 0 && v%mb == 0:
		return strconv.FormatInt(v/mb, 10) + "mb"
	case v != 0 && v%kb == 0:
		return strconv.FormatInt(v/kb, 10) + "kb"
	}
	return strconv.FormatInt(v, 10)
}
