package config

// globMatch reports whether s matches a Redis glob pattern: '*', '?',
// '[...]' sets with '^' negation and 'a-z' ranges, and '\' escapes. An
// unclosed '[' set runs to the end of the pattern, as in Redis.
func globMatch(pattern, s string, nocase bool) bool {
	return globAt(pattern, s, nocase, 0)
}

func globAt(p, s string, nocase bool, depth int) bool {
	if depth > 1000 {
		return false // bound recursion on hostile patterns like "*a*a*a..."
	}
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globAt(p[1:], s[i:], nocase, depth+1) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
			p = p[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for {
				if len(p) >= 2 && p[0] == '\\' {
					p = p[1:]
					if eqByte(p[0], s[0], nocase) {
						match = true
					}
				} else if len(p) == 0 {
					break
				} else if p[0] == ']' {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					lo, hi, c := p[0], p[2], s[0]
					if lo > hi {
						lo, hi = hi, lo
					}
					if nocase {
						lo, hi, c = lowerByte(lo), lowerByte(hi), lowerByte(c)
					}
					if c >= lo && c <= hi {
						match = true
					}
					p = p[2:]
				} else if eqByte(p[0], s[0], nocase) {
					match = true
				}
				p = p[1:]
			}
			if len(p) > 0 {
				p = p[1:] // the closing ']'
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || !eqByte(p[0], s[0], nocase) {
				return false
			}
			s = s[1:]
			p = p[1:]
		}
	}
	return len(s) == 0
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func eqByte(a, b byte, nocase bool) bool {
	if nocase {
		return lowerByte(a) == lowerByte(b)
	}
	return a == b
}
