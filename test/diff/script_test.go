package diff

import (
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"SET k v", []string{"SET", "k", "v"}},
		{"  GET   k  ", []string{"GET", "k"}},
		{`SET k ""`, []string{"SET", "k", ""}},
		{`SET k ''`, []string{"SET", "k", ""}},
		{`SET "a b" "c\r\n\t\x41\\\"d"`, []string{"SET", "a b", "c\r\n\tA\\\"d"}},
		{`SET k "\xzz"`, []string{"SET", "k", "xzz"}},
		{`SET k 'it\'s \n raw'`, []string{"SET", "k", `it's \n raw`}},
		{`ab"c d"`, []string{"abc d"}},
		{`ECHO "\x00\xff"`, []string{"ECHO", "\x00\xff"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`SET "k`, `SET 'k`, `SET "k"v`, `SET 'k'v`, `SET k "\"`} {
		if got, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) = %q, want an error", bad, got)
		}
	}
}

func TestQuoteArgRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOf(rapid.SliceOf(rapid.Byte())).Draw(t, "args")
		args := make([]string, len(raw))
		for i, b := range raw {
			args[i] = string(b)
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = QuoteArg(a)
		}
		got, err := SplitArgs(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("SplitArgs: %v", err)
		}
		if len(args) == 0 && got == nil {
			return
		}
		if !reflect.DeepEqual(got, args) {
			t.Fatalf("round trip of %q gave %q", args, got)
		}
	})
}

func TestParseScript(t *testing.T) {
	src := `# a comment
SET k v
  # indented comment

@ignore TIME
@sorted KEYS *
@type RANDOMKEY
@match ':\d+\r\n' PTTL k
@resp3 @sorted SMEMBERS s
!sleep 15
!reset
!resp2only
HGETALL h
!end
!raw "PING\r\n"
!send "*1\r\n$4\r\nPING\r\n"
!read
!reconnect
`
	steps, err := ParseScript("x.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		line  int
		mode  Mode
		proto int
		cmd   string
	}
	var got []summary
	for _, s := range steps {
		cmd := s.Command()
		switch s.Kind {
		case Sleep:
			cmd = "sleep " + s.Pause.String()
		case Reset:
			cmd = "reset"
		case Reconnect:
			cmd = "reconnect"
		}
		got = append(got, summary{s.Line, s.Mode, s.Proto, cmd})
	}
	want := []summary{
		{2, Exact, 0, "SET k v"},
		{5, Ignore, 0, "TIME"},
		{6, Sorted, 0, "KEYS *"},
		{7, Type, 0, "RANDOMKEY"},
		{8, Match, 0, "PTTL k"},
		{9, Sorted, 3, "SMEMBERS s"},
		{10, Exact, 0, "sleep 15ms"},
		{11, Exact, 0, "reset"},
		{13, Exact, 2, "HGETALL h"},
		{15, Exact, 0, `(raw) "PING\r\n"`},
		{16, Exact, 0, `(raw) "*1\r\n$4\r\nPING\r\n"`},
		{17, Exact, 0, "(reading one more reply)"},
		{18, Exact, 0, "reconnect"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseScript:\n got %v\nwant %v", got, want)
	}
	if !steps[4].Pattern.MatchString(":123\r\n") || steps[4].Pattern.MatchString(":123\r\n:1\r\n") {
		t.Fatal("@match pattern is not anchored as documented")
	}

	for _, bad := range []string{
		"!sleep", "!sleep x", "!sleep 0", "!bogus", "!resp2only\nGET k", "@nope GET k",
		"@ignore", "@ignore @type GET k", "@match", "@match ( GET k", `SET "k`,
		"!resp3only\n@resp2 GET k\n!end",
		"!resp2only\n!resp3only\n!end", "!reset now", "!raw", `!raw ""`, "!raw a b", `!send "x`, "!read 1",
	} {
		if _, err := ParseScript("bad.txt", []byte(bad)); err == nil {
			t.Errorf("ParseScript(%q) succeeded, want an error", bad)
		} else if !strings.HasPrefix(err.Error(), "bad.txt") {
			t.Errorf("ParseScript(%q) error %q does not name the file", bad, err)
		}
	}
}

func TestCompare(t *testing.T) {
	steps, err := ParseScript("c.txt", []byte("GET k\n@sorted KEYS *\n@type RANDOMKEY\n@match ':\\d+\\r\\n' TTL k\n@ignore TIME\n"))
	if err != nil {
		t.Fatal(err)
	}
	exact, sorted, typ, match, ignore := steps[0], steps[1], steps[2], steps[3], steps[4]
	tests := []struct {
		st        Step
		want, got string
		ok        bool
	}{
		{exact, "$1\r\nv\r\n", "$1\r\nv\r\n", true},
		{exact, "$1\r\nv\r\n", "+v\r\n", false},
		{exact, "$-1\r\n", "_\r\n", false},
		{sorted, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", true},
		{sorted, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\na\r\n$1\r\nc\r\n", false},
		{sorted, "*2\r\n$1\r\n0\r\n*2\r\n:1\r\n:2\r\n", "*2\r\n$1\r\n0\r\n*2\r\n:2\r\n:1\r\n", true},
		{sorted, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n", true},
		{sorted, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+a\r\n:2\r\n+b\r\n:1\r\n", false},
		{sorted, "~1\r\n+a\r\n", "*1\r\n+a\r\n", false},
		{typ, "$1\r\nx\r\n", "$1\r\ny\r\n", true},
		{typ, "$1\r\nx\r\n", "$-1\r\n", true},
		{typ, "$1\r\nx\r\n", "-ERR\r\n", false},
		{match, ":5\r\n", ":99\r\n", true},
		{match, ":5\r\n", ":-1\r\n", false},
		{ignore, "*2\r\n", "-ERR nope\r\n", true},
	}
	for _, tt := range tests {
		ok, why := Compare(tt.st, []byte(tt.want), []byte(tt.got))
		if ok != tt.ok {
			t.Errorf("Compare(%s, %q, %q) = %v (%s), want %v", tt.st.Command(), tt.want, tt.got, ok, why, tt.ok)
		}
	}
}
