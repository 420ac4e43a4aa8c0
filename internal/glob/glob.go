// Package glob matches keys and channel names against Redis glob-style patterns, byte for byte as Redis 7.0 does.
package glob

// maxNesting is how many '*' deep Redis lets a match recurse before it
// gives up and reports no match (its guard against abusive patterns).
const maxNesting = 1000

// Match reports whether str matches pattern, with Redis's rules: '*' any run
// of bytes, '?' any one byte, '[...]' a set ('^' negates, 'a-z' ranges in
// either order, '\' escapes), '\' escapes outside sets too. An unterminated
// '[' set runs to the end of the pattern. nocase folds ASCII letters only.
// As in Redis, a pattern never matches the empty string unless it is empty
// itself ("*" does not); KEYS and SCAN special-case a lone "*" themselves.
// Match never allocates.
func Match(pattern, str []byte, nocase bool) bool {
	m := matcher{pattern: pattern, str: str, nocase: nocase}
	return m.match(0, 0, 0)
}

// MatchString is Match for string arguments.
func MatchString(pattern, str string, nocase bool) bool {
	// The conversions do not escape, so the compiler does not copy.
	return Match([]byte(pattern), []byte(str), nocase)
}

type matcher struct {
	pattern, str []byte
	nocase       bool
	// giveUp is set once the text after some '*' was found to match
	// nowhere in the rest of the string: no earlier '*' can help by
	// swallowing more, so every pending alternative is abandoned. This is
	// what keeps patterns like "a*a*a*a*b" linear, as in Redis.
	giveUp bool
}

// at returns pattern[i], or 0 past the end: Redis reads the terminating NUL
// of its buffer there, and a few decisions depend on that byte.
func (m *matcher) at(i int) byte {
	if i < len(m.pattern) {
		return m.pattern[i]
	}
	return 0
}

// lower is C's tolower in the "C" locale: ASCII letters only.
func lower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// signed widens a byte the way C widens a plain (signed on x86) char, which
// is what range bounds in sets are compared as.
func signed(b byte) int { return int(int8(b)) }

func (m *matcher) eq(p, s byte) bool {
	if m.nocase {
		return lower(signed(p)) == lower(signed(s))
	}
	return p == s
}

// match reports whether pattern[p:] matches str[s:]; depth counts the
// '*' recursions above this call.
func (m *matcher) match(p, s, depth int) bool {
	if depth > maxNesting {
		return false
	}
	pat, str := m.pattern, m.str
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p+1 < len(pat) && pat[p+1] == '*' {
				p++
			}
			if p+1 == len(pat) {
				return true
			}
			for ; s < len(str); s++ {
				if m.match(p+1, s, depth+1) {
					return true
				}
				if m.giveUp {
					return false
				}
			}
			m.giveUp = true
			return false
		case '?':
			s++
		case '[':
			var ok bool
			p, ok = m.set(p+1, str[s])
			if !ok {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			if !m.eq(pat[p], str[s]) {
				return false
			}
			s++
		default:
			if !m.eq(pat[p], str[s]) {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for p < len(pat) && pat[p] == '*' {
				p++
			}
			break
		}
	}
	return p == len(pat) && s == len(str)
}

// set matches c against the set whose body starts at pattern[p] (just past
// the '['). It returns the index of the closing ']' (or of the last byte
// when the set is unterminated) and whether c is accepted.
func (m *matcher) set(p int, c byte) (int, bool) {
	not := m.at(p) == '^'
	if not {
		p++
	}
	match := false
	for {
		rest := len(m.pattern) - p
		switch {
		case m.at(p) == '\\' && rest >= 2:
			p++
			if m.pattern[p] == c {
				match = true
			}
		case m.at(p) == ']':
			return p, match != not
		case rest <= 0:
			// Unterminated set: Redis steps back so that the caller's
			// advance lands exactly on the end of the pattern.
			return p - 1, match != not
		case rest >= 3 && m.pattern[p+1] == '-':
			// Ranges compare signed chars, and a reversed range such as
			// "z-a" means the same as "a-z". Note "[a-]" makes ']' the end
			// of a range, so the set carries on past it, as in Redis.
			lo, hi, x := signed(m.pattern[p]), signed(m.pattern[p+2]), signed(c)
			if lo > hi {
				lo, hi = hi, lo
			}
			if m.nocase {
				lo, hi, x = lower(lo), lower(hi), lower(x)
			}
			p += 2
			if x >= lo && x <= hi {
				match = true
			}
		default:
			if m.eq(m.pattern[p], c) {
				match = true
			}
		}
		p++
	}
}
