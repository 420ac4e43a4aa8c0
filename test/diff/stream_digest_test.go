package diff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestStreamDigest builds the same random streams (explicit IDs, deletions, trims, small
// nodes) on sard and on redis-server and compares DEBUG DIGEST and DIGEST-VALUE, then the
// XINFO STREAM counters that depend on node layout.
func TestStreamDigest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers; skipped with -short")
	}
	redisSrv := testutil.StartRedis(t)
	sardSrv := testutil.StartSard(t)
	ctx := context.Background()
	clients := []*redis.Client{sardSrv.Client(), redisSrv.Client()}
	rng := rand.New(rand.NewPCG(7, 11))
	var cmds [][]any
	cmds = append(cmds, []any{"CONFIG", "SET", "stream-node-max-entries", "7"}, []any{"CONFIG", "SET", "stream-node-max-bytes", "300"})
	for k := range 5 {
		key := fmt.Sprintf("s%d", k)
		ms := 1
		for i := range 400 {
			ms += rng.IntN(3)
			id := fmt.Sprintf("%d-%d", ms, i)
			args := []any{"XADD", key, id}
			for f := range 1 + rng.IntN(3) {
				args = append(args, fmt.Sprintf("f%d", f*rng.IntN(2)), fmt.Sprint(rng.IntN(1000)))
			}
			cmds = append(cmds, args)
			switch rng.IntN(20) {
			case 0:
				cmds = append(cmds, []any{"XTRIM", key, "MAXLEN", "~", rng.IntN(300)})
			case 1:
				cmds = append(cmds, []any{"XDEL", key, fmt.Sprintf("%d-%d", ms-rng.IntN(5), i-rng.IntN(5))})
			case 2:
				cmds = append(cmds, []any{"XTRIM", key, "MINID", fmt.Sprintf("%d", ms-rng.IntN(50))})
			}
		}
	}
	cmds = append(cmds, []any{"PEXPIREAT", "s1", 4102444800000})
	for _, cl := range clients {
		for _, c := range cmds {
			cl.Do(ctx, c...)
		}
		cl.Do(ctx, "CONFIG", "SET", "stream-node-max-entries", "100")
		cl.Do(ctx, "CONFIG", "SET", "stream-node-max-bytes", "4096")
	}
	same := func(args ...any) {
		a, errA := clients[0].Do(ctx, args...).Result()
		b, errB := clients[1].Do(ctx, args...).Result()
		if fmt.Sprint(a, errA) != fmt.Sprint(b, errB) {
			t.Errorf("%v: sard %v %v, redis %v %v", args, a, errA, b, errB)
		}
	}
	same("DEBUG", "DIGEST")
	for k := range 5 {
		key := fmt.Sprintf("s%d", k)
		same("DEBUG", "DIGEST-VALUE", key)
		same("XINFO", "STREAM", key)
		same("XLEN", key)
	}
}
