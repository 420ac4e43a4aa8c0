package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/testutil"
)

const seedPass = "M5Pi9YW6u"

// TestSeedConfig runs the user's node config (the guide's redis.conf, moved to loopback) and
// checks what works today: it loads, warns once per directive sard does not act on yet, and
// enforces requirepass for redis-cli. Cluster mode is not asserted here (later work).
func TestSeedConfig(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	port := testutil.FreePort(t)
	conf := seedConf(t, dir, port)
	p := startProc(t, dir, sardBin(t), conf)
	p.mustReady()
	addr := "127.0.0.1:" + itoa(port)
	testutil.Eventually(t, 5*time.Second, func() bool { return dialOK(addr) }, "sard listening on the seed's port")

	t.Run("warnings", func(t *testing.T) {
		out := p.out.String()
		inFile := directives(t, conf)
		warned := map[string]int{}
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, "not yet effective") {
				continue
			}
			if !logLineRe.MatchString(line) || !strings.Contains(line, " # ") {
				t.Errorf("warning not in Redis's log format at warning level: %q", line)
			}
			name := quotedName(line)
			if name == "" {
				t.Errorf("warning does not quote a directive name: %q", line)
				continue
			}
			warned[name]++
		}
		for _, d := range inFile {
			want := 0
			if slices.Contains(config.Pending, canonicalName(d)) {
				want = 1
			}
			if warned[d] != want {
				t.Errorf("directive %q: %d not-yet-effective warnings, want %d", d, warned[d], want)
			}
		}
		for name := range warned {
			if !slices.Contains(inFile, name) {
				t.Errorf("warning for %q, which the file does not set", name)
			}
		}
	})

	t.Run("redis-cli", func(t *testing.T) {
		ps := itoa(port)
		out, err := cli(t, "-a", seedPass, "-p", ps, "ping")
		if got := stripCLIWarning(out); err != nil || got != "PONG" {
			t.Errorf("redis-cli -a %s ping = %q, %v; want PONG", seedPass, got, err)
		}
		out, _ = cli(t, "-p", ps, "ping")
		if got := stripCLIWarning(out); !strings.Contains(got, "NOAUTH Authentication required.") {
			t.Errorf("redis-cli ping without -a = %q, want NOAUTH Authentication required.", got)
		}
		out, _ = cli(t, "-a", "wrong", "-p", ps, "ping")
		if got := stripCLIWarning(out); !strings.Contains(got, "WRONGPASS invalid username-password pair or user is disabled.") {
			t.Errorf("redis-cli -a wrong ping = %q, want WRONGPASS", got)
		}
	})

	t.Run("pidfile", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "redis.pid"))
		if err != nil || strings.TrimSpace(string(data)) != itoa(p.pid()) {
			t.Errorf("pidfile = %q, %v; want %d", data, err, p.pid())
		}
	})
}

// TestSeedConfigOracle pins that the moved-to-loopback file is itself valid for Redis 7.0, so a
// failure of TestSeedConfig is sard's and not the file's.
func TestSeedConfigOracle(t *testing.T) {
	t.Parallel()
	bin := redisBin(t)
	dir := shortTempDir(t)
	port := testutil.FreePort(t)
	conf := seedConf(t, dir, port)
	p := startProc(t, dir, bin, conf)
	p.mustReady()
	out, err := cli(t, "-a", seedPass, "-p", itoa(port), "ping")
	if got := stripCLIWarning(out); err != nil || got != "PONG" {
		t.Fatalf("redis-server with the seed config: ping = %q, %v", got, err)
	}
}

// aliases maps Redis 7.0's old directive names to the names its config table uses.
var aliases = map[string]string{
	"hash-max-ziplist-entries": "hash-max-listpack-entries",
	"hash-max-ziplist-value":   "hash-max-listpack-value",
	"zset-max-ziplist-entries": "zset-max-listpack-entries",
	"zset-max-ziplist-value":   "zset-max-listpack-value",
	"list-max-ziplist-size":    "list-max-listpack-size",
	"lua-time-limit":           "busy-reply-threshold",
	"slaveof":                  "replicaof",
	"slave-read-only":          "replica-read-only",
}

func canonicalName(d string) string {
	if c, ok := aliases[d]; ok {
		return c
	}
	return d
}

func quotedName(line string) string {
	i := strings.IndexByte(line, '\'')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(line[i+1:], '\'')
	if j < 0 {
		return ""
	}
	return line[i+1 : i+1+j]
}

// TestBadConfig checks that a broken file stops the start with exit code 1 and a message that
// names the file, the line number, the line and Redis's reason for rejecting it.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, line string
	}{
		{"unknown-directive", "no-such-directive yes"},
		{"bad-integer", "maxclients many"},
		{"bad-yesno", "appendonly maybe"},
		{"bad-memory", "maxmemory 12parsecs"},
		{"unbalanced-quotes", `requirepass "abc`},
		{"wrong-arg-count", "port"},
		{"bad-enum", "maxmemory-policy sometimes"},
		{"out-of-range", "port 70000"},
	}
	sard := sardBin(t)
	redis := redisBin(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := shortTempDir(t)
			path := filepath.Join(dir, "bad.conf")
			body := "# a comment\nloglevel notice\n" + tc.line + "\ndatabases 4\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			sp := startProc(t, dir, sard, path)
			rp := startProc(t, dir, redis, path)
			code, ok := sp.wait(10 * time.Second)
			if !ok || code != 1 {
				t.Errorf("sard exit code = %d (exited %v), want 1", code, ok)
			}
			if rcode, ok := rp.wait(10 * time.Second); !ok || rcode != 1 {
				t.Fatalf("redis-server exit code = %d (exited %v): the case is not an error for Redis", rcode, ok)
			}
			out := sp.out.String()
			wantReason := lastLine(rp.out.String())
			for _, want := range []string{path, "line 3", ">>> '" + tc.line + "'", wantReason} {
				if !strings.Contains(out, want) {
					t.Errorf("sard's message lacks %q; got:\n%s", want, out)
				}
			}
			if got := lastLine(out); got != wantReason {
				t.Errorf("reason = %q, redis-server says %q", got, wantReason)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
