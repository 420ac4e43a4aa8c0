package diff

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestZSetRandomDigest drives sard and redis-server through the same random sorted set
// workload, in both encodings and across conversions, comparing every reply byte for
// byte, then DEBUG DIGEST of the whole dataset and DEBUG DIGEST-VALUE of every key.
func TestZSetRandomDigest(t *testing.T) {
	oracle := testutil.StartRedis(t)
	subject := testutil.StartSard(t)
	rc, sc := oracle.Raw(), subject.Raw()
	do := func(args ...string) (string, string) {
		t.Helper()
		a, err := rc.Do(args...)
		if err != nil {
			t.Fatalf("redis %v: %v", args, err)
		}
		b, err := sc.Do(args...)
		if err != nil {
			t.Fatalf("sard %v: %v", args, err)
		}
		return string(a), string(b)
	}
	same := func(args ...string) {
		t.Helper()
		if a, b := do(args...); a != b {
			t.Fatalf("%v:\n redis %q\n sard  %q", args, a, b)
		}
	}
	defer same("CONFIG", "SET", "zset-max-listpack-entries", "128")
	rnd := rand.New(rand.NewPCG(7, 11))
	keys := []string{"z0", "z1", "z2", "z3"}
	member := func() string {
		if rnd.IntN(4) == 0 {
			return strconv.Itoa(rnd.IntN(40) - 5) // integer-looking members take listpack's int encoding
		}
		return "m" + strconv.Itoa(rnd.IntN(60))
	}
	score := func() string {
		switch rnd.IntN(10) {
		case 0:
			return "-0"
		case 1:
			return [...]string{"inf", "-inf", "+inf"}[rnd.IntN(3)]
		case 2:
			return strconv.FormatFloat(rnd.NormFloat64()*1e6, 'g', -1, 64)
		case 3:
			return "0.1"
		}
		return strconv.Itoa(rnd.IntN(20) - 5)
	}
	for round := 0; round < 3000; round++ {
		if round%500 == 0 {
			limit := []string{"128", "8", "0", "16", "3", "128"}[round/500]
			same("CONFIG", "SET", "zset-max-listpack-entries", limit)
		}
		k := keys[rnd.IntN(len(keys))]
		switch op := rnd.IntN(12); op {
		case 0, 1, 2:
			args := []string{"ZADD", k}
			if rnd.IntN(4) == 0 {
				args = append(args, []string{"NX", "XX", "GT", "LT", "CH"}[rnd.IntN(5)])
			}
			for n := rnd.IntN(4) + 1; n > 0; n-- {
				args = append(args, score(), member())
			}
			same(args...)
		case 3:
			same("ZINCRBY", k, score(), member())
		case 4:
			same("ZREM", k, member(), member())
		case 5:
			same([]string{"ZPOPMIN", "ZPOPMAX"}[rnd.IntN(2)], k, strconv.Itoa(rnd.IntN(3)))
		case 6:
			same("ZREMRANGEBYSCORE", k, "("+strconv.Itoa(rnd.IntN(10)-5), strconv.Itoa(rnd.IntN(10)))
		case 7:
			same("ZUNIONSTORE", k, "2", keys[rnd.IntN(4)], keys[rnd.IntN(4)], "WEIGHTS", score(), "1",
				"AGGREGATE", []string{"SUM", "MIN", "MAX"}[rnd.IntN(3)])
		case 8:
			same("ZRANGESTORE", k, keys[rnd.IntN(4)], strconv.Itoa(rnd.IntN(5)), strconv.Itoa(rnd.IntN(10)-3))
		case 9:
			same("ZRANGE", k, "0", "-1", "WITHSCORES")
			if a, b := do("ZSCAN", k, "0", "COUNT", "1000"); scanPairs(t, a) != scanPairs(t, b) {
				t.Fatalf("ZSCAN %s:\n redis %q\n sard  %q", k, a, b)
			}
		case 10:
			same("ZINTERSTORE", k, "2", keys[rnd.IntN(4)], keys[rnd.IntN(4)])
			same("ZRANK", k, member())
		case 11:
			same("ZRANGE", k, "-inf", "+inf", "BYSCORE", "LIMIT", strconv.Itoa(rnd.IntN(3)), "5", "WITHSCORES")
			same("ZDIFFSTORE", k, "2", keys[rnd.IntN(4)], keys[rnd.IntN(4)])
		}
		if round%100 == 99 {
			same("DEBUG", "DIGEST")
			for _, key := range keys {
				same("DEBUG", "DIGEST-VALUE", key)
				same("OBJECT", "ENCODING", key)
				same("ZCARD", key)
			}
		}
	}
	a, _ := do("DEBUG", "DIGEST")
	if a == "+0000000000000000000000000000000000000000\r\n" {
		t.Fatalf("the workload left the dataset empty: %s", fmt.Sprint(a))
	}
}

// scanPairs is a ZSCAN reply's cursor and member/score pairs in sorted order: a large
// set's pairs come in hash table order, which differs between servers.
func scanPairs(t *testing.T, raw string) string {
	_, top, err := testutil.SplitReply([]byte(raw))
	if err != nil || len(top) != 2 {
		return raw
	}
	_, elems, err := testutil.SplitReply(top[1])
	if err != nil {
		t.Fatalf("bad ZSCAN reply %q: %v", raw, err)
	}
	var pairs []string
	for i := 0; i+1 < len(elems); i += 2 {
		pairs = append(pairs, string(elems[i])+string(elems[i+1]))
	}
	sort.Strings(pairs)
	return string(top[0]) + strings.Join(pairs, "")
}
