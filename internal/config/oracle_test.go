package config

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oracle is a real redis-server started for differential tests.
type oracle struct {
	conn net.Conn
	r    *bufio.Reader
	args []string // the startup arguments, to load the same into a Config
}

// startOracle runs redis-server on a free loopback port in a temp dir, or
// skips the test when the binary is missing.
func startOracle(t *testing.T) *oracle {
	t.Helper()
	return startOracleWith(t, "", nil)
}

// startOracleWith starts redis-server with an optional config file plus
// extra arguments.
func startOracleWith(t *testing.T, file string, extra []string) *oracle {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; differential config tests need it as the oracle")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	args = append(args, extra...)
	cmdArgs := args
	if file != "" {
		cmdArgs = append([]string{file}, args...)
	}
	cmd := exec.Command(bin, cmdArgs...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			o := &oracle{conn: conn, r: bufio.NewReader(conn), args: args}
			t.Cleanup(func() { conn.Close() })
			if v, _ := o.do("PING"); v == "PONG" {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start on port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends one command and returns a simple/bulk reply, an error reply
// (second result) or, for arrays, the elements joined by "\x00".
func (o *oracle) do(args ...string) (string, string) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := o.conn.Write([]byte(b.String())); err != nil {
		return "", "io: " + err.Error()
	}
	return o.read()
}

func (o *oracle) read() (string, string) {
	line, err := o.r.ReadString('\n')
	if err != nil {
		return "", "io: " + err.Error()
	}
	line = strings.TrimRight(line, "\r\n")
	switch line[0] {
	case '+', ':':
		return line[1:], ""
	case '-':
		return "", line[1:]
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", ""
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(o.r, buf); err != nil {
			return "", "io: " + err.Error()
		}
		return string(buf[:n]), ""
	case '*':
		n, _ := strconv.Atoi(line[1:])
		parts := make([]string, 0, n)
		for i := 0; i < n; i++ {
			v, e := o.read()
			if e != "" {
				return "", e
			}
			parts = append(parts, v)
		}
		return strings.Join(parts, "\x00"), ""
	}
	return "", "unexpected reply " + line
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (o *oracle) configGet(t *testing.T, pattern string) map[string]string {
	t.Helper()
	v, e := o.do("CONFIG", "GET", pattern)
	if e != "" {
		t.Fatalf("CONFIG GET %s: %s", pattern, e)
	}
	out := map[string]string{}
	if v == "" {
		return out
	}
	parts := strings.Split(v, "\x00")
	for i := 0; i+1 < len(parts); i += 2 {
		out[parts[i]] = parts[i+1]
	}
	return out
}

// TestOracleDefaults loads the same startup arguments as the oracle and
// compares CONFIG GET * for every directive Redis reports.
func TestOracleDefaults(t *testing.T) {
	o := startOracle(t)
	want := o.configGet(t, "*")
	c, err := Load("", o.args)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range c.Get("*") {
		got[kv.Name] = kv.Value
	}
	for name, wv := range want {
		gv, ok := got[name]
		if !ok {
			t.Errorf("%s: missing in sard (redis: %q)", name, wv)
			continue
		}
		if gv != wv {
			t.Errorf("%s: sard %q, redis %q", name, gv, wv)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: reported by sard's CONFIG GET * but not by redis", name)
		}
	}
	// Hidden directives answer exact lookups only.
	for _, name := range []string{"key-load-delay", "rdb-key-save-delay", "loading-process-events-interval-bytes", "watchdog-period", "use-exit-on-panic"} {
		w := o.configGet(t, name)
		g := c.Get(name)
		if len(g) != 1 || w[name] != g[0].Value {
			t.Errorf("hidden %s: sard %v, redis %v", name, g, w)
		}
	}
}

// Directives whose CONFIG SET changes the oracle's process in ways a
// differential test should not trigger (listening sockets, TLS, auth,
// files, kernel knobs).
var oracleSetSkip = map[string]bool{
	"port": true, "bind": true, "dir": true, "requirepass": true, "appendonly": true,
	"oom-score-adj": true, "oom-score-adj-values": true, "maxmemory": true,
	"cluster-announce-ip": true, "cluster-announce-hostname": true,
	"save": true,
	// Debian's build lacks jemalloc defrag and refuses "yes"; official
	// builds accept it, and so does sard (the directive is pending).
	"activedefrag": true,
	// The open-files limit check is the server's OnApply hook.
	"maxclients": true,
}

// TestOracleSet tries many values on every settable directive against both
// servers and compares the reply (OK or the exact error) and the value read
// back.
func TestOracleSet(t *testing.T) {
	o := startOracle(t)
	defaults := o.configGet(t, "*")
	c, err := Load("", o.args)
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"abc", "-1", "0", "1", "2", "yes", "NO", "10%", "101%", "-5%", "1kb", "2GB", "3m",
		"", "5 6", "normal 1 2 3", "pubsub 1mb 2kb 3 replica 4 5 6", "master 1 2 3", "65536", "4294967296",
		"99999999999999999999", "0777", "1.5", "KEA", "gx$", "Q", "local", "allkeys-lru", "nosave now", "save nosave",
		"1 2 3", "50 99.9", "101", "+5", "05", " 7", "{title} x", "a-b.c", "a_b", "x/y", "9223372036854775807"}
	for name, def := range defaults {
		if oracleSetSkip[name] || strings.HasPrefix(name, "tls-") {
			continue
		}
		for _, v := range values {
			_, werr := o.do("CONFIG", "SET", name, v)
			gerr := ""
			if err := c.Set([][2]string{{name, v}}); err != nil {
				gerr = err.Error()
			}
			if werr != gerr {
				t.Errorf("CONFIG SET %s %q: sard %q, redis %q", name, v, gerr, werr)
			}
			wv := o.configGet(t, name)[name]
			gv, _ := c.GetString(name)
			if wv != gv {
				t.Errorf("after CONFIG SET %s %q: sard reads %q, redis %q", name, v, gv, wv)
			}
			if _, e := o.do("CONFIG", "SET", name, def); e != "" && !strings.Contains(e, "immutable") && !strings.Contains(e, "protected") {
				t.Fatalf("restoring %s on redis: %s", name, e)
			}
			if err := c.Set([][2]string{{name, def}}); err != nil && !strings.Contains(err.Error(), "immutable") && !strings.Contains(err.Error(), "protected") {
				t.Fatalf("restoring %s on sard: %v", name, err)
			}
		}
	}
}

// TestOracleSetMulti compares multi-pair CONFIG SET error precedence.
func TestOracleSetMulti(t *testing.T) {
	o := startOracle(t)
	c, err := Load("", o.args)
	if err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"timeout", "5", "nosuch", "1"},
		{"daemonize", "no", "nosuch", "1"},
		{"nosuch", "1", "daemonize", "no"},
		{"timeout", "x", "nosuch", "1"},
		{"timeout", "1", "TIMEOUT", "2"},
		{"replica-priority", "1", "slave-priority", "2"},
		{"maxmemory-samples", "3", "timeout", "x"},
		{"dbfilename", "x.rdb"},
		{"Slave-Priority", "abc"},
		{"hz", "1000"},
		{"hz", "0"},
	}
	for _, cs := range cases {
		var pairs [][2]string
		args := []string{"CONFIG", "SET"}
		for i := 0; i < len(cs); i += 2 {
			pairs = append(pairs, [2]string{cs[i], cs[i+1]})
			args = append(args, cs[i], cs[i+1])
		}
		_, werr := o.do(args...)
		gerr := ""
		if err := c.Set(pairs); err != nil {
			gerr = err.Error()
		}
		if werr != gerr {
			t.Errorf("CONFIG SET %v: sard %q, redis %q", cs, gerr, werr)
		}
		for _, p := range pairs {
			wv := o.configGet(t, p[0])
			gv, _ := c.GetString(p[0])
			for _, v := range wv {
				if v != gv {
					t.Errorf("after %v: %s sard %q, redis %q", cs, p[0], gv, v)
				}
			}
		}
	}
}

