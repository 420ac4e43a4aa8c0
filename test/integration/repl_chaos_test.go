package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestReplChaos runs a write load over every data type, with expiring keys, from several
// clients against a sard master with two sard replicas, while the replicas are killed
// (SIGKILL) and restarted, frozen (SIGSTOP/SIGCONT) and have their links cut from either
// side at random; the master switches between disk and socket full syncs meanwhile. At the
// end every replica's DEBUG DIGEST must equal the master's.
//
// SARD_CHAOS=60s sets how long the chaos lasts (4s by default; -short skips the default run).
func TestReplChaos(t *testing.T) {
	dur := 4 * time.Second
	if v := os.Getenv("SARD_CHAOS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SARD_CHAOS=%q: %v", v, err)
		}
		dur = d
	} else if testing.Short() {
		t.Skip("the chaos run takes several seconds; -short skips it (SARD_CHAOS=4s runs it anyway)")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SARD_CHAOS_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("chaos for %v, seed %d (SARD_CHAOS_SEED)", dur, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	master := testutil.StartSard(t, "--save", "", "--repl-backlog-size", "16mb", "--repl-diskless-sync-delay", "0",
		"--repl-timeout", "10", "--hz", "50")
	replicaArgs := [][]string{
		{"--repl-diskless-load", "swapdb", "--save", ""},
		{"--repl-diskless-load", "disabled", "--save", ""},
	}
	var replicas []*testutil.Server
	for _, a := range replicaArgs {
		args := append(append([]string{}, a...), "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
		replicas = append(replicas, testutil.StartSard(t, args...))
	}
	ctx := context.Background()
	mc := master.Client()

	// The write load.
	var stop atomic.Bool
	var writes, failures atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w+2)))
			clients := make([]*redis.Client, 3)
			for db := range clients {
				clients[db] = master.Client(func(o *redis.Options) { o.DB = db; o.PoolSize = 1 })
				defer clients[db].Close()
			}
			for !stop.Load() {
				c := clients[r.IntN(len(clients))]
				if err := chaosOp(ctx, r, c); err != nil && isConnError(err) {
					failures.Add(1)
					time.Sleep(10 * time.Millisecond)
				}
				writes.Add(1)
			}
		}()
	}

	// The chaos.
	var actions []string
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
		i := rng.IntN(len(replicas))
		rep := replicas[i]
		var act string
		switch rng.IntN(6) {
		case 0:
			act = fmt.Sprintf("kill -9 replica %d", i)
			rep.Kill()
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			if err := rep.TryStart(); err != nil {
				t.Fatal(err)
			}
		case 1:
			act = "CLIENT KILL TYPE replica on the master"
			mc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica")
		case 2:
			d := time.Duration(100+rng.IntN(2500)) * time.Millisecond
			act = fmt.Sprintf("SIGSTOP replica %d for %v", i, d)
			rep.Cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(d)
			rep.Cmd.Process.Signal(syscall.SIGCONT)
		case 3:
			act = fmt.Sprintf("CLIENT KILL TYPE master on replica %d", i)
			c := rep.Client(func(o *redis.Options) { o.ReadTimeout = time.Second })
			c.Do(ctx, "CLIENT", "KILL", "TYPE", "master")
			c.Close()
		case 4:
			v := []string{"yes", "no"}[rng.IntN(2)]
			act = "repl-diskless-sync " + v
			mc.ConfigSet(ctx, "repl-diskless-sync", v)
		case 5:
			act = "SIGSTOP master for 300ms"
			master.Cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(300 * time.Millisecond)
			master.Cmd.Process.Signal(syscall.SIGCONT)
		}
		actions = append(actions, act)
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d chaos actions, %d commands sent (%d connection errors)", len(actions), writes.Load(), failures.Load())

	// Freeze the master's dataset (no more expiry), then wait for every replica to reach
	// its offset and compare.
	if err := mc.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
		t.Fatal(err)
	}
	moff := func() string { return chaosInfo(t, mc, "replication", "master_repl_offset") }
	want := moff()
	for i, rep := range replicas {
		rc := rep.Client()
		defer rc.Close()
		ok := testutil.Poll(60*time.Second, func() bool {
			want = moff()
			return chaosInfo(t, rc, "replication", "master_link_status") == "up" &&
				chaosInfo(t, rc, "replication", "slave_repl_offset") == want
		})
		if !ok {
			t.Fatalf("replica %d did not catch up: link %s, offset %s, master at %s\nlast actions: %v",
				i, chaosInfo(t, rc, "replication", "master_link_status"), chaosInfo(t, rc, "replication", "slave_repl_offset"), want, lastN(actions, 10))
		}
		md, rd := mc.Do(ctx, "DEBUG", "DIGEST").Val(), rc.Do(ctx, "DEBUG", "DIGEST").Val()
		if md != rd || md == strings.Repeat("0", 40) {
			t.Logf("keys that differ between the master and replica %d:\n%s", i, chaosDiff(ctx, master, rep))
			t.Fatalf("replica %d digest %v, master %v (keys: master %d, replica %d)\nlast actions: %v",
				i, rd, md, mc.DBSize(ctx).Val(), rc.DBSize(ctx).Val(), lastN(actions, 10))
		}
	}
	t.Logf("master: sync_full:%s sync_partial_ok:%s sync_partial_err:%s, %d keys in db 0",
		chaosInfo(t, mc, "stats", "sync_full"), chaosInfo(t, mc, "stats", "sync_partial_ok"),
		chaosInfo(t, mc, "stats", "sync_partial_err"), mc.DBSize(ctx).Val())
}

