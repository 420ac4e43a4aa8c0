package server

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestKeysWithGoRedis drives the string and key commands through go-redis against the built
// sard-server, checking that the client library's typed helpers parse every reply.
func TestKeysWithGoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdb := srv.Client(func(o *redis.Options) { o.Protocol = proto })
			defer rdb.Close()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(rdb.FlushAll(ctx).Err())

			must(rdb.SetArgs(ctx, "k", "v", redis.SetArgs{TTL: time.Minute, Mode: "NX"}).Err())
			if ttl := rdb.TTL(ctx, "k").Val(); ttl < 59*time.Second || ttl > time.Minute {
				t.Errorf("TTL after SET EX 60: %v", ttl)
			}
			if old, err := rdb.SetArgs(ctx, "k", "w", redis.SetArgs{Get: true, KeepTTL: true}).Result(); err != nil || old != "v" {
				t.Errorf("SET GET: %q, %v", old, err)
			}
			if v, err := rdb.GetEx(ctx, "k", 0).Result(); err != nil || v != "w" {
				t.Errorf("GETEX: %q, %v", v, err)
			}
			if _, err := rdb.Get(ctx, "nokey").Result(); err != redis.Nil {
				t.Errorf("GET of a missing key: %v, want redis.Nil", err)
			}
			if n := rdb.IncrBy(ctx, "n", 41).Val(); n != 41 {
				t.Errorf("INCRBY: %d", n)
			}
			if f := rdb.IncrByFloat(ctx, "n", 1.5).Val(); f != 42.5 {
				t.Errorf("INCRBYFLOAT: %v", f)
			}
			if ok := rdb.ExpireNX(ctx, "n", time.Hour).Val(); !ok {
				t.Error("EXPIRE NX on a key without TTL failed")
			}
			if ok := rdb.ExpireGT(ctx, "n", time.Minute).Val(); ok {
				t.Error("EXPIRE GT with a smaller TTL succeeded")
			}
			if ok := rdb.Copy(ctx, "n", "n2", 1, false).Val(); ok != 1 {
				t.Errorf("COPY DB 1: %d", ok)
			}
			lcs, err := rdb.LCS(ctx, &redis.LCSQuery{Key1: "a", Key2: "b"}).Result()
			if err != nil || lcs.MatchString != "" {
				t.Errorf("LCS of missing keys: %+v, %v", lcs, err)
			}
			must(rdb.MSet(ctx, "a", "ohmytext", "b", "mynewtext").Err())
			lcs, err = rdb.LCS(ctx, &redis.LCSQuery{Key1: "a", Key2: "b", Idx: true, WithMatchLen: true}).Result()
			if err != nil || lcs.Len != 6 || len(lcs.Matches) != 2 || lcs.Matches[0].MatchLen != 4 {
				t.Errorf("LCS IDX: %+v, %v", lcs, err)
			}
			if enc := rdb.ObjectEncoding(ctx, "a").Val(); enc != "embstr" {
				t.Errorf("OBJECT ENCODING: %q", enc)
			}
			if typ := rdb.Type(ctx, "a").Val(); typ != "string" {
				t.Errorf("TYPE: %q", typ)
			}

			want := map[string]bool{}
			for i := range 300 {
				k := fmt.Sprintf("scan:%d", i)
				want[k] = true
				must(rdb.Set(ctx, k, i, 0).Err())
			}
			var got []string
			it := rdb.Scan(ctx, 0, "scan:*", 7).Iterator()
			for it.Next(ctx) {
				got = append(got, it.Val())
			}
			must(it.Err())
			seen := map[string]bool{}
			for _, k := range got {
				seen[k] = true
			}
			if len(seen) != len(want) {
				t.Errorf("SCAN iterator saw %d distinct keys, want %d", len(seen), len(want))
			}
			keys := rdb.Keys(ctx, "scan:1?").Val()
			sort.Strings(keys)
			if len(keys) != 10 || keys[0] != "scan:10" {
				t.Errorf("KEYS scan:1?: %v", keys)
			}
			if n := rdb.Del(ctx, "scan:1", "scan:2", "nokey").Val(); n != 2 {
				t.Errorf("DEL: %d", n)
			}
			if rk := rdb.RandomKey(ctx).Val(); rk == "" {
				t.Error("RANDOMKEY returned nothing")
			}
			if n := rdb.DBSize(ctx).Val(); n != 302 {
				t.Errorf("DBSIZE: %d", n)
			}
			must(rdb.Do(ctx, "SWAPDB", 0, 1).Err())
			if v := rdb.Get(ctx, "n2").Val(); v != "42.5" {
				t.Errorf("GET after SWAPDB: %q", v)
			}
			if mem := rdb.MemoryUsage(ctx, "n2").Val(); mem <= 0 {
				t.Errorf("MEMORY USAGE: %d", mem)
			}
		})
	}
}
