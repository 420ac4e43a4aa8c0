package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOracleRewrite starts redis-server and sard from copies of one config
// file, applies the same CONFIG SETs, rewrites both and compares the files:
// the kept part line by line, the appended part as a set (Redis appends in
// hash-table order).
func TestOracleRewrite(t *testing.T) {
	dir := t.TempDir()
	base := `# top comment
maxmemory 1G
hash-max-ziplist-entries 256
slave-priority 50

    # indented comment
save 100 1
save 200 2
timeout 0
timeout 5
loglevel notice
notify-keyspace-events ""
maxmemory-clients 10%
client-output-buffer-limit pubsub 32mb 8mb 60
include ` + filepath.Join(dir, "inc.conf") + `
rename-command FLUSHALL ""
unixsocketperm 700
requirepass ""
hz 7
list-max-ziplist-entries 5
`
	if err := os.WriteFile(filepath.Join(dir, "inc.conf"), []byte("maxmemory-samples 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	redisFile := filepath.Join(dir, "redis.conf")
	sardFile := filepath.Join(dir, "sard.conf")
	for _, f := range []string{redisFile, sardFile} {
		if err := os.WriteFile(f, []byte(base), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := startOracleWith(t, redisFile, nil)
	c, err := Load(sardFile, o.args)
	if err != nil {
		t.Fatal(err)
	}
	sets := [][]string{
		{"hz", "20", "maxmemory", "2mb", "hash-max-listpack-entries", "512", "replica-priority", "60"},
		{"notify-keyspace-events", "KA", "slowlog-max-len", "129", "loglevel", "warning"},
		{"save", "", "client-output-buffer-limit", "replica 1gb 2kb 3", "replica-announce-ip", "x y\"z"},
		{"latency-tracking-info-percentiles", "", "maxmemory-policy", "allkeys-lru", "shutdown-on-sigint", "now nosave"},
		{"oom-score-adj-values", "0 300 900", "proc-title-template", "{title} {port}", "maxmemory-clients", "1gb"},
	}
	for _, cs := range sets {
		args := append([]string{"CONFIG", "SET"}, cs...)
		if _, e := o.do(args...); e != "" {
			t.Fatalf("redis %v: %s", cs, e)
		}
		var pairs [][2]string
		for i := 0; i < len(cs); i += 2 {
			pairs = append(pairs, [2]string{cs[i], cs[i+1]})
		}
		if err := c.Set(pairs); err != nil {
			t.Fatalf("sard %v: %v", cs, err)
		}
	}
	// Lines that exist only after startup, as if the file was edited by hand.
	for _, f := range []string{redisFile, sardFile} {
		data, _ := os.ReadFile(f)
		data = append(data, []byte("bogus-thing 1\nhz \"5\nloadmodule /x.so\n\n\n")...)
		os.WriteFile(f, data, 0o644)
	}
	if _, e := o.do("CONFIG", "REWRITE"); e != "" {
		t.Fatalf("redis rewrite: %s", e)
	}
	if err := c.Rewrite(); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(redisFile)
	got, _ := os.ReadFile(sardFile)
	wKept, wAdded := splitAtSignature(string(want))
	gKept, gAdded := splitAtSignature(string(got))
	if gKept != wKept {
		t.Errorf("kept part differs:\nsard:\n%s\nredis:\n%s", gKept, wKept)
	}
	// ACL users are not this package's to write.
	wAdded = slices.DeleteFunc(wAdded, func(s string) bool { return strings.HasPrefix(s, "user ") })
	// Startup arguments differ (redis got a file path too): both saw the same ones.
	slices.Sort(wAdded)
	slices.Sort(gAdded)
	if !slices.Equal(wAdded, gAdded) {
		t.Errorf("appended lines differ:\nsard:  %q\nredis: %q", gAdded, wAdded)
	}

	// A rewritten file loads back to the same values.
	c2, err := Load(sardFile, nil)
	if err != nil {
		t.Fatalf("reloading rewritten file: %v", err)
	}
	for _, kv := range c.Get("*") {
		if v, _ := c2.GetString(kv.Name); v != kv.Value {
			t.Errorf("after reload %s = %q, want %q", kv.Name, v, kv.Value)
		}
	}
}

func splitAtSignature(s string) (string, []string) {
	i := strings.Index(s, rewriteSignature+"\n")
	if i < 0 {
		return s, nil
	}
	added := strings.Split(strings.TrimSuffix(s[i+len(rewriteSignature)+1:], "\n"), "\n")
	return s[:i], added
}
