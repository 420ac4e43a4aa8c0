package server

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// parseScanReply splits a SCAN reply into its cursor and keys.
func parseScanReply(t *testing.T, r string) (string, []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r, "\r\n"), "\r\n")
	if len(lines) < 4 || lines[0] != "*2" {
		t.Fatalf("bad SCAN reply %q", r)
	}
	cursor := lines[2]
	n, err := strconv.Atoi(strings.TrimPrefix(lines[3], "*"))
	if err != nil || len(lines) != 4+2*n {
		t.Fatalf("bad SCAN reply %q", r)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = lines[5+2*i]
	}
	return cursor, keys
}

// TestGenericScanGuarantee checks SCAN's promise: a key present for the whole iteration is
// returned at least once, while other keys are added and removed between calls so the table
// grows, shrinks and rehashes under the cursor.
func TestGenericScanGuarantee(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			e := newKVEnv(t)
			const stable = 500
			for i := range stable {
				e.do("SET", "s:"+strconv.Itoa(i), "v")
			}
			seen := map[string]bool{}
			temp := 0
			cursor := "0"
			for calls := 0; ; calls++ {
				if calls > 100000 {
					t.Fatal("SCAN did not finish")
				}
				args := []string{"SCAN", cursor, "COUNT", strconv.Itoa(1 + rng.IntN(20))}
				if calls%3 == 0 {
					args = append(args, "MATCH", "s:*")
				}
				next, keys := parseScanReply(t, e.do(args...))
				for _, k := range keys {
					if calls%3 == 0 && !strings.HasPrefix(k, "s:") {
						t.Fatalf("MATCH s:* returned %q", k)
					}
					seen[k] = true
				}
				cursor = next
				if cursor == "0" {
					break
				}
				// First phase: grow to many times the stable size; then remove the temporary
				// keys again, which shrinks the table below its fill threshold.
				switch {
				case calls < 40:
					for range 100 {
						e.do("SET", "t:"+strconv.Itoa(temp), "v")
						temp++
					}
				case temp > 0:
					for range 150 {
						if temp == 0 {
							break
						}
						temp--
						e.do("DEL", "t:"+strconv.Itoa(temp))
					}
				}
			}
			for i := range stable {
				if !seen["s:"+strconv.Itoa(i)] {
					t.Fatalf("key s:%d present during the whole scan was never returned", i)
				}
			}
		})
	}
}

func TestGenericScanCountAndFilters(t *testing.T) {
	e := newKVEnv(t)
	for i := range 200 {
		e.do("SET", "k"+strconv.Itoa(i), "v")
	}
	// One call with a small COUNT returns roughly COUNT keys, not the whole keyspace.
	cur, keys := parseScanReply(t, e.do("SCAN", "0", "COUNT", "5"))
	if cur == "0" || len(keys) == 0 || len(keys) > 30 {
		t.Errorf("SCAN 0 COUNT 5: cursor %s, %d keys", cur, len(keys))
	}
	// A pattern that matches nothing still advances the cursor.
	cur, keys = parseScanReply(t, e.do("SCAN", "0", "COUNT", "5", "MATCH", "nomatch"))
	if cur == "0" || len(keys) != 0 {
		t.Errorf("SCAN MATCH nomatch: cursor %s, keys %v", cur, keys)
	}
	e.expect("-ERR invalid cursor\r\n", "SCAN", " 1")
	e.expect("-ERR invalid cursor\r\n", "SCAN", "18446744073709551616")
	e.expect("-ERR syntax error\r\n", "SCAN", "0", "COUNT", "0")
	e.expect("-ERR value is not an integer or out of range\r\n", "SCAN", "0", "COUNT", "x")
	e.expect("-ERR syntax error\r\n", "SCAN", "0", "MATCH")

	// Expired keys are filtered and deleted (propagated as DEL) by SCAN; KEYS only hides them.
	e2 := newKVEnv(t)
	e2.do("SET", "live", "v")
	e2.do("SET", "dead", "v", "PX", "10")
	e2.now += 11
	e2.stream.take(t)
	e2.expect("*1\r\n$4\r\nlive\r\n", "KEYS", "*")
	e2.expectStream()
	e2.expect(kvInt(2), "DBSIZE")
	e2.expect("*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlive\r\n", "SCAN", "0", "COUNT", "100")
	e2.expectStream("DEL dead")
	e2.expect(kvInt(1), "DBSIZE")
	e2.expect("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN", "0", "TYPE", "hash")
	e2.expect("*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlive\r\n", "SCAN", "0", "TYPE", "STRING")
}

