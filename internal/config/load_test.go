package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustGet(t *testing.T, c *Config, name string) string {
	t.Helper()
	v, ok := c.GetString(name)
	if !ok {
		t.Fatalf("no directive %s", name)
	}
	return v
}

// The user's six-node guide config must load verbatim.
func TestSeedConfigLoads(t *testing.T) {
	c, err := Load("testdata/seed-node.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"port": "6379", "bind": "0.0.0.0", "cluster-enabled": "yes", "cluster-config-file": "nodes.conf",
		"cluster-node-timeout": "5000", "cluster-announce-ip": "172.38.0.11", "cluster-announce-bus-port": "16379",
		"masterauth": "M5Pi9YW6u", "requirepass": "M5Pi9YW6u", "maxmemory": "1000000000",
		"maxmemory-policy": "allkeys-lru", "appendonly": "yes", "appendfsync": "everysec",
		"auto-aof-rewrite-min-size": "67108864", "hash-max-listpack-entries": "512", "hash-max-ziplist-value": "64",
		"list-max-listpack-size": "-2", "oom-score-adj-values": "0 200 800", "ignore-warnings": "ARM64-COW-BUG",
		"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"proc-title-template":        "{title} {listen-addr} {server-mode}", "logfile": "", "notify-keyspace-events": "",
		"pidfile": "/var/run/redis_6379.pid",
	}
	for k, v := range want {
		if got := mustGet(t, c, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if c.Port != 6379 || !c.ClusterEnabled || c.MaxMemory != 1e9 || c.RequirePass != "M5Pi9YW6u" ||
		!c.AppendOnly || c.MaxMemoryPolicy != "allkeys-lru" || !slices.Equal(c.Bind, []string{"0.0.0.0"}) {
		t.Errorf("typed values wrong: %+v", c.Values)
	}
	abs, _ := filepath.Abs("testdata/seed-node.conf")
	if c.File() != abs {
		t.Errorf("File() = %q", c.File())
	}
	w := c.Warnings()
	// One warning per pending directive; the encoding thresholds are effective now.
	if !slices.Contains(w, "WARNING: directive 'cluster-enabled' is accepted but not yet effective in sard") ||
		slices.Contains(w, "WARNING: directive 'hash-max-ziplist-entries' is accepted but not yet effective in sard") {
		t.Errorf("warnings: %q", w)
	}
	seen := map[string]bool{}
	for _, s := range w {
		if seen[s] {
			t.Errorf("duplicate warning %q", s)
		}
		seen[s] = true
	}
	if slices.Contains(w, "WARNING: directive 'port' is accepted but not yet effective in sard") {
		t.Error("port is effective, must not warn")
	}
}

func TestPendingListNamesExist(t *testing.T) {
	c := New()
	for _, n := range Pending {
		if n == "user" {
			continue
		}
		if c.directive(n) == nil || c.directive(n).name != n {
			t.Errorf("Pending lists %q, which is not a primary directive name", n)
		}
	}
	if !c.IsPending("slave-ignore-maxmemory") || c.IsPending("port") || c.IsPending("replicaof") {
		t.Error("IsPending wrong")
	}
}

func TestWarningOncePerDirective(t *testing.T) {
	p := writeConf(t, "save 100 1\nsave 200 2\nslave-ignore-maxmemory yes\nreplica-ignore-maxmemory no\nslaveof 1.2.3.4 5\nreplicaof 1.2.3.4 6\nuser bob on\nuser amy on\n")
	c, err := Load(p, []string{"--save", "300", "3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"WARNING: directive 'slave-ignore-maxmemory' is accepted but not yet effective in sard",
		"WARNING: directive 'user' is accepted but not yet effective in sard",
	}
	if !slices.Equal(c.Warnings(), want) {
		t.Errorf("warnings %q", c.Warnings())
	}
	if got := mustGet(t, c, "save"); got != "100 1 200 2 300 3" {
		t.Errorf("save = %q", got)
	}
	if got := mustGet(t, c, "replicaof"); got != "1.2.3.4 6" {
		t.Errorf("replicaof = %q", got)
	}
	if len(c.Users()) != 2 || c.Users()[0][0] != "bob" {
		t.Errorf("users %q", c.Users())
	}
}

func TestLoadTypes(t *testing.T) {
	conf := `# comment
   # indented comment

PORT 7000
daemonize NO
maxmemory 1gb
maxmemory-clients 5%
unixsocketperm 700
loglevel WARNING
shutdown-on-sigterm now nosave
save ""
bind 127.0.0.1 -::1
client-output-buffer-limit replica 1mb 2mb 3
client-output-buffer-limit pubsub 0 0 0
oom-score-adj-values "1 2 3"
notify-keyspace-events KEx
hash-max-ziplist-entries 100
zset-max-ziplist-value 1k
list-max-ziplist-size -3
slave-read-only no
lua-time-limit 100
latency-tracking-info-percentiles 1.5 99
list-max-ziplist-entries 5
hz 1000
proc-title-template "{title} {port}"
timeout 30
`
	c, err := Load(writeConf(t, conf), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"port": "7000", "daemonize": "no", "maxmemory": "1073741824", "maxmemory-clients": "5%",
		"unixsocketperm": "700", "loglevel": "warning", "shutdown-on-sigterm": "nosave now", "save": "",
		"bind": "127.0.0.1 -::1", "client-output-buffer-limit": "normal 0 0 0 slave 1048576 2097152 3 pubsub 0 0 0",
		"oom-score-adj-values": "1 2 3", "notify-keyspace-events": "xKE", "hash-max-listpack-entries": "100",
		"zset-max-listpack-value": "1000", "list-max-listpack-size": "-3", "replica-read-only": "no",
		"busy-reply-threshold": "100", "lua-time-limit": "100", "latency-tracking-info-percentiles": "1.5 99",
		"hz": "500", "timeout": "30",
	}
	for k, v := range want {
		if got := mustGet(t, c, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if c.Hz != 500 || c.LogLevel != LogWarning || c.UnixSocketPerm != 0o700 || c.Timeout != 30 ||
		c.ClientOutputBufferLimit[ClassReplica] != (BufferLimit{1 << 20, 2 << 20, 3}) || len(c.Save) != 0 ||
		c.NotifyKeyspaceEvents != NotifyKeyspace|NotifyKeyevent|NotifyExpired {
		t.Errorf("typed values wrong: %+v", c.Values)
	}
	if v, ok := c.GetInt("maxmemory"); !ok || v != 1<<30 {
		t.Errorf("GetInt = %d %v", v, ok)
	}
	if v, ok := c.GetBool("slave-read-only"); !ok || v {
		t.Errorf("GetBool = %v %v", v, ok)
	}
	if _, ok := c.GetBool("port"); ok {
		t.Error("GetBool on an integer")
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ conf, line, reason string }{
		{"port \"abc\"", `port "abc"`, errNotInteger},
		{"daemonize maybe", "daemonize maybe", errYesNo},
		{"port 70000", "port 70000", "argument must be between 0 and 65535 inclusive"},
		{"nosuch x", "nosuch x", errBadDirective},
		{"port", "port", errWrongArgs},
		{"port 1 2", "port 1 2", errWrongArgs},
		{"port \"abc", `port "abc`, errUnbalanced},
		{"maxmemory 1x", "maxmemory 1x", errNotMemory},
		{"loglevel x", "loglevel x", "argument(s) must be one of the following: debug, verbose, notice, warning"},
		{"save 10", "save 10", errSaveParams},
		{"notify-keyspace-events Q", "notify-keyspace-events Q", errNotifyClass},
		{"replicaof h p", "replicaof h p", errMasterPort},
		{"loadmodule /x.so", "loadmodule /x.so", errLoadModule},
		{"my.option 1", "my.option 1", errModuleConfig},
		{"sentinel", "sentinel", errSentinelNotImpl},
		{"dir /nonexistent-sard-dir", "dir /nonexistent-sard-dir", "No such file or directory"},
		{"include /nonexistent-sard.conf", "", "Fatal error, can't open config file '/nonexistent-sard.conf': No such file or directory"},
	}
	for _, tc := range cases {
		p := writeConf(t, "# line one\n"+tc.conf+"\n")
		_, err := Load(p, nil)
		le, ok := err.(*LoadError)
		if !ok {
			t.Errorf("%q: error %v", tc.conf, err)
			continue
		}
		want := "*** FATAL CONFIG FILE ERROR (sard 7.0.15) ***\n"
		if tc.line != "" {
			want += "Reading the configuration file " + p + ", at line 2\n>>> '" + tc.line + "'\n"
		}
		want += tc.reason
		if le.Error() != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.conf, le.Error(), want)
		}
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.conf"), nil)
	if err == nil || !strings.Contains(err.Error(), "can't open config file") {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load(writeConf(t, "cluster-enabled yes\nreplicaof 1.2.3.4 5\n"), nil)
	if err == nil || !strings.HasSuffix(err.Error(), "***\n"+errReplicaofCluster) {
		t.Errorf("replicaof in cluster mode: %v", err)
	}
	_, err = Load("", []string{"--logfile", "/nonexistent-sard-dir/x.log"})
	if err == nil || !strings.HasSuffix(err.Error(), "Can't open the log file: No such file or directory") {
		t.Errorf("logfile: %v", err)
	}
	c := New()
	c.CommandExists = func(n string) bool { return strings.EqualFold(n, "get") }
	if err := c.Load(writeConf(t, "rename-command GET G2\nrename-command NOPE X\n"), nil); err == nil ||
		!strings.HasSuffix(err.Error(), "line 2\n>>> 'rename-command NOPE X'\n"+errNoSuchCommand) {
		t.Errorf("rename-command: %v", err)
	}
	if r := c.Renames(); len(r) != 1 || r[0] != [2]string{"GET", "G2"} {
		t.Errorf("renames %q", r)
	}
}

func TestCommandLine(t *testing.T) {
	p := writeConf(t, "port 7000\nmaxmemory 5mb\n")
	c, err := Load(p, []string{"--port", "7001", "--bind", "127.0.0.1", "::1", "--save", "--client-output-buffer-limit",
		"normal", "1", "2", "3", "--requirepass", "a b\"c", "--list-max-listpack-size", "-5", "--loglevel", "debug"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"port": "7001", "bind": "127.0.0.1 ::1", "save": "", "maxmemory": "5242880",
		"client-output-buffer-limit": "normal 1 2 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"requirepass":                "a b\"c", "list-max-listpack-size": "-5", "loglevel": "debug",
	}
	for k, v := range want {
		if got := mustGet(t, c, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	c, err = Load("", []string{"--save", "900 1 300 10"})
	if err != nil || mustGet(t, c, "save") != "900 1 300 10" {
		t.Errorf("save as one word: %v", err)
	}
	_, err = Load(p, []string{"--port", "0", "--loglevel", "x y"})
	want2 := "Reading the command line arguments, at line 2\n>>> 'loglevel \"x y\"'\n"
	if err == nil || !strings.Contains(err.Error(), want2) {
		t.Errorf("args error: %v", err)
	}
	_, err = Load("", []string{"--port"})
	if err == nil || !strings.HasSuffix(err.Error(), ">>> 'port'\n"+errWrongArgs) {
		t.Errorf("bare --port: %v", err)
	}
}

func TestStdinAndInclude(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.conf")
	os.WriteFile(inc, []byte("timeout 9\nbogus 1\n"), 0o644)
	c := New()
	c.Stdin = strings.NewReader("port 7002\n")
	if err := c.Load("-", nil); err != nil || c.Port != 7002 || c.File() != "" {
		t.Fatalf("stdin: %v %d %q", err, c.Port, c.File())
	}
	_, err := Load(writeConf(t, "port 1\ninclude "+inc+"\n"), nil)
	want := "Reading the configuration file " + inc + ", at line 2\n>>> 'bogus 1'"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error in included file should name it: %v", err)
	}
	os.WriteFile(inc, []byte("timeout 9\n"), 0o644)
	c, err = Load(writeConf(t, "dir "+dir+"\ninclude inc.conf\ninclude nomatch*.conf\n"), nil)
	if err != nil || c.Timeout != 9 || c.Dir != dir {
		t.Errorf("relative include after dir: %v %d %q", err, c.Timeout, c.Dir)
	}
	loop := filepath.Join(dir, "loop.conf")
	os.WriteFile(loop, []byte("include "+loop+"\n"), 0o644)
	if _, err := Load(loop, nil); err == nil || !strings.Contains(err.Error(), errIncludeDepth) {
		t.Errorf("self include: %v", err)
	}
}

func TestGetPatterns(t *testing.T) {
	c := New()
	got := c.Get("PORT", "port", "maxmem*", "key-load-delay", "key-load*", "nosuch", "slave-pri*")
	var names []string
	for _, kv := range got {
		names = append(names, kv.Name)
	}
	want := []string{"PORT", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity", "maxmemory",
		"maxmemory-clients", "key-load-delay", "slave-priority"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q", names)
	}
	for name, want := range map[string]string{
		"bind": "* -::*", "save": "3600 1 300 100 60 10000", "oom-score-adj-values": "0 200 800",
		"client-output-buffer-limit":        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"latency-tracking-info-percentiles": "50 99 99.9", "unixsocketperm": "0", "maxmemory-clients": "0",
	} {
		if got := mustGet(t, c, name); got != want {
			t.Errorf("default %s = %q, want %q", name, got, want)
		}
	}
	all := c.Get("*", "*")
	if len(all) != 192 {
		t.Errorf("CONFIG GET * gives %d pairs, redis 7.0.15 (with TLS) gives 192", len(all))
	}
}

func FuzzLoad(f *testing.F) {
	seed, _ := os.ReadFile("testdata/seed-node.conf")
	f.Add(string(seed))
	f.Add("save \"\"\nsave 1 2\nbind \"a b\"\nclient-output-buffer-limit normal 1 2 3\n")
	f.Add("x 'a\\'b' \"\\x41\"\nport \"1\nhz 9999\nnotify-keyspace-events AKEnm\n")
	f.Add("include *\ndir /\nmaxmemory 99999999999999999999gb\noom-score-adj-values 1 2\n")
	f.Fuzz(func(t *testing.T, text string) {
		low := strings.ToLower(text)
		if strings.Contains(low, "include") || strings.Contains(low, "logfile") {
			// These touch the file system (reading /dev/zero, creating
			// files), which a fuzzer must not do.
			t.Skip("input reads or creates files")
		}
		c := New()
		c.Stdin = strings.NewReader(text)
		err := c.Load("-", nil)
		if err != nil {
			if _, ok := err.(*LoadError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, kv := range c.Get("*") {
			if kv.Name == "" {
				t.Fatal("empty name")
			}
		}
	})
}
