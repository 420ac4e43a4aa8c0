package server

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

// debugPair starts sard and redis-server with DEBUG enabled.
func debugPair(t *testing.T) (sard, redis *testutil.Server) {
	t.Helper()
	redis = testutil.StartRedis(t)
	sard = testutil.StartSard(t, "--enable-debug-command", "yes")
	return sard, redis
}

// TestDebugMatchesRedis sends the same DEBUG commands to both servers over RESP2 and RESP3
// and compares the replies byte for byte; DEBUG OBJECT is compared with its address masked.
func TestDebugMatchesRedis(t *testing.T) {
	sard, redis := debugPair(t)
	types := []string{"string", "integer", "double", "bignum", "null", "array", "set", "map",
		"attrib", "push", "verbatim", "true", "false", "nosuch", "STRING"}
	var script [][]string
	for _, typ := range types {
		script = append(script, []string{"DEBUG", "PROTOCOL", typ})
	}
	script = append(script,
		[]string{"DEBUG"}, []string{"DEBUG", "nosuch"}, []string{"DEBUG", "PROTOCOL"},
		[]string{"DEBUG", "OBJECT"}, []string{"DEBUG", "OBJECT", "nokey"},
		[]string{"DEBUG", "DIGEST", "x"}, []string{"DEBUG", "DIGEST"}, []string{"DEBUG", "DIGEST-VALUE"},
		[]string{"DEBUG", "SLEEP"}, []string{"DEBUG", "SLEEP", "0"}, []string{"DEBUG", "SLEEP", "0.01"},
		[]string{"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, []string{"DEBUG", "SET-ACTIVE-EXPIRE", "1"},
		[]string{"DEBUG", "SET-ACTIVE-EXPIRE"},
		[]string{"DEBUG", "POPULATE", "-1"}, []string{"DEBUG", "POPULATE", "x"},
		[]string{"DEBUG", "POPULATE", "2", "p", "-1"}, []string{"DEBUG", "POPULATE", "1", "a", "1", "x"},
		[]string{"DEBUG", "POPULATE", "5"}, []string{"DEBUG", "POPULATE", "3", "big", "60"},
		[]string{"DEBUG", "POPULATE", "2", "pad", "3"},
		[]string{"GET", "key:4"}, []string{"GET", "big:2"}, []string{"GET", "pad:1"},
		[]string{"OBJECT", "ENCODING", "key:0"}, []string{"OBJECT", "ENCODING", "big:0"},
		[]string{"DBSIZE"},
		[]string{"SET", "key:1", "keep"}, []string{"DEBUG", "POPULATE", "3"}, []string{"GET", "key:1"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1kb"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5G"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1"},
		[]string{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"},
		[]string{"DEBUG", "CHANGE-REPL-ID"}, []string{"DEBUG", "CHANGE-REPL-ID", "x"},
		[]string{"DEBUG", "LOG", "hello"}, []string{"DEBUG", "ERROR", "ERR custom error"},
		[]string{"DEBUG", "ERROR", "a", "b"},
		[]string{"SET", "s", "hello"}, []string{"SET", "i", "12"}, []string{"SET", "big", "123456"},
		[]string{"SET", "neg", "-70000"}, []string{"SET", "huge", "12345678901"},
		[]string{"SET", "long", "this string is longer than twenty bytes? no"},
		[]string{"EXPIRE", "s", "1000"},
		[]string{"DEBUG", "DIGEST"},
		[]string{"DEBUG", "DIGEST-VALUE", "s", "i", "nokey", "big"},
		[]string{"DEBUG", "OBJECT", "s"}, []string{"DEBUG", "OBJECT", "i"}, []string{"DEBUG", "OBJECT", "big"},
		[]string{"DEBUG", "OBJECT", "neg"}, []string{"DEBUG", "OBJECT", "huge"}, []string{"DEBUG", "OBJECT", "key:0"},
		[]string{"DEBUG", "OBJECT", "pad:0"},
	)
	addr := regexp.MustCompile(`at:0x[0-9a-f]+ |lru:\d+ lru_seconds_idle:\d+`)
	for _, proto := range []string{"2", "3"} {
		conns := map[string]*testutil.RawConn{"sard": sard.Raw(), "redis": redis.Raw()}
		for _, rc := range conns {
			rc.Do("FLUSHALL")
			rc.Do("HELLO", proto)
		}
		for _, cmd := range script {
			replies := map[string]string{}
			for name, rc := range conns {
				raw, err := rc.Do(cmd...)
				if err != nil {
					t.Fatalf("%s: %v: %v", name, cmd, err)
				}
				replies[name] = addr.ReplaceAllString(string(raw), "?")
			}
			if replies["sard"] != replies["redis"] {
				t.Errorf("RESP%s %q:\n  sard:  %q\n  redis: %q", proto, cmd, replies["sard"], replies["redis"])
			}
		}
	}
}

// TestDebugRefused checks the enable-debug-command gate and its exact text.
func TestDebugRefused(t *testing.T) {
	redis := testutil.StartRedis(t, "--enable-debug-command", "no")
	sard := testutil.StartSard(t, "--enable-debug-command", "no")
	want, _ := redis.Raw().Do("DEBUG", "PROTOCOL", "string")
	got, _ := sard.Raw().Do("DEBUG", "PROTOCOL", "string")
	if string(got) != string(want) || len(want) < 40 {
		t.Errorf("refusal:\n  sard:  %q\n  redis: %q", got, want)
	}
	local := testutil.StartSard(t, "--enable-debug-command", "local")
	if got, _ := local.Raw().Do("DEBUG", "PROTOCOL", "integer"); string(got) != ":12345\r\n" {
		t.Errorf("local client refused with enable-debug-command local: %q", got)
	}
}

// TestDebugDigestRandomDataset writes one random string dataset, with TTLs, in several
// databases, to sard and redis-server, and compares DEBUG DIGEST and DIGEST-VALUE.
func TestDebugDigestRandomDataset(t *testing.T) {
	sard, redis := debugPair(t)
	rng := rand.New(rand.NewPCG(7, 11))
	conns := []*testutil.RawConn{sard.Raw(), redis.Raw()}
	var keys []string
	for i := 0; i < 600; i++ {
		db := strconv.Itoa(rng.IntN(4))
		key := fmt.Sprintf("k%d", rng.IntN(300))
		var val string
		switch rng.IntN(4) {
		case 0:
			val = strconv.FormatInt(rng.Int64N(1<<40)-1<<39, 10)
		case 1:
			val = ""
		case 2:
			b := make([]byte, rng.IntN(100))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			val = string(b)
		default:
			val = fmt.Sprintf("value-%d", rng.IntN(1000))
		}
		cmds := [][]string{{"SELECT", db}, {"SET", key, val}}
		switch rng.IntN(4) {
		case 0:
			cmds = append(cmds, []string{"EXPIRE", key, strconv.Itoa(1000 + rng.IntN(1000))})
		case 1:
			cmds = append(cmds, []string{"APPEND", key, "tail"})
		case 2:
			cmds = append(cmds, []string{"DEL", fmt.Sprintf("k%d", rng.IntN(300))})
		}
		for _, rc := range conns {
			for _, c := range cmds {
				if _, err := rc.Do(c...); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i%50 == 0 {
			keys = append(keys, key)
		}
	}
	var digests [2]string
	for i, rc := range conns {
		rc.Do("SELECT", "1")
		d, _ := rc.Do("DEBUG", "DIGEST")
		v, _ := rc.Do(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
		digests[i] = string(d) + string(v)
	}
	if digests[0] != digests[1] || len(digests[0]) < 43 {
		t.Errorf("digests differ:\n  sard:  %q\n  redis: %q", digests[0], digests[1])
	}
	if digests[0][:43] == "+0000000000000000000000000000000000000000\r\n" {
		t.Errorf("dataset digest is zero")
	}
}

func TestRDBStringLen(t *testing.T) {
	for v, want := range map[string]int{"": 1, "a": 2, "12": 2, "-128": 2, "128": 3, "-32769": 5,
		"2147483647": 5, "2147483648": 11, "012": 4, "+1": 3, " 1": 3} {
		if got := rdbStringLen([]byte(v)); got != want {
			t.Errorf("rdbStringLen(%q) = %d, want %d", v, got, want)
		}
	}
	if got := rdbStringLen(make([]byte, 64)); got != 66 {
		t.Errorf("64 bytes: %d", got)
	}
}
