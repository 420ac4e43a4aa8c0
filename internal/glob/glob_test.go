package glob

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestMatchTable(t *testing.T) {
	cases := []struct {
		pattern, str string
		nocase, want bool
	}{
		{"*", "anything", false, true},
		{"*", "", false, false}, // Redis: "*" alone does not match ""; KEYS/SCAN special-case "*"
		{"", "", false, true},
		{"", "a", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"h*llo", "heeeello", false, true},
		{"h*llo", "hllo", false, true},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"h[a-b]llo", "hcllo", false, false},
		{`h\*llo`, "h*llo", false, true},
		{`h\*llo`, "hello", false, false},
		{`[\]]`, "]", false, true},
		{`[\-]`, "-", false, true},
		{"a[", "a", false, false},
		{"a[b", "ab", false, true}, // unterminated set runs to the end
		{"a[b", "ac", false, false},
		{"[a-]x", "x", false, true}, // the set goes on after "a-]", so 'x' is in it
		{"[a-]x", "]", false, true}, // "a-]" is a range, the set never closes
		{`a\`, `a\`, false, true},   // a trailing backslash is literal
		{"HELLO", "hello", true, true},
		{"HELLO", "hello", false, false},
		{"[A-C]", "b", true, true},
		{"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false, false},
		{"a**", "a", false, true},
		{"[\xff-a]", "\xff", false, true}, // range bounds are signed chars: -1..97
		{"[\xff-a]", "\x00", false, true},
		{"[\xff-a]", "\x80", false, false},
		{"[a-\xff]", "b", false, false},
		{"[\x80-\xff]", "\x90", false, true},
	}
	for _, c := range cases {
		if got := MatchString(c.pattern, c.str, c.nocase); got != c.want {
			t.Errorf("Match(%q, %q, nocase=%v) = %v, want %v", c.pattern, c.str, c.nocase, got, c.want)
		}
	}
}

func TestNestingLimit(t *testing.T) {
	s := []byte(strings.Repeat("a", 1200))
	// Redis gives up, reporting no match, when '*' recursion passes 1000.
	if !Match(bytes.Repeat([]byte("*a"), 1000), s, false) {
		t.Error("1000 levels of '*' should still match")
	}
	if Match(bytes.Repeat([]byte("*a"), 1001), s, false) {
		t.Error("1001 levels of '*' should hit the nesting limit")
	}
	if !Match(bytes.Repeat([]byte("a*"), 1001), s, false) {
		t.Error("a trailing '*' at level 1001 matches without recursing")
	}
}

func TestExponentialPatternIsFast(t *testing.T) {
	pat := []byte(strings.Repeat("a*", 40) + "b")
	s := []byte(strings.Repeat("a", 5000))
	start := time.Now()
	if Match(pat, s, false) {
		t.Fatal("unexpected match")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("pathological pattern took %v", d)
	}
}

func TestZeroAllocs(t *testing.T) {
	pat, s := []byte("user:*:[a-z]?[^0-9]*"), []byte("user:12345:profile-data")
	if n := testing.AllocsPerRun(100, func() { Match(pat, s, true) }); n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { MatchString("user:*", "user:1", false) }); n != 0 {
		t.Fatalf("MatchString allocates %v times", n)
	}
}

// reference is a memoised matcher with no pruning and no depth limit. It
// shares the set parser but decides '*' by trying every split, so it checks
// that the early give-up in Match never changes an answer.
func reference(pattern, str []byte, nocase bool) bool {
	m := &matcher{pattern: pattern, str: str, nocase: nocase}
	memo := map[[2]int]bool{}
	var rec func(p, s int) bool
	rec = func(p, s int) bool {
		key := [2]int{p, s}
		if v, ok := memo[key]; ok {
			return v
		}
		res := func() bool {
			for p < len(pattern) && s < len(str) {
				switch pattern[p] {
				case '*':
					for p+1 < len(pattern) && pattern[p+1] == '*' {
						p++
					}
					if p+1 == len(pattern) {
						return true
					}
					for ; s < len(str); s++ {
						if rec(p+1, s) {
							return true
						}
					}
					return false
				case '?':
				case '[':
					var ok bool
					if p, ok = m.set(p+1, str[s]); !ok {
						return false
					}
				case '\\':
					if len(pattern)-p >= 2 {
						p++
					}
					fallthrough
				default:
					if !m.eq(pattern[p], str[s]) {
						return false
					}
				}
				p++
				s++
				if s == len(str) {
					for p < len(pattern) && pattern[p] == '*' {
						p++
					}
				}
			}
			return p == len(pattern) && s == len(str)
		}()
		memo[key] = res
		return res
	}
	return rec(0, 0)
}

func randomBytes(rng *rand.Rand, alphabet string, max int) []byte {
	b := make([]byte, rng.IntN(max+1))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

const (
	keyAlphabet     = "abA-]\\*\x00\xff"
	patternAlphabet = "abA-]\\*\x00\xff*?[^*?[^-"
)

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		p := randomBytes(rng, patternAlphabet, 10)
		s := randomBytes(rng, keyAlphabet, 10)
		nocase := rng.IntN(2) == 0
		if got, want := Match(p, s, nocase), reference(p, s, nocase); got != want {
			t.Fatalf("Match(%q, %q, %v) = %v, reference %v", p, s, nocase, got, want)
		}
	}
}

// TestDifferentialKeys asks the real server which of a fixed set of keys
// each random pattern selects through KEYS, and compares with Match.
func TestDifferentialKeys(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	rng := rand.New(rand.NewPCG(5, 6))
	seen := map[string]bool{}
	var keys [][]byte
	for _, k := range []string{"", "a", "b", "ab", "ba", "A", "*", "?", "[", "]", "\\", "-", "a-b", "[a]", "\x00", "\xff", "\x80"} {
		seen[k] = true
		keys = append(keys, []byte(k))
	}
	for len(keys) < 400 {
		k := randomBytes(rng, keyAlphabet, 6)
		if !seen[string(k)] {
			seen[string(k)] = true
			keys = append(keys, k)
		}
	}
	var setup [][]string
	for _, k := range keys {
		setup = append(setup, []string{"SET", string(k), "1"})
	}
	if _, err := o.Pipeline(setup...); err != nil {
		t.Fatal(err)
	}

	var patterns [][]byte
	for _, p := range []string{"*", "**", "?", "[", "[^", "[]", "[]]", "[^]]", "\\", "a\\", "[a-]", "[a-]*", "[\\]", "[\\]]", "[z-a]", "[\xff-a]", "*\x00*", "*[", "[*"} {
		patterns = append(patterns, []byte(p))
	}
	for len(patterns) < 4000 {
		patterns = append(patterns, randomBytes(rng, patternAlphabet, 8))
	}
	cmds := make([][]string, len(patterns))
	for i, p := range patterns {
		cmds[i] = []string{"KEYS", string(p)}
	}
	replies, err := o.Pipeline(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	for i, reply := range replies {
		got := parseKeys(t, reply)
		var want []string
		for _, k := range keys {
			// KEYS treats the one-byte pattern "*" as "everything", even "".
			if string(patterns[i]) == "*" || Match(patterns[i], k, false) {
				want = append(want, string(k))
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("KEYS %q: oracle %q, Match %q", patterns[i], got, want)
		}
	}
}

// TestDifferentialNocase exercises case folding through COMMAND LIST
// FILTERBY PATTERN, which Redis matches case-insensitively.
func TestDifferentialNocase(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	list, err := o.Do("COMMAND", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	names := parseKeys(t, list)
	if len(names) < 100 {
		t.Fatalf("COMMAND LIST returned only %d names", len(names))
	}
	rng := rand.New(rand.NewPCG(8, 9))
	patterns := [][]byte{[]byte("CONFIG|*"), []byte("*|G?T"), []byte("[c-E]*"), []byte("[^a-y]*")}
	for len(patterns) < 2000 {
		patterns = append(patterns, randomBytes(rng, "eEtTsSlL|-*?*?*[]^-gG", 7))
	}
	cmds := make([][]string, len(patterns))
	for i, p := range patterns {
		cmds[i] = []string{"COMMAND", "LIST", "FILTERBY", "PATTERN", string(p)}
	}
	replies, err := o.Pipeline(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	for i, reply := range replies {
		got := parseKeys(t, reply)
		var want []string
		for _, n := range names {
			if Match(patterns[i], []byte(n), true) {
				want = append(want, n)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("FILTERBY PATTERN %q: oracle %q, Match %q", patterns[i], got, want)
		}
	}
}

// parseKeys decodes an array of bulk strings and sorts it.
func parseKeys(t *testing.T, reply []byte) []string {
	t.Helper()
	var out []string
	lines := bytes.SplitN(reply, []byte("\r\n"), 2)
	if len(lines[0]) == 0 || lines[0][0] != '*' {
		t.Fatalf("not an array: %q", reply)
	}
	rest := lines[1]
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		var n int
		for _, c := range rest[1:i] {
			n = n*10 + int(c-'0')
		}
		out = append(out, string(rest[i+2:i+2+n]))
		rest = rest[i+2+n+2:]
	}
	slices.Sort(out)
	return out
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"*", "x"}, {"[a-]x", "]"}, {`a\`, `a\`}, {"h[^e]l*o", "hallo"}, {"*a*a*a*b", "aaaaaaaa"}, {"[", ""}} {
		f.Add([]byte(s[0]), []byte(s[1]), false)
	}
	f.Fuzz(func(t *testing.T, pattern, str []byte, nocase bool) {
		got := Match(pattern, str, nocase)
		// Matching is about len(pattern)*len(str) steps at worst (a long
		// set retried at every position after a '*'), never exponential.
		// The machine is shared and fuzzing instruments the code, so the
		// budget is generous and only the best of several runs counts.
		budget := 10*time.Millisecond + time.Duration(len(pattern)+1)*time.Duration(len(str)+1)*50*time.Nanosecond
		best := time.Hour
		for range 3 {
			start := time.Now()
			Match(pattern, str, nocase)
			best = min(best, time.Since(start))
			if best < budget {
				break
			}
		}
		if best >= budget {
			t.Fatalf("Match(%q, %q) takes %v, budget %v", pattern, str, best, budget)
		}
		// The memoised reference is quadratic in memory; keep it to small
		// inputs, and below the nesting limit where the two may differ.
		if len(pattern) <= 64 && len(str) <= 64 {
			if want := reference(pattern, str, nocase); got != want {
				t.Fatalf("Match(%q, %q, %v) = %v, reference %v", pattern, str, nocase, got, want)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	cases := []struct{ name, pattern, str string }{
		{"literal", "user:1000:profile", "user:1000:profile"},
		{"prefix", "user:*", "user:1000:profile"},
		{"mixed", "u?er:[0-9]*:pro*le", "user:1000:profile"},
		{"miss", "*:settings", "user:1000:profile"},
		{"pathological", strings.Repeat("a*", 20) + "b", strings.Repeat("a", 200)},
	}
	for _, c := range cases {
		p, s := []byte(c.pattern), []byte(c.str)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Match(p, s, false)
			}
		})
	}
}
