package server

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestSetHashWithGoRedis drives the set and hash commands through go-redis's typed helpers
// over RESP2 and RESP3, so both reply shapes (sets, maps, nested HRANDFIELD pairs) parse.
func TestSetHashWithGoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdb := srv.Client(func(o *redis.Options) { o.Protocol = proto })
			defer rdb.Close()
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if n := rdb.SAdd(ctx, "a", 1, 2, 3, "x").Val(); n != 4 {
				t.Errorf("SADD: %d", n)
			}
			rdb.SAdd(ctx, "b", 2, 3, 4)
			inter := rdb.SInter(ctx, "a", "b").Val()
			slices.Sort(inter)
			if !slices.Equal(inter, []string{"2", "3"}) {
				t.Errorf("SINTER: %q", inter)
			}
			if n := rdb.SInterCard(ctx, 1, "a", "b").Val(); n != 1 {
				t.Errorf("SINTERCARD LIMIT 1: %d", n)
			}
			if ms := rdb.SMIsMember(ctx, "a", "x", "y").Val(); !slices.Equal(ms, []bool{true, false}) {
				t.Errorf("SMISMEMBER: %v", ms)
			}
			if m := rdb.SRandMemberN(ctx, "a", -10).Val(); len(m) != 10 {
				t.Errorf("SRANDMEMBER -10: %q", m)
			}
			if p := rdb.SPopN(ctx, "b", 2).Val(); len(p) != 2 {
				t.Errorf("SPOP 2: %q", p)
			}
			keys, cursor, err := rdb.SScan(ctx, "a", 0, "*", 100).Result()
			if err != nil || cursor != 0 || len(keys) != 4 {
				t.Errorf("SSCAN: %q %d %v", keys, cursor, err)
			}

			rdb.HSet(ctx, "h", map[string]any{"f": "v", "n": 1})
			if all := rdb.HGetAll(ctx, "h").Val(); all["f"] != "v" || all["n"] != "1" || len(all) != 2 {
				t.Errorf("HGETALL: %v", all)
			}
			if f := rdb.HIncrByFloat(ctx, "h", "n", 0.5).Val(); f != 1.5 {
				t.Errorf("HINCRBYFLOAT: %v", f)
			}
			if _, err := rdb.HGet(ctx, "h", "nofield").Result(); err != redis.Nil {
				t.Errorf("HGET of a missing field: %v", err)
			}
			kv, err := rdb.HRandFieldWithValues(ctx, "h", -3).Result()
			if err != nil || len(kv) != 3 || (kv[0].Key != "f" && kv[0].Key != "n") {
				t.Errorf("HRANDFIELD -3 WITHVALUES: %v %v", kv, err)
			}
			fv, cursor, err := rdb.HScan(ctx, "h", 0, "f*", 10).Result()
			if err != nil || cursor != 0 || !slices.Equal(fv, []string{"f", "v"}) {
				t.Errorf("HSCAN: %q %d %v", fv, cursor, err)
			}
			if err := rdb.HGet(ctx, "a", "f").Err(); err == nil || err.Error() != errWrongType {
				t.Errorf("HGET on a set: %v", err)
			}
		})
	}
}
