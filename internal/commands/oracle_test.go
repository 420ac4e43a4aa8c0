package commands

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/resp"
	"github.com/sard-kv/sard/internal/testutil"
)

// oracle starts a real redis-server (the test is skipped with a reason when it is not
// installed) and returns a raw connection speaking proto.
func oracle(t *testing.T, proto int) *testutil.RawConn {
	t.Helper()
	srv := testutil.StartRedis(t)
	rc := srv.Raw()
	if proto == 3 {
		if _, err := rc.Do("HELLO", "3"); err != nil {
			t.Fatal(err)
		}
	}
	return rc
}

// pipeline sends every command then reads every reply, so thousands of calls stay fast.
func pipeline(t *testing.T, rc *testutil.RawConn, cmds [][]string) [][]byte {
	t.Helper()
	var buf []byte
	for _, c := range cmds {
		buf = append(buf, testutil.EncodeCommand(c...)...)
	}
	done := make(chan error, 1)
	go func() { done <- rc.Send(buf) }()
	out := make([][]byte, len(cmds))
	for i := range cmds {
		r, err := rc.ReadReply()
		if err != nil {
			t.Fatalf("reading reply to %q: %v", cmds[i], err)
		}
		out[i] = r
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out
}

func split(t *testing.T, raw []byte) ([]byte, [][]byte) {
	t.Helper()
	h, e, err := testutil.SplitReply(raw)
	if err != nil {
		t.Fatalf("splitting %q: %v", raw, err)
	}
	return h, e
}

// sortSubcommands rewrites one COMMAND INFO entry with its subcommand entries in name
// order: Redis lists them in its hash table's order, which changes with every start.
func sortSubcommands(t *testing.T, entry []byte) []byte {
	t.Helper()
	h, el := split(t, entry)
	if len(el) != 10 {
		return entry
	}
	sh, subs := split(t, el[9])
	sort.Slice(subs, func(i, j int) bool { return bytes.Compare(subs[i], subs[j]) < 0 })
	el[9] = append(append([]byte{}, sh...), bytes.Join(subs, nil)...)
	return append(append([]byte{}, h...), bytes.Join(el, nil)...)
}

func allSpecs() []*Spec {
	var out []*Spec
	for _, s := range All() {
		out = append(out, s)
		out = append(out, s.Subcommands...)
	}
	return out
}

func TestCommandInfoMatchesRedis(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			rc := oracle(t, proto)
			specs := allSpecs()
			var cmds [][]string
			for _, s := range specs {
				cmds = append(cmds, []string{"COMMAND", "INFO", s.Name})
			}
			replies := pipeline(t, rc, cmds)
			for i, s := range specs {
				w := &resp.Writer{Proto: proto}
				w.Array(1)
				WriteInfo(w, s)
				want := sortSubcommands(t, replies[i][4:]) // past "*1\r\n"
				got := sortSubcommands(t, w.Buf[4:])
				if !bytes.Equal(got, want) {
					t.Errorf("COMMAND INFO %s\nredis: %q\nsard:  %q", s.Name, want, got)
				}
			}
		})
	}
}

// TestCommandInfoSubcommandCase checks that names are case-insensitive, "CONFIG|GET" included.
func TestCommandInfoSubcommandCase(t *testing.T) {
	rc := oracle(t, 2)
	names := []string{"GET", "Config|Get", "nosuch", "config|nosuch", "get|x", "XINFO|STREAM"}
	args := append([]string{"COMMAND", "INFO"}, names...)
	want, err := rc.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	w := &resp.Writer{Proto: 2}
	var bnames [][]byte
	for _, n := range names {
		bnames = append(bnames, []byte(n))
	}
	WriteCommandInfo(w, bnames, nil)
	if !bytes.Equal(w.Buf, want) {
		t.Errorf("COMMAND INFO %v\nredis: %q\nsard:  %q", names, want, w.Buf)
	}
}

