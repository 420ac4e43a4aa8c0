package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// loadingProc is a server process started without waiting for it to answer PING, so a
// test can talk to it while it loads.
type loadingProc struct {
	cmd  *exec.Cmd
	log  *testutil.LogBuffer
	addr string
	done chan struct{}
}

// startWhileLoading starts s's binary again with its arguments plus extra and returns as
// soon as the port accepts connections.
func startWhileLoading(t *testing.T, s *testutil.Server, extra ...string) *loadingProc {
	t.Helper()
	p := &loadingProc{log: &testutil.LogBuffer{}, addr: s.Addr, done: make(chan struct{})}
	p.cmd = exec.Command(s.Bin, append(append([]string{}, s.Args...), extra...)...)
	p.cmd.Dir = s.Dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s log:\n%s", s.Name, p.log.String())
		}
	})
	ok := testutil.Poll(10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if !ok {
		t.Fatalf("%s did not accept connections while loading", s.Name)
	}
	return p
}

func (p *loadingProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// loadingProbe is what a client sends while the server loads: commands without the
// loading flag get -LOADING, the others run. Compared byte for byte with redis-server.
var loadingProbe = [][]string{
	{"PING"},
	{"GET", "key:1"},
	{"SET", "a", "b"},
	{"DBSIZE"},
	{"EXISTS", "key:1"},
	{"SAVE"},
	{"BGSAVE"},
	{"BGREWRITEAOF"},
	{"FLUSHALL"},
	{"EVAL", "return 1", "0"},
	{"SELECT", "1"},
	{"SELECT", "0"},
	{"ECHO", "hello"},
	{"CONFIG", "GET", "key-load-delay"},
	{"CONFIG", "SET", "hz", "10"},
	{"CLIENT", "SETNAME", "loader-watcher"},
	{"CLIENT", "GETNAME"},
	{"PUBLISH", "chan", "msg"},
	{"MULTI"},
	{"GET", "key:1"},
	{"ECHO", "queued"},
	{"EXEC"},
	{"NOSUCHCOMMAND"},
	{"GET"},
}

// loadDuringStartup fills a server, saves, restarts it with loading slowed down and
// returns the replies to loadingProbe sent while it loads, and its INFO persistence then.
func loadDuringStartup(t *testing.T, s *testutil.Server, keys int, extra ...string) (replies [][]byte, info string, p *loadingProc) {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	if err := c.Do(ctx, "DEBUG", "POPULATE", keys, "key", 100).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Stop()
	// Redis processes events every loading-process-events-interval-bytes (1024 at least);
	// key-load-delay makes each key take 50 µs or more on both servers.
	args := append([]string{"--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024"}, extra...)
	p = startWhileLoading(t, s, args...)
	rc := testutil.DialRaw(t, s.Addr)
	for _, cmd := range loadingProbe {
		r, err := rc.Do(cmd...)
		if err != nil {
			t.Fatalf("%s %v: %v", s.Name, cmd, err)
		}
		replies = append(replies, r)
	}
	raw, err := rc.Do("INFO", "persistence")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := testutil.Bulk(raw)
	return replies, string(body), p
}

// TestLoadingMatchesRedis restarts sard and redis-server on a dump of 100,000 keys with
// loading slowed down, and checks that a client connected meanwhile gets the same replies
// from both (-LOADING for commands without the loading flag), INFO loading:1 with Redis's
// loading_* fields, and then the data.
func TestLoadingMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	const keys = 100000
	redisSrv := testutil.StartRedis(t)
	sard := testutil.StartSard(t, "--save", "")
	want, redisInfo, _ := loadDuringStartup(t, redisSrv, keys)
	got, sardInfo, _ := loadDuringStartup(t, sard, keys)
	for i, cmd := range loadingProbe {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%v while loading: sard %q, redis %q", cmd, got[i], want[i])
		}
	}
	fields := regexp.MustCompile(`(?m)^(loading\w*):`)
	names := func(info string) string {
		var out []string
		for _, m := range fields.FindAllStringSubmatch(info, -1) {
			out = append(out, m[1])
		}
		return strings.Join(out, " ")
	}
	if names(sardInfo) != names(redisInfo) {
		t.Errorf("INFO persistence loading fields while loading: sard %q, redis %q", names(sardInfo), names(redisInfo))
	}
	if !strings.Contains(sardInfo, "loading:1\r\n") {
		t.Fatalf("sard INFO while loading says it is not loading (loading ended too soon?):\n%s", sardInfo)
	}
	st, err := os.Stat(filepath.Join(sard.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sardInfo, fmt.Sprintf("loading_total_bytes:%d\r\n", st.Size())) {
		t.Errorf("loading_total_bytes is not the file's size %d:\n%s", st.Size(), sardInfo)
	}
	for _, s := range []*testutil.Server{sard, redisSrv} {
		rc := testutil.DialRaw(t, s.Addr)
		testutil.Eventually(t, 60*time.Second, func() bool {
			r, err := rc.Do("PING")
			return err == nil && string(r) == "+PONG\r\n"
		}, s.Name+" did not finish loading")
		if r, _ := rc.Do("DBSIZE"); string(r) != ":"+strconv.Itoa(keys)+"\r\n" {
			t.Errorf("%s DBSIZE after loading: %q", s.Name, r)
		}
		if r, _ := rc.Do("GET", "key:77"); !bytes.HasPrefix(r, []byte("$100\r\nvalue:77\x00")) {
			t.Errorf("%s GET after loading: %q", s.Name, r)
		}
		r, _ := rc.Do("INFO", "persistence")
		if !bytes.Contains(r, []byte("loading:0\r\n")) || bytes.Contains(r, []byte("loading_total_bytes")) {
			t.Errorf("%s INFO after loading:\n%s", s.Name, r)
		}
	}
}

