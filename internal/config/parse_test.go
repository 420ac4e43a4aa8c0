package config

import (
	"errors"
	"slices"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`port 6379`, []string{"port", "6379"}, true},
		{`  a   b  `, []string{"a", "b"}, true},
		{`logfile ""`, []string{"logfile", ""}, true},
		{`x "a\nb\tc\r\b\a\\\"q"`, []string{"x", "a\nb\tc\r\b\a\\\"q"}, true},
		{`x "\x41\x4a\xzz"`, []string{"x", "AJxzz"}, true},
		{`x 'it\'s' 'a\nb'`, []string{"x", "it's", `a\nb`}, true},
		{`x a"b c"d`, nil, false}, // closing quote glued to d
		{`x a"b c"`, []string{"x", "ab c"}, true},
		{`x "abc`, nil, false},
		{`x 'abc`, nil, false},
		{`x "a"b`, nil, false},
		{`x 'a'b`, nil, false},
		{`x "abc\`, nil, false},
		{``, nil, true},
		{`"{title} {listen-addr} {server-mode}"`, []string{"{title} {listen-addr} {server-mode}"}, true},
	}
	for _, c := range cases {
		got, ok := splitArgs(c.in)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestReprRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "q\"uote", `back\slash`, "\x00\x01\xff\n\r\t\a\b", "é"} {
		r := repr(s)
		got, ok := splitArgs("x " + r)
		if !ok || len(got) != 2 || got[1] != s {
			t.Errorf("repr(%q) = %s reads back as %q, %v", s, r, got, ok)
		}
	}
	if got := repr("a\"b\x01"); got != `"a\"b\x01"` {
		t.Errorf("repr = %s", got)
	}
}

func TestParseMemory(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"100b", 100, true}, {"1k", 1000, true}, {"1kb", 1024, true},
		{"1K", 1000, true}, {"1KB", 1024, true}, {"1m", 1000000, true}, {"1mb", 1 << 20, true},
		{"1G", 1000000000, true}, {"1gB", 1 << 30, true}, {"05", 5, true},
		{"99999999999999999999", 1<<64 - 1, true}, // saturates like strtoull
		{"-1", 0, false}, {"1x", 0, false}, {"1.5gb", 0, false}, {" 1", 0, false}, {"+1", 0, false}, {"0x10", 0, false},
	}
	for _, c := range cases {
		got, ok := parseMemory(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parseMemory(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseStrictInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-1": -1, "123": 123, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63}
	for in, want := range good {
		if got, ok := parseStrictInt(in); !ok || got != want {
			t.Errorf("parseStrictInt(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-", "+5", "05", "-0", " 5", "5 ", "1.5", "9223372036854775808", "abc"} {
		if _, ok := parseStrictInt(in); ok {
			t.Errorf("parseStrictInt(%q) accepted", in)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "port", true}, {"p?rt", "port", true}, {"p?rt", "prt", false},
		{"MAXMEM*", "maxmemory", true}, {"[a-c]*", "bind", true}, {"[^a-c]*", "bind", false},
		{"[c-a]ind", "bind", true}, {"b\\ind", "bind", true}, {"b[\\i]nd", "bind", true},
		{"*policy", "maxmemory-policy", true}, {"*-*-*", "maxmemory-policy", false},
		{"[abc", "a", true}, {"**x", "ax", true}, {"a*b*c", "a--b--c", true}, {"a*b*c", "a--b--", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s, true); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func TestNotifyFlags(t *testing.T) {
	// Outputs checked against redis-server 7.0.15.
	cases := map[string]string{
		"KEA": "AKE", "Exg": "gxE", "Kmn": "nKm", "Ad": "A", "g$lshzxetd": "A", "g$lshzxet": "g$lshzxet",
		"EnmA": "AEm", "nmEKd": "dnKEm", "tne": "etn", "": "",
	}
	for in, want := range cases {
		f, ok := ParseNotifyFlags(in)
		if !ok || FormatNotifyFlags(f) != want {
			t.Errorf("%q -> %q, %v; want %q", in, FormatNotifyFlags(f), ok, want)
		}
	}
	if _, ok := ParseNotifyFlags("KQ"); ok {
		t.Error("Q accepted")
	}
}

func TestExpandProcTitle(t *testing.T) {
	vars := map[string]string{"title": "sard-server", "port": "6379"}
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"{title} {port}", "sard-server 6379", true},
		{"{{title}}", "{title}}", true},
		{"x}", "x}", true},
		{"{title", "", false},
		{"{nope}", "", false},
		{"{", "", false},
		{"  {title}  ", "sard-server", true},
	}
	for _, c := range cases {
		got, ok := ExpandProcTitle(c.in, vars)
		if ok != c.ok || got != c.want {
			t.Errorf("ExpandProcTitle(%q) = %q, %v", c.in, got, ok)
		}
	}
}

func TestIntRefFollowsSet(t *testing.T) {
	c := New()
	r := c.IntRef("hash-max-ziplist-entries") // an alias resolves to the same directive
	if r.Get() != 512 {
		t.Fatalf("default: %d", r.Get())
	}
	if err := c.Set([][2]string{{"hash-max-listpack-entries", "7"}}); err != nil {
		t.Fatal(err)
	}
	if r.Get() != 7 {
		t.Fatalf("after CONFIG SET: %d", r.Get())
	}
	c.OnApply("hz", func() error { return errors.New("refused") })
	if err := c.Set([][2]string{{"hash-max-listpack-entries", "9"}, {"hz", "20"}}); err == nil {
		t.Fatal("the failing hook should fail the SET")
	}
	if r.Get() != 7 {
		t.Fatalf("after a rolled-back SET: %d", r.Get())
	}
}