func TestGenericExpirePropagation(t *testing.T) {
	e := newKVEnv(t)
	now := e.now
	e.do("SET", "k", "v")
	e.expect(kvInt(1), "EXPIRE", "k", "100")
	e.expect(kvInt(0), "PEXPIRE", "k", "100", "NX")
	e.expect(kvInt(1), "PEXPIRE", "k", "200000", "gt")
	e.expect(kvInt(0), "EXPIRE", "k", "10", "GT")
	e.expect(kvInt(1), "EXPIREAT", "k", "4000000000", "XX")
	e.expect(kvInt(1), "PEXPIREAT", "k", "4000000000001")
	e.expect(kvInt(4000000000), "EXPIRETIME", "k")
	e.expect(kvInt(4000000000001), "PEXPIRETIME", "k")
	e.expect(kvInt(1), "PERSIST", "k")
	e.expect(kvInt(0), "PERSIST", "k")
	e.expect(kvInt(-1), "TTL", "k")
	e.expect(kvInt(0), "EXPIRE", "k", "10", "XX")
	e.expect(kvInt(0), "EXPIRE", "k", "10", "GT") // no TTL is infinite: GT never wins
	e.expect(kvInt(1), "EXPIRE", "k", "10", "LT")
	e.expect(kvInt(1), "PEXPIRE", "k", "0")
	e.expect(kvInt(-2), "TTL", "k")
	e.expect(kvInt(0), "EXPIRE", "nokey", "10")
	e.expectStream("SELECT 0", "SET k v",
		"PEXPIREAT k "+kvMs(now+100000),
		"PEXPIREAT k "+kvMs(now+200000)+" gt",
		"PEXPIREAT k 4000000000000 XX",
		"PEXPIREAT k 4000000000001",
		"PERSIST k",
		"PEXPIREAT k "+kvMs(now+10000)+" LT",
		"DEL k")

	inv := "-ERR invalid expire time in '%s' command\r\n"
	e.expect(strings.Replace(inv, "%s", "expire", 1), "EXPIRE", "k", "9223372036854775")
	e.expect(strings.Replace(inv, "%s", "expire", 1), "EXPIRE", "k", "-9223372036854776")
	e.expect(strings.Replace(inv, "%s", "pexpire", 1), "PEXPIRE", "k", "9223372036854775807")
	e.expect(strings.Replace(inv, "%s", "expireat", 1), "EXPIREAT", "k", "9223372036854775807")
	e.expect("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "NX", "LT")
	e.expect("-ERR GT and LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "GT", "LT")
	e.expect("-ERR Unsupported option foo\r\n", "EXPIRE", "k", "x", "foo")

	// TTL rounds to the nearest second.
	e.do("SET", "r", "v", "PX", "1500")
	e.expect(kvInt(2), "TTL", "r")
	e.expect(kvInt(1500), "PTTL", "r")
	e.now += 1001
	e.expect(kvInt(0), "TTL", "r")
	e.expect(kvInt(499), "PTTL", "r")
}

func TestGenericRenameCopyMove(t *testing.T) {
	e := newKVEnv(t)
	e.do("SET", "a", "1", "EX", "100")
	e.stream.take(t)
	e.expect("+OK\r\n", "RENAME", "a", "a")
	e.expect(kvInt(0), "RENAMENX", "a", "a")
	e.expect("-ERR no such key\r\n", "RENAME", "nokey", "x")
	e.expectStream()
	e.expect("+OK\r\n", "RENAME", "a", "b")
	e.expect(kvInt(100), "TTL", "b")
	e.do("SET", "c", "2")
	e.expect(kvInt(0), "RENAMENX", "b", "c")
	// An expired destination does not block RENAMENX.
	e.do("SET", "d", "3", "PX", "5")
	dAt := e.now + 5
	e.now += 6
	e.expect(kvInt(1), "RENAMENX", "c", "d")
	e.expectStream("RENAME a b", "SET c 2", "SET d 3 PXAT "+kvMs(dAt), "DEL d", "RENAMENX c d")

	e.expect(kvInt(1), "COPY", "b", "b2")
	e.expect(kvInt(100), "TTL", "b2")
	e.expect(kvInt(0), "COPY", "b", "d")
	e.expect(kvInt(1), "COPY", "b", "d", "REPLACE")
	e.expect(kvBulk("1"), "GET", "d")
	e.expect(kvInt(1), "COPY", "b", "b", "DB", "2")
	e.expect("-"+errSameObject+"\r\n", "COPY", "b", "b")
	e.expect("-"+errDBIndex+"\r\n", "COPY", "b", "x", "DB", "16")
	e.expect("-"+errIntRange+"\r\n", "COPY", "b", "x", "DB", "99999999999")
	e.expect("-ERR syntax error\r\n", "COPY", "b", "x", "DB")

	e.expect(kvInt(1), "MOVE", "b2", "3")
	e.expect(kvInt(0), "EXISTS", "b2")
	e.expect(kvInt(0), "MOVE", "b", "2") // already in DB 2
	e.expect("-"+errSameObject+"\r\n", "MOVE", "b", "0")
	e.expectStream("COPY b b2", "COPY b d REPLACE", "COPY b b DB 2", "MOVE b2 3")
	e.do("SELECT", "3")
	e.expect(kvBulk("1"), "GET", "b2")
	e.expect(kvInt(100), "TTL", "b2")
	e.expect(kvBulk("int"), "OBJECT", "ENCODING", "b2")
	e.do("SELECT", "2")
	e.expect(kvBulk("1"), "GET", "b")
}

func TestGenericRandomKeySkipsExpired(t *testing.T) {
	e := newKVEnv(t)
	e.expect(kvNull, "RANDOMKEY")
	for i := range 20 {
		e.do("SET", "x"+strconv.Itoa(i), "v", "PX", "10")
	}
	e.do("SET", "live", "v")
	e.now += 20
	e.stream.take(t)
	e.expect(kvBulk("live"), "RANDOMKEY")
	e.do("DEL", "live")
	for range 20 {
		e.do("RANDOMKEY")
	}
	e.expect(kvInt(0), "DBSIZE")
	got := e.stream.take(t)
	if len(got) != 21 { // 20 expiries and one DEL
		t.Errorf("propagated %d commands, want 21: %v", len(got), got)
	}
}

func TestGenericObjectAndMemory(t *testing.T) {
	e := newKVEnv(t)
	e.do("SET", "k", "v")
	e.now += 10_000
	e.expect(kvInt(10), "OBJECT", "IDLETIME", "k")
	// TTL, TYPE, EXISTS and OBJECT read without touching the access time.
	e.do("TTL", "k")
	e.do("TYPE", "k")
	e.do("EXISTS", "k")
	e.expect(kvInt(10), "OBJECT", "IDLETIME", "k")
	e.do("GET", "k")
	e.expect(kvInt(0), "OBJECT", "IDLETIME", "k")
	e.expect("-"+errLFUNotSelected+"\r\n", "OBJECT", "FREQ", "k")
	e.expect(kvNull, "OBJECT", "FREQ", "nokey")
	if err := e.s.cfg.Set([][2]string{{"maxmemory-policy", "allkeys-lfu"}}); err != nil {
		t.Fatal(err)
	}
	e.expect("-"+errLFUSelected+"\r\n", "OBJECT", "IDLETIME", "k")
	if r := e.do("OBJECT", "FREQ", "k"); r[0] != ':' {
		t.Errorf("OBJECT FREQ under LFU: %q", r)
	}
	help := e.do("OBJECT", "HELP")
	if !strings.HasPrefix(help, "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n") {
		t.Errorf("OBJECT HELP: %q", help)
	}
	if help := e.do("MEMORY", "HELP"); !strings.HasPrefix(help, "*14\r\n+MEMORY <subcommand>") {
		t.Errorf("MEMORY HELP: %q", help)
	}
	if r := e.do("MEMORY", "USAGE", "k"); r[0] != ':' || r == ":0\r\n" {
		t.Errorf("MEMORY USAGE: %q", r)
	}
	e.do("SET", "big", strings.Repeat("x", 10000))
	r := e.do("MEMORY", "USAGE", "big", "SAMPLES", "0")
	if n, _ := strconv.Atoi(strings.Trim(r, ":\r\n")); n < 10000 {
		t.Errorf("MEMORY USAGE of a 10000-byte value: %q", r)
	}
	e.expect(kvNull, "MEMORY", "USAGE", "nokey")
	e.expect("-ERR syntax error\r\n", "MEMORY", "USAGE", "k", "SAMPLES", "-1")
	e.expect("-ERR syntax error\r\n", "MEMORY", "USAGE", "k", "SAMPLES")
	e.expect("-ERR value is not an integer or out of range\r\n", "MEMORY", "USAGE", "k", "SAMPLES", "x")
	if r := e.do("MEMORY", "DOCTOR"); !strings.Contains(r, "Sam") {
		t.Errorf("MEMORY DOCTOR: %q", r)
	}
	if r := e.do("MEMORY", "STATS"); !strings.HasPrefix(r, "*") || !strings.Contains(r, "keys.count") {
		t.Errorf("MEMORY STATS: %q", r)
	}
	e.expect("+OK\r\n", "MEMORY", "PURGE")
}
