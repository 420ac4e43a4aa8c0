package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestShutdownStopsServer: SHUTDOWN gets no reply, the connection closes, the process exits
// with status 0 and the log carries Redis's shutdown line.
func TestShutdownStopsServer(t *testing.T) {
	srv := testutil.StartSard(t)
	rc := srv.Raw()
	if got, _ := rc.Do("SHUTDOWN", "ABORT"); string(got) != "-ERR No shutdown in progress.\r\n" {
		t.Errorf("SHUTDOWN ABORT = %q", got)
	}
	if got, _ := rc.Do("SHUTDOWN", "NOSAVE", "SAVE"); string(got) != "-ERR syntax error\r\n" {
		t.Errorf("SHUTDOWN NOSAVE SAVE = %q", got)
	}
	if err := rc.Send(testutil.EncodeCommand("SHUTDOWN", "NOSAVE", "NOW")); err != nil {
		t.Fatal(err)
	}
	if got, err := rc.ReadReply(); err == nil {
		t.Fatalf("SHUTDOWN replied %q, want the connection closed", got)
	} else if err != io.EOF && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Logf("read after SHUTDOWN: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return !srv.Running() }, "sard still running after SHUTDOWN")
	if code := srv.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if log := srv.LogText(); !strings.Contains(log, "# User requested shutdown...") {
		t.Errorf("log lacks the shutdown line:\n%s", log)
	}
}

func TestTimeLastsaveRole(t *testing.T) {
	e := newIntroEnv(t)
	before := time.Now().Unix()
	reply := e.do("TIME")
	parts := strings.Split(reply, "\r\n")
	if len(parts) != 6 || parts[0] != "*2" {
		t.Fatalf("TIME = %q", reply)
	}
	secs, _ := strconv.ParseInt(parts[2], 10, 64)
	usec, err := strconv.ParseInt(parts[4], 10, 64)
	if secs < before || secs > before+2 || err != nil || usec < 0 || usec > 999999 {
		t.Errorf("TIME = %q", reply)
	}
	e.expect(kvInt(e.s.startTime.Unix()), "LASTSAVE")
	e.expect("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n", "ROLE")
	if got := e.do("LOLWUT"); !strings.HasSuffix(got, "Redis ver. "+VersionCompat+"\n\r\n") {
		t.Errorf("LOLWUT = %q", got)
	}
	e.expect("-"+errNotInt+"\r\n", "LOLWUT", "VERSION", "x")
}

// TestCommandListsOnlyImplemented: COMMAND answers from the metadata table, but only for
// commands that have a handler here.
func TestCommandListsOnlyImplemented(t *testing.T) {
	e := newIntroEnv(t)
	top := 0
	for range e.s.commands {
		top++
	}
	e.expect(kvInt(int64(top)), "COMMAND", "COUNT")
	if got := e.do("COMMAND", "INFO", "get"); !strings.HasPrefix(got, "*1\r\n*10\r\n$3\r\nget\r\n") {
		t.Errorf("COMMAND INFO get = %q", got)
	}
	delete(e.s.commands, "get")
	delete(e.s.commands["config"].Subs, "rewrite")
	e.expect(kvInt(int64(top-1)), "COMMAND", "COUNT")
	e.expect("*1\r\n$-1\r\n", "COMMAND", "INFO", "get")
	e.expect("*0\r\n", "COMMAND", "LIST", "FILTERBY", "PATTERN", "get")
	if got := e.do("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"); strings.Contains(got, "rewrite") || !strings.Contains(got, "config|get") {
		t.Errorf("COMMAND LIST config|* = %q", got)
	}
	if got := e.do("COMMAND", "INFO", "config"); strings.Contains(got, "config|rewrite") {
		t.Errorf("COMMAND INFO config lists a missing subcommand: %q", got)
	}
	if got := e.do("COMMAND"); strings.Contains(got, "\r\n$3\r\nget\r\n") {
		t.Errorf("COMMAND lists get after it was removed")
	}
}

// TestConfigRewrite: CONFIG REWRITE persists a CONFIG SET into the file the server loaded.
func TestConfigRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(path, []byte("# mine\nhz 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// set-proc-title rewrites argv in place, which currently clobbers the config path the
	// config package keeps (reported to the lead); this test is about CONFIG REWRITE.
	srv := testutil.StartSard(t, path, "--set-proc-title", "no")
	rc := srv.Raw()
	for _, cmd := range [][]string{{"CONFIG", "SET", "hz", "25"}, {"CONFIG", "SET", "maxmemory", "10mb"}, {"CONFIG", "REWRITE"}} {
		if got, _ := rc.Do(cmd...); string(got) != "+OK\r\n" {
			t.Fatalf("%v = %q", cmd, got)
		}
	}
	data, _ := os.ReadFile(path)
	if s := string(data); !strings.Contains(s, "# mine\nhz 25\n") || !strings.Contains(s, "maxmemory 10mb") {
		t.Errorf("rewritten file:\n%s", s)
	}
	got, _ := rc.Do("INFO", "server")
	if !strings.Contains(string(got), "\r\nconfig_file:"+path+"\r\n") {
		t.Errorf("INFO server config_file: %q", got)
	}
}

// TestIntrospectionThroughGoRedis: a real client library parses what these commands send.
func TestIntrospectionThroughGoRedis(t *testing.T) {
	srv := testutil.StartSard(t)
	for _, proto := range []int{2, 3} {
		rdb := srv.Client(func(o *redis.Options) { o.Protocol = proto })
		ctx := context.Background()
		rdb.Set(ctx, "k", "v", 0)
		info, err := rdb.InfoMap(ctx, "server", "keyspace").Result()
		if err != nil {
			t.Fatalf("RESP%d InfoMap: %v", proto, err)
		}
		if info["Server"]["redis_version"] != VersionCompat || info["Keyspace"]["db0"] != "keys=1,expires=0,avg_ttl=0" {
			t.Errorf("RESP%d InfoMap = %v", proto, info)
		}
		cfg, err := rdb.ConfigGet(ctx, "maxmemory*").Result()
		if err != nil || cfg["maxmemory"] != "0" || cfg["maxmemory-policy"] != "noeviction" {
			t.Errorf("RESP%d ConfigGet = %v, %v", proto, cfg, err)
		}
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Errorf("ConfigResetStat: %v", err)
		}
		if tm, err := rdb.Time(ctx).Result(); err != nil || time.Since(tm).Abs() > time.Minute {
			t.Errorf("Time = %v, %v", tm, err)
		}
		if n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int(); err != nil || n < 20 {
			t.Errorf("CommandCount = %d, %v", n, err)
		}
		cmds, err := rdb.Command(ctx).Result()
		if err != nil || cmds["get"] == nil || cmds["get"].FirstKeyPos != 1 || !cmds["get"].ReadOnly {
			t.Errorf("COMMAND through go-redis: %v %+v", err, cmds["get"])
		}
		rdb.Close()
	}
}
