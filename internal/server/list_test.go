package server

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sard-kv/sard/internal/testutil"
)

// TestListMatchesRedis applies the same random list commands to sard and redis-server,
// under several node sizes and compression depths, and compares every reply, then DEBUG
// DIGEST, DEBUG DIGEST-VALUE and DEBUG OBJECT's quicklist figures (node count, average
// fill, uncompressed size, serialized length), which only agree if the node layout does.
func TestListMatchesRedis(t *testing.T) {
	sard, redisSrv := debugPair(t)
	sc := testutil.DialRaw(t, sard.Addr)
	rc := testutil.DialRaw(t, redisSrv.Addr)
	defer sc.Close()
	defer rc.Close()
	both := func(args ...string) []byte {
		t.Helper()
		a, err := sc.Do(args...)
		if err != nil {
			t.Fatalf("sard %v: %v", args, err)
		}
		b, err := rc.Do(args...)
		if err != nil {
			t.Fatalf("redis %v: %v", args, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%q:\nsard:  %q\nredis: %q", args, a, b)
		}
		return a
	}
	mask := regexp.MustCompile(`Value at:\S+ |lru:\d+ lru_seconds_idle:\d+ `)
	r := rand.New(rand.NewPCG(11, 12))
	keys := []string{"l0", "l1", "l2", "l3"}
	elem := func() string {
		switch r.IntN(5) {
		case 0:
			return strconv.Itoa(r.IntN(300) - 100)
		case 1:
			return fmt.Sprintf("v%d", r.IntN(30))
		case 2:
			return string(bytes.Repeat([]byte{byte('a' + r.IntN(3))}, r.IntN(400)))
		}
		return fmt.Sprintf("element:%d:%s", r.IntN(50), bytes.Repeat([]byte("xy"), r.IntN(40)))
	}
	dir := func() string { return []string{"LEFT", "RIGHT"}[r.IntN(2)] }
	for _, cfg := range [][2]string{{"3", "0"}, {"-1", "1"}, {"5", "2"}, {"-2", "0"}, {"128", "3"}} {
		both("FLUSHALL")
		both("CONFIG", "SET", "list-max-listpack-size", cfg[0])
		both("CONFIG", "SET", "list-compress-depth", cfg[1])
		for step := 0; step < 1500; step++ {
			k := keys[r.IntN(len(keys))]
			n := strconv.Itoa(r.IntN(12) - 3)
			switch r.IntN(16) {
			case 0, 1, 2:
				both("RPUSH", k, elem(), elem(), elem())
			case 3, 4:
				both("LPUSH", k, elem(), elem())
			case 5:
				both("LPOP", k, n)
			case 6:
				both("RPOP", k)
			case 7:
				both("LINSERT", k, []string{"BEFORE", "AFTER"}[r.IntN(2)], elem(), elem())
			case 8:
				both("LREM", k, n, elem())
			case 9:
				both("LSET", k, n, elem())
			case 10:
				both("LTRIM", k, n, strconv.Itoa(r.IntN(80)-10))
			case 11:
				both("LMOVE", k, keys[r.IntN(len(keys))], dir(), dir())
			case 12:
				both("LMPOP", "2", k, keys[r.IntN(len(keys))], dir(), "COUNT", strconv.Itoa(1+r.IntN(5)))
			case 13:
				both("LRANGE", k, n, strconv.Itoa(r.IntN(100)-20))
			case 14:
				both("LPOS", k, elem(), "RANK", []string{"1", "-1", "2", "-2"}[r.IntN(4)], "COUNT", strconv.Itoa(r.IntN(3)))
			case 15:
				both("LINDEX", k, n)
			}
			if step%100 == 99 {
				both("DEBUG", "DIGEST")
				both("DEBUG", "DIGEST-VALUE", "l0", "l1", "l2", "l3")
				for _, k := range keys {
					a, _ := sc.Do("DEBUG", "OBJECT", k)
					b, _ := rc.Do("DEBUG", "OBJECT", k)
					if ma, mb := mask.ReplaceAll(a, nil), mask.ReplaceAll(b, nil); !bytes.Equal(ma, mb) {
						t.Fatalf("config %v step %d: DEBUG OBJECT %s\nsard:  %s\nredis: %s", cfg, step, k, ma, mb)
					}
				}
			}
		}
	}
	both("CONFIG", "SET", "list-max-listpack-size", "-2")
	both("CONFIG", "SET", "list-compress-depth", "0")
}

// TestListGoRedis drives the list commands through go-redis.
func TestListGoRedis(t *testing.T) {
	srv := testutil.StartSard(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if n := rdb.RPush(ctx, "l", "a", "b", "c", 1, 2).Val(); n != 5 {
		t.Fatalf("rpush %d", n)
	}
	if v := rdb.LRange(ctx, "l", 0, -1).Val(); fmt.Sprint(v) != "[a b c 1 2]" {
		t.Fatalf("lrange %v", v)
	}
	if v := rdb.LPopCount(ctx, "l", 2).Val(); fmt.Sprint(v) != "[a b]" {
		t.Fatalf("lpop count %v", v)
	}
	if v := rdb.LMove(ctx, "l", "m", "RIGHT", "LEFT").Val(); v != "2" {
		t.Fatalf("lmove %q", v)
	}
	if v := rdb.LPos(ctx, "l", "1", redis.LPosArgs{Rank: -1}).Val(); v != 1 {
		t.Fatalf("lpos %d", v)
	}
	key, vals, err := rdb.LMPop(ctx, "right", 5, "nolist", "l").Result()
	if err != nil || key != "l" || fmt.Sprint(vals) != "[1 c]" {
		t.Fatalf("lmpop %q %v %v", key, vals, err)
	}
	if rdb.Exists(ctx, "l").Val() != 0 {
		t.Fatalf("emptied list still exists")
	}
	if err := rdb.LSet(ctx, "nolist", 0, "x").Err(); err == nil || err.Error() != "ERR no such key" {
		t.Fatalf("lset on missing key: %v", err)
	}
	if enc := rdb.ObjectEncoding(ctx, "m").Val(); enc != "quicklist" {
		t.Fatalf("encoding %q", enc)
	}
}

func BenchmarkListPushPop(b *testing.B) {
	srv := testutil.StartSard(b)
	rc := testutil.DialRaw(b, srv.Addr)
	defer rc.Close()
	push := testutil.EncodeCommand("LPUSH", "bench", "some-value")
	pop := testutil.EncodeCommand("RPOP", "bench")
	for b.Loop() {
		rc.Send(push)
		rc.ReadReply()
		rc.Send(pop)
		rc.ReadReply()
	}
}
