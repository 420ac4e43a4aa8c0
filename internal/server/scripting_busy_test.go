package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestScriptBusyAndKill: a script past busy-reply-threshold makes other clients get -BUSY,
// SCRIPT KILL stops it, and the server answers normally afterwards.
func TestScriptBusyAndKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := testutil.StartSard(t, "--busy-reply-threshold", "100")
	looper := srv.Raw()
	other := srv.Raw()
	if err := looper.Send(testutil.EncodeCommand("EVAL", "local i = 0 while true do i = i + 1 end", "0")); err != nil {
		t.Fatal(err)
	}
	var reply []byte
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := other.Do("GET", "x")
		reply = r
		return err == nil && strings.HasPrefix(string(r), "-BUSY")
	}, "a client never got -BUSY while the script ran")
	if want := "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"; string(reply) != want {
		t.Fatalf("busy reply %q, want %q", reply, want)
	}
	if r, _ := other.Do("FUNCTION", "KILL"); string(r) != "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n" {
		t.Fatalf("FUNCTION KILL on an EVAL script: %q", r)
	}
	if r, err := other.Do("SCRIPT", "KILL"); err != nil || string(r) != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q %v", r, err)
	}
	r, err := looper.ReadReply()
	if err != nil || !strings.HasPrefix(string(r), "-ERR Script killed by user with SCRIPT KILL...") {
		t.Fatalf("killed script's reply: %q %v", r, err)
	}
	if r, _ := other.Do("SET", "x", "1"); string(r) != "+OK\r\n" {
		t.Fatalf("after the kill: %q", r)
	}
	if r, _ := other.Do("SCRIPT", "KILL"); !strings.HasPrefix(string(r), "-NOTBUSY No scripts in execution right now.") {
		t.Fatalf("SCRIPT KILL with nothing running: %q", r)
	}
}

// TestScriptUnkillable: a script that wrote cannot be killed; SHUTDOWN NOSAVE still works.
func TestScriptUnkillable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := testutil.StartSard(t, "--busy-reply-threshold", "100")
	looper := srv.Raw()
	other := srv.Raw()
	looper.Send(testutil.EncodeCommand("EVAL", "redis.call('set', 'w', '1') while true do end", "0"))
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := other.Do("PING")
		return err == nil && strings.HasPrefix(string(r), "-BUSY")
	}, "never busy")
	if r, _ := other.Do("SCRIPT", "KILL"); !strings.HasPrefix(string(r), "-UNKILLABLE Sorry the script already executed write commands") {
		t.Fatalf("SCRIPT KILL after a write: %q", r)
	}
	if r, _ := other.Do("SHUTDOWN"); !strings.HasPrefix(string(r), "-BUSY") {
		t.Fatalf("SHUTDOWN without NOSAVE while busy: %q", r)
	}
	other.Send(testutil.EncodeCommand("SHUTDOWN", "NOSAVE"))
	testutil.Eventually(t, 10*time.Second, func() bool { return !srv.Running() }, "SHUTDOWN NOSAVE did not stop the server")
}

// TestFunctionBusyAndKill is the same for FCALL and FUNCTION KILL.
func TestFunctionBusyAndKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := testutil.StartSard(t, "--busy-reply-threshold", "100")
	ctx := context.Background()
	rdb := srv.Client()
	if err := rdb.FunctionLoad(ctx, "#!lua name=spin\nredis.register_function('spin', function() while true do end end)").Err(); err != nil {
		t.Fatal(err)
	}
	looper := srv.Raw()
	other := srv.Raw()
	looper.Send(testutil.EncodeCommand("FCALL", "spin", "0"))
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := other.Do("GET", "x")
		return err == nil && string(r) == "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
	}, "never busy")
	if r, _ := other.Do("FUNCTION", "STATS"); !strings.Contains(string(r), "spin") {
		t.Fatalf("FUNCTION STATS while running: %q", r)
	}
	if r, _ := other.Do("FUNCTION", "KILL"); string(r) != "+OK\r\n" {
		t.Fatalf("FUNCTION KILL: %q", r)
	}
	if r, _ := looper.ReadReply(); !strings.HasPrefix(string(r), "-ERR Script killed by user") {
		t.Fatalf("killed function's reply: %q", r)
	}
}

// TestGoRedisScript: go-redis's Script.Run tries EVALSHA and falls back to EVAL on NOSCRIPT.
func TestGoRedisScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	rdb := srv.Client()
	incr := redis.NewScript("return redis.call('incrby', KEYS[1], ARGV[1])")
	for i, want := range []int64{5, 10} {
		n, err := incr.Run(ctx, rdb, []string{"counter"}, 5).Int64()
		if err != nil || n != want {
			t.Fatalf("run %d: %d %v, want %d", i, n, err, want)
		}
	}
	exists, err := incr.Exists(ctx, rdb).Result()
	if err != nil || len(exists) != 1 || !exists[0] {
		t.Fatalf("SCRIPT EXISTS after Run: %v %v", exists, err)
	}
	rdb.ScriptFlush(ctx)
	if err := incr.EvalSha(ctx, rdb, []string{"counter"}, 1).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		t.Fatalf("EVALSHA after flush: %v", err)
	}
	if n, _ := incr.Run(ctx, rdb, []string{"counter"}, 1).Int64(); n != 11 {
		t.Fatalf("Run after flush: %d", n)
	}
	var rerr redis.Error
	if err := rdb.Eval(ctx, "return redis.call('nosuch')", nil).Err(); !errors.As(err, &rerr) {
		t.Fatalf("script error: %v", err)
	}
	res, err := rdb.FCall(ctx, "nosuch", nil).Result()
	if err == nil || err.Error() != "ERR Function not found" {
		t.Fatalf("FCALL unknown: %v %v", res, err)
	}
}