// chaosDiff lists, for every database the load writes to, the keys whose value
// (DEBUG DIGEST-VALUE) or absolute expiry (PEXPIRETIME) differ between the
// master and the replica, with their DUMP payloads and expiry times on both sides.
func chaosDiff(ctx context.Context, master, replica *testutil.Server) string {
	var b strings.Builder
	for db := 0; db < 3; db++ {
		mc := master.Client(func(o *redis.Options) { o.DB = db })
		rc := replica.Client(func(o *redis.Options) { o.DB = db })
		keys := map[string]bool{}
		for _, c := range []*redis.Client{mc, rc} {
			it := c.Scan(ctx, 0, "*", 1000).Iterator()
			for it.Next(ctx) {
				keys[it.Val()] = true
			}
		}
		for k := range keys {
			md := fmt.Sprint(mc.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Val())
			rd := fmt.Sprint(rc.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Val())
			// DEBUG DIGEST covers the absolute expiry time to the millisecond.
			mt := mc.Do(ctx, "PEXPIRETIME", k).Val()
			rt := rc.Do(ctx, "PEXPIRETIME", k).Val()
			if md == rd && mt == rt {
				continue
			}
			fmt.Fprintf(&b, "db %d key %q: digest master %s replica %s; pexpiretime master %v replica %v\n  master dump %q\n  replica dump %q\n",
				db, k, md, rd, mt, rt, mc.Dump(ctx, k).Val(), rc.Dump(ctx, k).Val())
		}
		mc.Close()
		rc.Close()
	}
	if b.Len() == 0 {
		return "(none found)"
	}
	return b.String()
}

func lastN(s []string, n int) []string { return s[max(0, len(s)-n):] }

func chaosInfo(t *testing.T, c *redis.Client, section, field string) string {
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

func isConnError(err error) bool {
	if err == nil || err == redis.Nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "connection") || strings.Contains(msg, "EOF") || strings.Contains(msg, "timeout")
}