// TestEveryRedisCommandIsListed compares COMMAND LIST and COMMAND COUNT with the table.
func TestEveryRedisCommandIsListed(t *testing.T) {
	rc := oracle(t, 2)
	raw, err := rc.Do("COMMAND", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	_, el := split(t, raw)
	redis := map[string]bool{}
	for _, e := range el {
		redis[bulkText(e)] = true
	}
	ours := map[string]bool{}
	for _, s := range allSpecs() {
		ours[s.Name] = true
	}
	for n := range redis {
		if !ours[n] {
			t.Errorf("redis has %q, the table does not", n)
		}
	}
	for n := range ours {
		if !redis[n] {
			t.Errorf("the table has %q, redis does not", n)
		}
	}
	count, _ := rc.Do("COMMAND", "COUNT")
	if want := fmt.Sprintf(":%d\r\n", Count(nil)); string(count) != want {
		t.Errorf("COMMAND COUNT: redis %q, table %q", count, want)
	}
}

func bulkText(raw []byte) string {
	i := bytes.IndexByte(raw, '\n')
	return string(raw[i+1 : len(raw)-2])
}

// TestCommandListFiltersMatchRedis compares COMMAND LIST FILTERBY results as sets.
func TestCommandListFiltersMatchRedis(t *testing.T) {
	rc := oracle(t, 2)
	cases := []ListFilter{
		{Kind: ListByACLCat, Arg: "string"},
		{Kind: ListByACLCat, Arg: "DANGEROUS"},
		{Kind: ListByACLCat, Arg: "nosuchcat"},
		{Kind: ListByPattern, Arg: "x*"},
		{Kind: ListByPattern, Arg: "CONFIG|*"},
		{Kind: ListByPattern, Arg: "*get*"},
		{Kind: ListByModule, Arg: "json"},
	}
	kinds := map[ListFilterKind]string{ListByACLCat: "ACLCAT", ListByPattern: "PATTERN", ListByModule: "MODULE"}
	for _, lf := range cases {
		raw, err := rc.Do("COMMAND", "LIST", "FILTERBY", kinds[lf.Kind], lf.Arg)
		if err != nil {
			t.Fatal(err)
		}
		lf.Match = simpleGlob
		w := &resp.Writer{Proto: 2}
		WriteList(w, nil, lf)
		if a, b := sortedNames(t, raw), sortedNames(t, w.Buf); a != b {
			t.Errorf("COMMAND LIST FILTERBY %s %s\nredis: %s\nsard:  %s", kinds[lf.Kind], lf.Arg, a, b)
		}
	}
}

func sortedNames(t *testing.T, raw []byte) string {
	_, el := split(t, raw)
	var names []string
	for _, e := range el {
		names = append(names, bulkText(e))
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// simpleGlob is a case-insensitive glob with only '*', enough for the patterns above; the
// server passes its full Redis glob.
func simpleGlob(pattern, name string) bool {
	pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// docFields splits a COMMAND DOCS entry map into its fields, dropping the ones we do not
// reproduce (history, arguments: Redis's own documentation text).
func docFields(t *testing.T, raw []byte) (keys []string, vals map[string][]byte) {
	_, el := split(t, raw)
	vals = map[string][]byte{}
	for i := 0; i+1 < len(el); i += 2 {
		k := bulkText(el[i])
		if k == "history" || k == "arguments" {
			continue
		}
		keys = append(keys, k)
		vals[k] = el[i+1]
	}
	return keys, vals
}

func compareDocs(t *testing.T, name string, want, got []byte) {
	t.Helper()
	wk, wv := docFields(t, want)
	gk, gv := docFields(t, got)
	if strings.Join(wk, ",") != strings.Join(gk, ",") {
		t.Errorf("COMMAND DOCS %s fields: redis %v, sard %v", name, wk, gk)
		return
	}
	for _, k := range wk {
		switch k {
		case "summary":
			if wv[k][0] != gv[k][0] || len(gv[k]) < 8 {
				t.Errorf("COMMAND DOCS %s summary: redis %q, sard %q", name, wv[k], gv[k])
			}
		case "subcommands":
			_, ws := split(t, wv[k])
			_, gs := split(t, gv[k])
			wm, gm := map[string][]byte{}, map[string][]byte{}
			for i := 0; i+1 < len(ws); i += 2 {
				wm[bulkText(ws[i])] = ws[i+1]
			}
			for i := 0; i+1 < len(gs); i += 2 {
				gm[bulkText(gs[i])] = gs[i+1]
			}
			if len(wm) != len(gm) {
				t.Errorf("COMMAND DOCS %s: redis has %d subcommands, sard %d", name, len(wm), len(gm))
			}
			for sub, d := range wm {
				if gm[sub] == nil {
					t.Errorf("COMMAND DOCS %s: no subcommand %s", name, sub)
					continue
				}
				compareDocs(t, sub, d, gm[sub])
			}
		default:
			if !bytes.Equal(wv[k], gv[k]) {
				t.Errorf("COMMAND DOCS %s %s: redis %q, sard %q", name, k, wv[k], gv[k])
			}
		}
	}
}

func TestCommandDocsShapeMatchesRedis(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			rc := oracle(t, proto)
			specs := allSpecs()
			var cmds [][]string
			for _, s := range specs {
				cmds = append(cmds, []string{"COMMAND", "DOCS", s.Name})
			}
			replies := pipeline(t, rc, cmds)
			for i, s := range specs {
				w := &resp.Writer{Proto: proto}
				WriteCommandDocs(w, [][]byte{[]byte(s.Name)}, nil)
				_, want := split(t, replies[i])
				_, got := split(t, w.Buf)
				if len(want) != 2 || len(got) != 2 || !bytes.Equal(want[0], got[0]) {
					t.Errorf("COMMAND DOCS %s: redis %q, sard %q", s.Name, replies[i], w.Buf)
					continue
				}
				compareDocs(t, s.Name, want[1], got[1])
			}
		})
	}
}

// encodeGetKeys renders our COMMAND GETKEYS (or GETKEYSANDFLAGS) answer as Redis would
// send it in RESP2.
func encodeGetKeys(args [][]byte, withFlags bool) []byte {
	w := &resp.Writer{Proto: 2}
	if !withFlags {
		keys, err := CommandGetKeys(args)
		if err != nil {
			w.Error(err.Error())
			return w.Buf
		}
		w.Array(len(keys))
		for _, k := range keys {
			w.Bulk(args[k])
		}
		return w.Buf
	}
	refs, err := CommandGetKeysAndFlags(args)
	if err != nil {
		w.Error(strings.Replace(err.Error(), "command|getkeys'", "command|getkeysandflags'", 1))
		return w.Buf
	}
	w.Array(len(refs))
	for _, r := range refs {
		w.Array(2)
		w.Bulk(args[r.Pos])
		names := r.Flags.Names()
		w.Set(len(names))
		for _, n := range names {
			w.Status(n)
		}
	}
	return w.Buf
}

func compareGetKeys(t *testing.T, rc *testutil.RawConn, calls [][]string) {
	t.Helper()
	for _, sub := range []string{"GETKEYS", "GETKEYSANDFLAGS"} {
		var cmds [][]string
		for _, c := range calls {
			cmds = append(cmds, append([]string{"COMMAND", sub}, c...))
		}
		replies := pipeline(t, rc, cmds)
		for i, c := range calls {
			args := make([][]byte, len(c))
			for j := range c {
				args[j] = []byte(c[j])
			}
			if got := encodeGetKeys(args, sub != "GETKEYS"); !bytes.Equal(got, replies[i]) {
				t.Errorf("COMMAND %s %q\nredis: %q\nsard:  %q", sub, c, replies[i], got)
			}
		}
	}
}

func TestGetKeysMatchesRedis(t *testing.T) {
	rc := oracle(t, 2)
	calls := [][]string{
		{"SET", "k", "v"}, {"set", "k", "v", "GET"}, {"SET", "k"}, {"GET", "k"},
		{"MSET", "a", "1", "b", "2"}, {"MSET", "a", "1", "b"}, {"MGET", "a", "b", "c"},
		{"DEL", "a", "b"}, {"PING"}, {"nosuch", "x"}, {"BITFIELD", "k", "GET", "u8", "0"},
		{"EVAL", "return 1", "2", "a", "b", "c"}, {"EVAL", "s", "0"}, {"EVAL", "s", "3", "a"},
		{"EVAL", "s", "-1", "a"}, {"EVAL", "s", "1x", "a"}, {"EVALSHA", "abc", "1", "k"},
		{"EVAL_RO", "s", "1", "k"}, {"FCALL", "f", "2", "a", "b"}, {"FCALL_RO", "f", "0"},
		{"ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}, {"ZUNIONSTORE", "d", "0", "a"},
		{"ZUNIONSTORE", "d", "5", "a"}, {"ZUNIONSTORE", "d", "2x", "a", "b"},
		{"ZINTERSTORE", "d", "1", "a"}, {"ZDIFFSTORE", "d", "2", "a", "b"},
		{"ZUNION", "2", "a", "b", "WITHSCORES"}, {"ZINTER", "3", "a", "b"}, {"ZDIFF", "1", "a"},
		{"ZINTERCARD", "2", "a", "b", "LIMIT", "1"}, {"SINTERCARD", "2", "a", "b"},
		{"XREAD", "STREAMS", "a", "b", "0", "0"}, {"XREAD", "COUNT", "2", "STREAMS", "a", "0"},
		{"XREAD", "STREAMS", "a", "b", "0"}, {"XREAD", "BLOCK", "0", "STREAMS", "streams", "0"},
		{"XREAD", "COUNT", "1", "a", "b"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"}, {"XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", "b", ">", ">"},
		{"SORT", "k"}, {"SORT", "k", "STORE", "d"}, {"SORT", "k", "BY", "w_*", "GET", "#", "STORE", "d"},
		{"SORT", "k", "STORE", "d1", "STORE", "d2"}, {"SORT", "k", "LIMIT", "0", "1", "STORE", "d"},
		{"SORT", "k", "GET", "store", "x"}, {"SORT", "k", "STORE"}, {"SORT_RO", "k", "BY", "x"},
		{"GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"}, {"GEORADIUS", "k", "0", "0", "1", "km", "STOREDIST", "d"},
		{"GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d1", "STOREDIST", "d2"}, {"GEORADIUS", "k", "0", "0", "1", "km"},
		{"GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "d"}, {"GEORADIUS_RO", "k", "0", "0", "1", "km"},
		{"GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "m", "BYRADIUS", "1", "km"},
		{"MIGRATE", "h", "1", "k", "0", "10"}, {"MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"},
		{"MIGRATE", "h", "1", "", "0", "10", "COPY", "REPLACE", "AUTH", "pw", "KEYS", "a"},
		{"MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"}, {"MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "keys", "KEYS", "a"},
		{"MIGRATE", "h", "1", "", "0", "10"},
		{"LMPOP", "2", "a", "b", "LEFT"}, {"LMPOP", "0", "a", "LEFT"}, {"LMPOP", "3", "a", "LEFT"},
		{"BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"}, {"ZMPOP", "1", "z", "MIN"}, {"BZMPOP", "1.5", "1", "z", "MAX"},
		{"OBJECT", "ENCODING", "k"}, {"OBJECT", "HELP"}, {"OBJECT"}, {"OBJECT", "nosuch", "k"},
		{"XGROUP", "CREATE", "s", "g", "$"}, {"XGROUP", "CREATECONSUMER", "s", "g", "c"}, {"XINFO", "STREAM", "s", "FULL"},
		{"MEMORY", "USAGE", "k"}, {"CONFIG", "GET", "x"}, {"CLIENT", "LIST"},
		{"PUBLISH", "ch", "m"}, {"SPUBLISH", "ch", "m"}, {"SSUBSCRIBE", "a", "b"}, {"SUBSCRIBE", "a"},
		{"BLPOP", "a", "b", "0"}, {"BRPOPLPUSH", "a", "b", "0"}, {"LMOVE", "a", "b", "LEFT", "RIGHT"},
		{"RENAME", "a", "b"}, {"COPY", "a", "b", "DB", "1"}, {"BITOP", "AND", "d", "a", "b"},
		{"PFCOUNT", "a", "b"}, {"PFMERGE", "d", "a"}, {"SMOVE", "a", "b", "m"}, {"WATCH", "a", "b"},
		{"EXISTS", "a"}, {"TOUCH", "a", "b"}, {"XADD", "s", "*", "f", "v"}, {"LCS", "a", "b"},
		{"LMPOP", "4294967297", "a", "LEFT"}, {"LMPOP", "01", "a", "LEFT"}, {"LMPOP", "+1", "a", "LEFT"},
		{"SET", "k", "v", "EX", "1", "get"}, {"BITFIELD", "k", "INCRBY", "u8", "0", "1"},
		{"GETEX", "k", "PERSIST"}, {"RESTORE", "k", "0", "x"}, {"DUMP", "k"}, {"SUNIONSTORE", "d", "a", "b"},
	}
	compareGetKeys(t, rc, calls)
}

// TestGetKeysFuzzAgainstRedis sends every command and subcommand random argument vectors
// drawn from words that steer the key searches (numbers, keywords, empty strings).
func TestGetKeysFuzzAgainstRedis(t *testing.T) {
	rc := oracle(t, 2)
	words := []string{"a", "b", "c", "0", "1", "2", "3", "-1", "1x", "", "STREAMS", "STORE",
		"STOREDIST", "KEYS", "GET", "BY", "LIMIT", "COUNT", "BLOCK", "GROUP", "AUTH", "AUTH2", "NOACK"}
	rng := rand.New(rand.NewSource(7))
	var calls [][]string
	for _, s := range allSpecs() {
		if s.IsContainer() {
			continue
		}
		head := strings.Split(s.Name, "|")
		for i := 0; i < 150; i++ {
			n := rng.Intn(12)
			call := append([]string{}, head...)
			for j := 0; j < n; j++ {
				call = append(call, words[rng.Intn(len(words))])
			}
			calls = append(calls, call)
		}
	}
	compareGetKeys(t, rc, calls)
}
