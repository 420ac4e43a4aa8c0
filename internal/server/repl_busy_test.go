package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestReplicaBusyScriptHoldsStream: while a slow read-only script runs on a replica (other
// clients get -BUSY), the master's stream is held back, not refused: the writes the master
// makes meanwhile reach the replica once the script ends, as Redis's replica keeps
// accumulating its master's input during a busy script and applies it afterwards. Checked
// for EVAL_RO (ended by SCRIPT KILL) and FCALL_RO (ended by FUNCTION KILL), with a sard and a
// Redis master; the masters do not ping, so nothing but the end of the script can resume the
// held input.
func TestReplicaBusyScriptHoldsStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	const lib = "#!lua name=busylib\n" +
		"redis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}"
	for _, kind := range []string{"sard", "redis"} {
		t.Run(kind+"-master", func(t *testing.T) {
			var master *testutil.Server
			if kind == "sard" {
				master = testutil.StartSard(t, "--save", "", "--repl-ping-replica-period", "3600")
			} else {
				master = testutil.StartRedis(t, "--repl-ping-replica-period", "3600", "--repl-diskless-sync-delay", "0")
			}
			replica := testutil.StartSard(t, "--save", "", "--busy-reply-threshold", "100")
			ctx := context.Background()
			mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
			rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
			if err := mc.Do(ctx, "FUNCTION", "LOAD", lib).Err(); err != nil {
				t.Fatal(err)
			}
			mc.Set(ctx, "before", "1", 0)
			replicaof(t, rc, master)
			waitLinkUp(t, rc)
			waitSameDigest(t, mc, rc)
			for i, tc := range []struct{ run, kill []string }{
				{[]string{"EVAL_RO", "while true do end", "0"}, []string{"SCRIPT", "KILL"}},
				{[]string{"FCALL_RO", "spin", "0"}, []string{"FUNCTION", "KILL"}},
			} {
				looper, other := replica.Raw(), replica.Raw()
				if err := looper.Send(testutil.EncodeCommand(tc.run...)); err != nil {
					t.Fatal(err)
				}
				testutil.Eventually(t, 10*time.Second, func() bool {
					r, err := other.Do("PING")
					return err == nil && strings.HasPrefix(string(r), "-BUSY")
				}, "the replica's script never got busy")
				tag := []string{"eval", "fcall"}[i]
				liveWrites(t, mc, tag) // ends in db 2
				mc.Do(ctx, "SELECT", "0")
				want := replInfo(t, mc, "replication", "master_repl_offset")
				// let the stream reach the replica while the script still runs
				time.Sleep(300 * time.Millisecond)
				if r, _ := other.Do("GET", "before"); !strings.HasPrefix(string(r), "-BUSY") {
					t.Fatalf("script no longer busy when the writes arrived: %q", r)
				}
				if r, err := other.Do(tc.kill...); err != nil || string(r) != "+OK\r\n" {
					t.Fatalf("%v: %q %v", tc.kill, r, err)
				}
				if r, err := looper.ReadReply(); err != nil || !strings.HasPrefix(string(r), "-ERR Script killed by user") {
					t.Fatalf("killed script's reply: %q %v", r, err)
				}
				waitSameDigest(t, mc, rc)
				var got string
				testutil.Poll(5*time.Second, func() bool {
					got = replInfo(t, rc, "replication", "master_repl_offset")
					return got == want
				})
				if got != want {
					t.Fatalf("replica offset %s, master %s", got, want)
				}
				if n := rc.Exists(ctx, tag+":1", tag+":49:h").Val(); n != 2 {
					t.Fatalf("writes made during the script: %d of 2 keys on the replica", n)
				}
			}
		})
	}
}