// TestOracleFileErrors feeds the same bad config files to redis-server and
// to Load and compares the reason line.
func TestOracleFileErrors(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; differential config tests need it as the oracle")
	}
	lines := []string{
		`port "abc"`, `daemonize maybe`, `port 70000`, `foo bar`, `port`, `port 1 2`, `port "abc`,
		`maxmemory 1x`, `maxmemory-policy foo`, `save 1`, `save 0 1`, `notify-keyspace-events Q`,
		`replicaof a`, `replicaof a b`, `unixsocketperm 999`, `unixsocketperm 1000`, `shutdown-on-sigint bad`,
		`client-output-buffer-limit normal 0 0`, `client-output-buffer-limit master 0 0 0`,
		`client-output-buffer-limit normal 1x 0 0`, `oom-score-adj-values 1 2`, `oom-score-adj-values 1 2 3000`,
		`latency-tracking-info-percentiles 101`, `latency-tracking-info-percentiles abc`, `dir /nonexistent`,
		`dbfilename a/b`, `appendfilename ""`, `appenddirname a/b`, `proto-max-bulk-len 100`, `maxmemory-clients 101%`,
		`maxmemory-clients -5%`, `list-max-ziplist-entries 5 6`, `mymod.conf`, `sentinel monitor x`,
		`user`, `include`, `hz -1`, `timeout 1.5`, `timeout +5`, `timeout 05`, `'a'b`, `"a"b`, `a "b\"`,
		`cluster-announce-hostname a_b`, `proc-title-template "{title}"`, `bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17`,
		`shutdown-on-sigterm "save nosave"`, `save 1 2 3`, `loglevel "x y"`, `socket-mark-id -1`,
	}
	dir := t.TempDir()
	for i, line := range lines {
		path := fmt.Sprintf("%s/bad%d.conf", dir, i)
		if err := os.WriteFile(path, []byte("# first line\n"+line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, path, "--port", "0")
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		want := strings.TrimSpace(string(out))
		if i := strings.Index(want, "*** FATAL"); i >= 0 {
			want = want[i:]
		} else {
			t.Errorf("%q: redis-server did not fail: %s", line, want)
			continue
		}
		_, gerr := Load(path, nil)
		if gerr == nil {
			t.Errorf("%q: sard loaded it, redis says %q", line, want)
			continue
		}
		want = strings.Replace(want, "(Redis ", "(sard ", 1)
		want = strings.Replace(want, "the configuration file,", "the configuration file "+path+",", 1)
		if gerr.Error() != want {
			t.Errorf("%q:\nsard:\n%s\nredis:\n%s", line, gerr.Error(), want)
		}
	}
}