// TestLoadingAOF is the same for an AOF whose base is an RDB preamble.
func TestLoadingAOF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	sard := testutil.StartSard(t, "--save", "", "--appendonly", "yes")
	c := sard.Client()
	if err := c.Do(ctx, "DEBUG", "POPULATE", 100000, "key", 100).Err(); err != nil {
		t.Fatal(err)
	}
	bgrewrite(t, c) // DEBUG POPULATE is not propagated: the base holds the keys
	c.Set(ctx, "after", "rewrite", 0)
	want := c.Do(ctx, "DEBUG", "DIGEST").Val().(string)
	c.Close()
	sard.Stop()
	startWhileLoading(t, sard, "--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024")
	rc := testutil.DialRaw(t, sard.Addr)
	if r, _ := rc.Do("GET", "after"); string(r) != "-"+errLoading+"\r\n" {
		t.Errorf("GET while loading the AOF: %q", r)
	}
	if r, _ := rc.Do("INFO", "persistence"); !bytes.Contains(r, []byte("loading:1\r\n")) || !bytes.Contains(r, []byte("aof_enabled:1\r\n")) {
		t.Errorf("INFO while loading the AOF:\n%s", r)
	}
	testutil.Eventually(t, 60*time.Second, func() bool {
		r, err := rc.Do("PING")
		return err == nil && string(r) == "+PONG\r\n"
	}, "sard did not finish loading")
	if r, _ := rc.Do("DEBUG", "DIGEST"); string(r) != "+"+want+"\r\n" {
		t.Errorf("digest after loading %q, want %s", r, want)
	}
	// The AOF is open for appending as soon as the load ends.
	if r, _ := rc.Do("SET", "post", "load"); string(r) != "+OK\r\n" {
		t.Errorf("SET after loading: %q", r)
	}
}

// TestShutdownWhileLoading checks that SHUTDOWN and SIGTERM end a server that is still
// loading, without saving over the file being loaded (Redis forces NOSAVE then).
func TestShutdownWhileLoading(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	for _, how := range []string{"SHUTDOWN SAVE", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			sard := testutil.StartSard(t, "--save", "3600 1")
			c := sard.Client()
			if err := c.Do(ctx, "DEBUG", "POPULATE", 100000, "key", 100).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Do(ctx, "SAVE").Err(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			sard.Stop()
			path := filepath.Join(sard.Dir, "dump.rdb")
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p := startWhileLoading(t, sard, "--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024")
			rc := testutil.DialRaw(t, sard.Addr)
			if r, _ := rc.Do("PING"); string(r) != "-"+errLoading+"\r\n" {
				t.Fatalf("PING while loading: %q", r)
			}
			if how == "SIGTERM" {
				p.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				rc.Send(testutil.EncodeCommand("SHUTDOWN", "SAVE"))
			}
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not exit")
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit code %d", code)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("dump.rdb changed by a shutdown while loading (%v)", err)
			}
			if log := p.log.String(); strings.Contains(log, "DB saved on disk") || !strings.Contains(log, "ready to exit") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}
