package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSetErrors(t *testing.T) {
	cases := []struct {
		pairs [][2]string
		want  string
	}{
		{[][2]string{{"xyz", "1"}}, "ERR Unknown option or number of arguments for CONFIG SET - 'xyz'"},
		{[][2]string{{"port", "1"}, {"DAEMONIZE", "no"}}, "ERR CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config"},
		{[][2]string{{"dir", "/"}}, "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{[][2]string{{"timeout", "1"}, {"Timeout", "2"}}, "ERR CONFIG SET failed (possibly related to argument 'Timeout') - duplicate parameter"},
		{[][2]string{{"timeout", "x"}}, "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{[][2]string{{"SLAVE-PRIORITY", "x"}}, "ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer"},
		{[][2]string{{"maxmemory-policy", "lru"}}, "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
		{[][2]string{{"slaveof", "no one"}}, "ERR CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config"},
	}
	for _, tc := range cases {
		c := New()
		err := c.Set(tc.pairs)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Set(%q) = %v, want %q", tc.pairs, err, tc.want)
		}
	}
}

func TestSetAllOrNothing(t *testing.T) {
	c := New()
	err := c.Set([][2]string{{"timeout", "10"}, {"maxmemory", "1mb"}, {"save", "10 1"}, {"hz", "x"}})
	if err == nil {
		t.Fatal("bad hz accepted")
	}
	for name, want := range map[string]string{"timeout": "0", "maxmemory": "0", "save": "3600 1 300 100 60 10000", "hz": "10"} {
		if got, _ := c.GetString(name); got != want {
			t.Errorf("%s = %q after failed SET, want %q", name, got, want)
		}
	}
	if c.Timeout != 0 || c.MaxMemory != 0 {
		t.Errorf("typed values changed: %+v", c.Values)
	}
	if err := c.Set([][2]string{{"timeout", "10"}, {"maxmemory", "1mb"}, {"save", ""}}); err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 10 || c.MaxMemory != 1<<20 || len(c.Save) != 0 {
		t.Errorf("typed values not updated: %+v", c.Values)
	}
}

func TestProtectedConfigs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode  string
		local bool
		ok    bool
	}{{"no", true, false}, {"local", false, false}, {"local", true, true}, {"yes", false, true}} {
		c, err := Load("", []string{"--enable-protected-configs", tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		err = c.SetAs([][2]string{{"dir", dir}, {"dbfilename", "x.rdb"}}, tc.local)
		if (err == nil) != tc.ok {
			t.Errorf("mode %s local %v: %v", tc.mode, tc.local, err)
		}
		if tc.ok && c.Dir != dir {
			t.Errorf("Dir = %q", c.Dir)
		}
	}
	c, _ := Load("", []string{"--enable-protected-configs", "yes"})
	if err := c.Set([][2]string{{"dbfilename", "a/b"}}); err == nil || !strings.HasSuffix(err.Error(), errDBFilename) {
		t.Errorf("dbfilename path: %v", err)
	}
}

func TestHooksAndRollback(t *testing.T) {
	c := New()
	var calls []string
	c.OnApply("maxclients", func() error {
		calls = append(calls, "maxclients="+itoa(c.MaxClients))
		return nil
	})
	c.OnApply("slave-priority", func() error { // registered under the alias
		calls = append(calls, "priority")
		return nil
	})
	c.OnApply("port", func() error {
		calls = append(calls, "port="+itoa(c.Port))
		if c.Port == 1 {
			return errors.New("Unable to listen on this port. Check server logs.")
		}
		return nil
	})
	if err := c.Set([][2]string{{"maxclients", "50"}, {"replica-priority", "5"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(calls, ",") != "maxclients=50,priority" {
		t.Errorf("calls %q", calls)
	}
	calls = nil
	// Setting the same value does not fire the hook.
	if err := c.Set([][2]string{{"maxclients", "50"}}); err != nil || len(calls) != 0 {
		t.Errorf("unchanged value fired hooks: %v %q", err, calls)
	}
	err := c.Set([][2]string{{"maxclients", "60"}, {"port", "1"}, {"timeout", "5"}})
	want := "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
	// maxclients and port hooks ran, then both ran again on the old values.
	if got := strings.Join(calls, ","); got != "maxclients=60,port=1,maxclients=50,port=6379" {
		t.Errorf("calls %q", got)
	}
	if c.MaxClients != 50 || c.Port != 6379 || c.Timeout != 0 {
		t.Errorf("not rolled back: %+v", c.Values)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSetClampsLikeRedis(t *testing.T) {
	c := New()
	for _, tc := range []struct{ name, val, want string }{
		{"hz", "1000", "500"}, {"hz", "0", "1"}, {"repl-backlog-size", "1", "16384"},
		{"oom-score-adj", "relative", "yes"}, {"shutdown-on-sigint", "now default", "now"},
		{"client-output-buffer-limit", "REPLICA 1 2 3", "normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60"},
		{"maxmemory", "20000000000gb", "3028092406290448384"}, // the unit multiply wraps as in Redis
	} {
		if err := c.Set([][2]string{{tc.name, tc.val}}); err != nil {
			t.Errorf("%s %s: %v", tc.name, tc.val, err)
			continue
		}
		if got, _ := c.GetString(tc.name); got != tc.want {
			t.Errorf("%s %s -> %q, want %q", tc.name, tc.val, got, tc.want)
		}
	}
}

func TestRewriteNoFile(t *testing.T) {
	if err := New().Rewrite(); err == nil || err.Error() != "ERR The server is running without a config file" {
		t.Errorf("Rewrite without file: %v", err)
	}
}

func TestRewriteKeepsLayout(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "redis.conf")
	orig := "# Redis configuration\n\n# network\nport 7000\nSlaveof 10.0.0.1 6379\n\n\n# limits\nmaxmemory 100mb\nsave 60 1\nsave 30 2\ntimeout 5\nrename-command KEYS \"\"\ndir " + dir + "\n"
	os.WriteFile(p, []byte(orig), 0o644)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set([][2]string{{"maxmemory", "2gb"}, {"save", "10 1"}, {"timeout", "0"}, {"loglevel", "debug"}, {"requirepass", "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rewrite(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := "# Redis configuration\n\n# network\nport 7000\nreplicaof 10.0.0.1 6379\n\n# limits\nmaxmemory 2gb\nsave 10 1\n\ntimeout 0\nrename-command KEYS \"\"\ndir \"" + dir + "\"\n\n" +
		"# Generated by CONFIG REWRITE\nrequirepass \"s3cret\"\nloglevel debug\nlatency-tracking-info-percentiles 50 99 99.9\n"
	if string(got) != want {
		t.Errorf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	// A second rewrite keeps everything and adds no second marker; like
	// Redis it turns the file's final newline into one blank line.
	if err := c.Rewrite(); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(p)
	if string(again) != want+"\n" {
		t.Errorf("second rewrite changed the file:\n%s", again)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}
