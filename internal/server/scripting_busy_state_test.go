package server

import (
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// slowScript spins on TIME for 700 ms, then tries a write and says how it went.
const slowScript = `
local s = redis.call('TIME')
for i = 1, 100000000 do
  local n = redis.call('TIME')
  if (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 700000 then break end
end
local r = redis.pcall('SET', KEYS[1], 'v')
if type(r) == 'table' and r.err then return 'err:' .. string.sub(r.err, 1, 3) end
return 'ok'`

// TestScriptBusyGatekeeperOrder: what other clients see while a slow script lends the lock,
// and what their commands leave behind, compared with redis-server:
//   - oom: Redis skips its memory check while a script is busy, so a SET from another
//     client gets -BUSY, not -OOM, and the script, started over maxmemory, still has its
//     first write refused after other clients were answered meanwhile (their commands must
//     not overwrite the memory state the script started with);
//   - pause: -BUSY comes before CLIENT PAUSE WRITE would hold a write, so the write is
//     refused at once instead of waiting out the pause and running after the script.
func TestScriptBusyGatekeeperOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	cases := []struct {
		name   string
		setup  [][]string
		eval   string
		probes [][]string
	}{
		{"oom", [][]string{{"CONFIG", "SET", "maxmemory", "1"}}, "EVAL",
			[][]string{{"SET", "x", "1"}, {"PING"}, {"GET", "x"}}},
		{"pause", [][]string{{"CLIENT", "PAUSE", "3000", "WRITE"}}, "EVAL_RO",
			[][]string{{"SET", "x", "1"}, {"GET", "x"}, {"CLIENT", "UNPAUSE"}}},
	}
	run := func(t *testing.T, srv *testutil.Server, setup [][]string, eval string, probes [][]string) []string {
		looper, other := srv.Raw(), srv.Raw()
		for _, cmd := range setup {
			if r, err := other.Do(cmd...); err != nil || string(r) != "+OK\r\n" {
				t.Fatalf("%v: %q %v", cmd, r, err)
			}
		}
		if err := looper.Send(testutil.EncodeCommand(eval, slowScript, "1", "k")); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, func() bool {
			r, err := other.Do("TYPE", "k")
			return err == nil && strings.HasPrefix(string(r), "-BUSY")
		}, "the script never got busy")
		var out []string
		for _, cmd := range probes {
			r, err := other.Do(cmd...)
			if err != nil {
				t.Fatalf("%v: %v", cmd, err)
			}
			out = append(out, strings.Join(cmd, " ")+" -> "+strings.TrimSpace(string(r)))
		}
		r, err := looper.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, "script -> "+strings.TrimSpace(string(r)))
		other.Do("CLIENT", "UNPAUSE")
		r, _ = other.Do("EXISTS", "k", "x")
		return append(out, "EXISTS k x -> "+strings.TrimSpace(string(r)))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := run(t, testutil.StartRedis(t, "--busy-reply-threshold", "100"), tc.setup, tc.eval, tc.probes)
			got := run(t, testutil.StartSard(t, "--save", "", "--busy-reply-threshold", "100"), tc.setup, tc.eval, tc.probes)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("sard:\n%s\nredis:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !strings.HasPrefix(want[0], "SET x 1 -> -BUSY") {
				t.Fatalf("redis-server's answers no longer show the case: %q", want)
			}
		})
	}
}