// chaosOp sends one random write (or a read that makes the master expire a key).
func chaosOp(ctx context.Context, r *rand.Rand, c *redis.Client) error {
	k := func(kind string) string { return fmt.Sprintf("%s:%d", kind, r.IntN(300)) }
	n := func() int { return r.IntN(1000) }
	var args []any
	switch r.IntN(34) {
	case 0:
		args = []any{"SET", k("s"), n()}
	case 1:
		args = []any{"SET", k("s"), n(), "PX", 50 + r.IntN(3000)}
	case 2:
		args = []any{"INCRBY", k("s"), n()}
	case 3:
		args = []any{"APPEND", k("s"), "ab"}
	case 4:
		args = []any{"INCRBYFLOAT", k("f"), "1.5"}
	case 5:
		args = []any{"EXPIRE", k("s"), 1 + r.IntN(3)}
	case 6:
		args = []any{"PEXPIRE", k("l"), 100 + r.IntN(3000)}
	case 7:
		args = []any{"GET", k("s")} // expires lazily on the master
	case 8:
		args = []any{"RPUSH", k("l"), n(), n()}
	case 9:
		args = []any{"LPOP", k("l")}
	case 10:
		args = []any{"LMOVE", k("l"), k("l"), "LEFT", "RIGHT"}
	case 11:
		args = []any{"SADD", k("set"), n(), n(), "m" + strconv.Itoa(n())}
	case 12:
		args = []any{"SPOP", k("set")}
	case 13:
		args = []any{"SINTERSTORE", k("set"), k("set"), k("set")}
	case 14:
		args = []any{"HSET", k("h"), "f" + strconv.Itoa(r.IntN(20)), n()}
	case 15:
		args = []any{"HINCRBYFLOAT", k("h"), "x", "0.25"}
	case 16:
		args = []any{"HDEL", k("h"), "f" + strconv.Itoa(r.IntN(20))}
	case 17:
		args = []any{"ZADD", k("z"), n(), "m" + strconv.Itoa(r.IntN(50))}
	case 18:
		args = []any{"ZINCRBY", k("z"), 2, "m" + strconv.Itoa(r.IntN(50))}
	case 19:
		args = []any{"ZPOPMIN", k("z")}
	case 20:
		args = []any{"ZUNIONSTORE", k("z"), 2, k("z"), k("z")}
	case 21:
		args = []any{"XADD", k("x"), "MAXLEN", "~", 50, "*", "f", n()}
	case 22:
		args = []any{"XTRIM", k("x"), "MAXLEN", 10}
	case 23:
		args = []any{"PFADD", k("hll"), n(), n()}
	case 24:
		args = []any{"SETRANGE", k("s"), r.IntN(20), "xyz"}
	case 25:
		args = []any{"GETDEL", k("s")}
	case 26:
		args = []any{"DEL", k("s"), k("l"), k("h")}
	case 27:
		args = []any{"COPY", k("h"), k("h"), "REPLACE"}
	case 28:
		args = []any{"RENAME", k("z"), k("z")}
	case 29:
		args = []any{"EVAL", "redis.call('incr', KEYS[1]); return redis.call('spop', KEYS[2])", 2, k("s"), k("set")}
	case 30:
		args = []any{"SETBIT", k("b"), r.IntN(2000), 1}
	case 31:
		args = []any{"GEOADD", k("g"), 13.361389, 38.115556, "m" + strconv.Itoa(r.IntN(20))}
	case 32:
		pipe := c.TxPipeline()
		pipe.Incr(ctx, k("s"))
		pipe.LPush(ctx, k("l"), n())
		pipe.Expire(ctx, k("l"), time.Duration(1+r.IntN(3))*time.Second)
		_, err := pipe.Exec(ctx)
		return err
	case 33:
		if r.IntN(50) == 0 {
			args = []any{"FLUSHDB"}
		} else {
			args = []any{"SORT", k("l"), "LIMIT", 0, 5, "STORE", k("l")}
		}
	}
	return c.Do(ctx, args...).Err()
}

// TestReplLateExpireKeepsKey: a replica that applies a PEXPIREAT after its time has passed
// (it lagged behind its master) must still set the expiry and keep the key, as Redis's
// replicas do, and wait for the master's DEL; deleting the key at once makes the master's
// next write to it (an APPEND that keeps the TTL) create a different key on the replica.
func TestReplLateExpireKeepsKey(t *testing.T) {
	master := testutil.StartSard(t, "--save", "")
	replica := testutil.StartSard(t, "--save", "", "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	ctx := context.Background()
	mc, rc := master.Client(), replica.Client()
	defer mc.Close()
	defer rc.Close()
	if err := mc.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
		t.Fatal(err)
	}
	synced := func() bool {
		return chaosInfo(t, rc, "replication", "master_link_status") == "up" &&
			chaosInfo(t, rc, "replication", "slave_repl_offset") == chaosInfo(t, mc, "replication", "master_repl_offset")
	}
	if !testutil.Poll(10*time.Second, synced) {
		t.Fatal("replica did not sync")
	}
	// The replica is frozen while the master sets a short TTL and writes to the key again.
	replica.Cmd.Process.Signal(syscall.SIGSTOP)
	mc.Set(ctx, "k", "v", 0)
	mc.PExpire(ctx, "k", 100*time.Millisecond)
	mc.Append(ctx, "k", "x")
	time.Sleep(300 * time.Millisecond)
	replica.Cmd.Process.Signal(syscall.SIGCONT)
	if !testutil.Poll(10*time.Second, synced) {
		t.Fatal("replica did not catch up")
	}
	md, rd := mc.Do(ctx, "DEBUG", "DIGEST").Val(), rc.Do(ctx, "DEBUG", "DIGEST").Val()
	if md != rd {
		t.Fatalf("replica digest %v, master %v: the replica's copy of k differs (replica GET k: %q)", rd, md, rc.Get(ctx, "k").Val())
	}
}
