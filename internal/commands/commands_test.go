package commands

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/resp"
)

func argv(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		if f == `""` {
			f = ""
		}
		out = append(out, []byte(f))
	}
	return out
}

func TestLookupIsCaseInsensitive(t *testing.T) {
	for _, name := range []string{"get", "GET", "GeT"} {
		if s := Lookup(name); s == nil || s.Name != "get" {
			t.Errorf("Lookup(%q) = %v", name, s)
		}
	}
	for _, name := range []string{"", "nosuch", "config|get", strings.Repeat("x", 100)} {
		if s := Lookup(name); s != nil {
			t.Errorf("Lookup(%q) = %s, want nil", name, s.Name)
		}
	}
	if s := LookupFull("CONFIG|Get"); s == nil || s.Name != "config|get" || s.Parent != Lookup("config") {
		t.Errorf("LookupFull(CONFIG|Get) = %v", s)
	}
	if s := Lookup("config").Sub("SET"); s == nil || s.Name != "config|set" || s.SubName() != "set" {
		t.Errorf("Sub(SET) = %v", s)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	upper, lower := []byte("HGETALL"), "hgetall"
	n := testing.AllocsPerRun(100, func() {
		if LookupBytes(upper) == nil || Lookup(lower) == nil || Lookup("HGETALL") == nil {
			t.Fatal("not found")
		}
		if Resolve([][]byte{[]byte("CLIENT"), []byte("Kill")}) == nil {
			t.Fatal("client|kill not found")
		}
	})
	if n != 0 {
		t.Errorf("lookups allocate %v times", n)
	}
}

func TestResolve(t *testing.T) {
	cases := map[string]string{
		"config get x":    "config|get",
		"CONFIG":          "config",
		"config nosuch":   "",
		"get k":           "get",
		"nosuch":          "",
		"object ENCODING": "object|encoding",
	}
	for in, want := range cases {
		s := Resolve(argv(in))
		got := ""
		if s != nil {
			got = s.Name
		}
		if got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLegacyKeyRange(t *testing.T) {
	cases := []struct {
		name              string
		first, last, step int
		movable           bool
	}{
		{"get", 1, 1, 1, false},
		{"mget", 1, -1, 1, false},
		{"mset", 1, -1, 2, false},
		{"rpoplpush", 1, 2, 1, false},
		{"xread", 0, 0, 0, true},
		{"eval", 0, 0, 0, true},
		{"sort", 1, 1, 1, true},
		{"migrate", 3, 3, 1, true},
		{"ping", 0, 0, 0, false},
		{"object|encoding", 2, 2, 1, false},
	}
	for _, c := range cases {
		s := LookupFull(c.name)
		if s.FirstKey() != c.first || s.LastKey() != c.last || s.Step() != c.step || (s.Flags&FlagMovableKeys != 0) != c.movable {
			t.Errorf("%s: (%d,%d,%d) movable=%v, want (%d,%d,%d) %v", c.name, s.FirstKey(), s.LastKey(), s.Step(),
				s.Flags&FlagMovableKeys != 0, c.first, c.last, c.step, c.movable)
		}
	}
}

// TestTableIsComplete checks what every entry must carry for COMMAND DOCS and the gatekeeper.
func TestTableIsComplete(t *testing.T) {
	if n := len(All()); n != 240 {
		t.Errorf("%d top-level commands, Redis 7.0 has 240", n)
	}
	seen := map[string]bool{}
	for _, s := range allSpecs() {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Name != strings.ToLower(s.Name) || s.Arity == 0 || s.Summary == "" || s.Group == "" || s.Since == "" {
			t.Errorf("%s: incomplete entry %+v", s.Name, s)
		}
		if s.ACL&(CatFast|CatSlow) == 0 {
			t.Errorf("%s: neither @fast nor @slow", s.Name)
		}
		if (s.Flags&FlagFast != 0) != (s.ACL&CatFast != 0) {
			t.Errorf("%s: fast flag and @fast disagree", s.Name)
		}
		if s.Flags&FlagWrite != 0 && s.ACL&CatWrite == 0 {
			t.Errorf("%s: write command without @write", s.Name)
		}
		if s.Parent != nil && !strings.HasPrefix(s.Name, s.Parent.Name+"|") {
			t.Errorf("%s: not named after its container %s", s.Name, s.Parent.Name)
		}
	}
	for name, proc := range getKeysProcs {
		if Lookup(name) == nil || proc == nil {
			t.Errorf("key procedure for unknown command %s", name)
		}
	}
}

func TestHiddenFlagsStayHidden(t *testing.T) {
	s := Lookup("eval")
	if s.Flags&FlagMayReplicate == 0 {
		t.Fatal("eval lacks may_replicate")
	}
	w := &resp.Writer{Proto: 2}
	WriteInfo(w, s)
	if bytes.Contains(w.Buf, []byte("may_replicate")) {
		t.Errorf("COMMAND INFO shows a hidden flag: %q", w.Buf)
	}
	if Lookup("debug").Flags&FlagProtected == 0 {
		t.Error("debug is not protected")
	}
}

func TestGetKeys(t *testing.T) {
	cases := []struct {
		call string
		keys []int
		err  error
	}{
		{"SET k v", []int{1}, nil},
		{"MSET a 1 b 2", []int{1, 3}, nil},
		{"MSET a 1 b", []int{1, 3}, nil},
		{"GET a b", nil, ErrGetKeysArity},
		{"PING x", nil, ErrNoKeyArgs},
		{"nosuch x", nil, ErrInvalidCommand},
		{"GET", nil, ErrGetKeysNoCommand},
		{"EVAL s 2 a b c", []int{3, 4}, nil},
		{"EVAL s 0", []int{}, nil},
		{"EVAL s 1x a", []int{3}, nil},
		{"ZUNIONSTORE d 2 a b WEIGHTS 1 2", []int{1, 3, 4}, nil},
		{"ZUNIONSTORE d 2x a b", []int{3, 4, 1}, nil},
		{"ZUNIONSTORE d 0 a", nil, ErrInvalidArgs},
		{"XREAD COUNT 2 STREAMS a b 0 0", []int{4, 5}, nil},
		{"XREAD BLOCK 0 STREAMS streams 0", []int{4}, nil},
		{"SORT k BY w GET # STORE d", []int{1, 7}, nil},
		{"SORT k STORE d1 STORE d2", []int{1, 5}, nil},
		{"GEORADIUS k 0 0 1 km STORE d1 STOREDIST d2", []int{1, 7, 9}, nil},
		{`MIGRATE h 1 "" 0 10 AUTH2 u keys KEYS a`, []int{10}, nil},
		{"MIGRATE h 1 k 0 10 KEYS a", nil, ErrInvalidArgs},
		{"LMPOP 2 a b LEFT", []int{2, 3}, nil},
		{"LMPOP 4294967297 a LEFT", []int{2}, nil},
		{"BLMPOP 0 2 a b RIGHT", []int{3, 4}, nil},
		{"OBJECT ENCODING k", []int{2}, nil},
		{"XGROUP CREATE s g $", []int{2}, nil},
		{"PUBLISH ch m", nil, ErrNoKeyArgs},
	}
	for _, c := range cases {
		keys, err := CommandGetKeys(argv(c.call))
		if err != c.err || !reflect.DeepEqual(keys, c.keys) {
			t.Errorf("GETKEYS %s = %v, %v; want %v, %v", c.call, keys, err, c.keys, c.err)
		}
	}
}

func TestGetKeysAndFlags(t *testing.T) {
	refs, err := CommandGetKeysAndFlags(argv("SORT k STORE d"))
	want := []KeyRef{{1, KeyRO | KeyAccess}, {3, KeyOW | KeyUpdate}}
	if err != nil || !reflect.DeepEqual(refs, want) {
		t.Errorf("SORT k STORE d = %v, %v", refs, err)
	}
	refs, _ = CommandGetKeysAndFlags(argv("SET k v GET"))
	if len(refs) != 1 || refs[0].Flags != KeyRW|KeyAccess|KeyUpdate {
		t.Errorf("SET k v GET = %v", refs)
	}
}

func TestWriteListFilters(t *testing.T) {
	w := &resp.Writer{Proto: 2}
	WriteList(w, func(name string) bool { return name == "get" || strings.HasPrefix(name, "config") }, ListFilter{})
	if got := string(w.Buf); got != "*7\r\n$6\r\nconfig\r\n$10\r\nconfig|get\r\n$11\r\nconfig|help\r\n"+
		"$16\r\nconfig|resetstat\r\n$14\r\nconfig|rewrite\r\n$10\r\nconfig|set\r\n$3\r\nget\r\n" {
		t.Errorf("filtered COMMAND LIST = %q", got)
	}
	w.Buf = w.Buf[:0]
	WriteList(w, nil, ListFilter{Kind: ListByACLCat, Arg: "nosuch"})
	if string(w.Buf) != "*0\r\n" {
		t.Errorf("unknown category lists %q", w.Buf)
	}
	if Count(func(string) bool { return false }) != 0 || Count(nil) != len(All()) {
		t.Error("Count ignores the filter")
	}
}

func TestWriteInfoFilteredHidesSubcommands(t *testing.T) {
	w := &resp.Writer{Proto: 3}
	WriteInfoFiltered(w, Lookup("config"), func(name string) bool { return name != "config|set" })
	if bytes.Contains(w.Buf, []byte("config|set")) || !bytes.Contains(w.Buf, []byte("config|get")) {
		t.Errorf("filter not applied: %q", w.Buf)
	}
	w.Buf = w.Buf[:0]
	WriteCommandInfo(w, argv("get nosuch"), func(name string) bool { return name != "get" })
	if string(w.Buf) != "*2\r\n_\r\n_\r\n" {
		t.Errorf("COMMAND INFO of filtered commands = %q", w.Buf)
	}
}

// FuzzGetKeys feeds arbitrary argument vectors: key extraction must never panic and must
// only return positions inside the arguments.
func FuzzGetKeys(f *testing.F) {
	for _, seed := range []string{"EVAL s 3 a", "ZUNIONSTORE d -5 a", "XREAD STREAMS", "SORT k LIMIT",
		"MIGRATE h 1 \x00 0 1 AUTH2", "LMPOP 99999999999999999999 a", "BITFIELD k GET", "GEORADIUS k 0 0 1 m STORE"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := argv(s)
		refs, err := CommandGetKeysAndFlags(args)
		if err != nil && refs != nil {
			t.Fatalf("%q: keys %v with error %v", s, refs, err)
		}
		for _, r := range refs {
			if r.Pos < 1 || r.Pos >= len(args) {
				t.Fatalf("%q: key position %d out of range", s, r.Pos)
			}
		}
	})
}
