package server

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// clusterScriptCases are the replies of a Redis 7.0 cluster node that serves every slot
// (CLUSTER ADDSLOTSRANGE 0 16383) to scripts declaring no-cluster and
// allow-cross-slot-keys, or not. Keys a and {a}x hash to slot 15495, b to 3300.
var clusterScriptCases = []struct {
	args []string
	want string
}{
	{[]string{"EVAL", "#!lua flags=no-cluster\nreturn 1", "0"}, "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n"},
	{[]string{"EVAL", "#!lua flags=no-cluster,no-writes\nreturn 1", "0"}, "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n"},
	{[]string{"EVAL_RO", "#!lua flags=no-cluster,no-writes\nreturn 1", "0"}, "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n"},
	{[]string{"EVAL", "#!lua\nreturn 1", "0"}, ":1\r\n"},
	// declared keys in two slots: the gatekeeper's CROSSSLOT, before the script is looked up
	{[]string{"EVAL", "return 1", "2", "a", "b"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
	{[]string{"EVALSHA", "0000000000000000000000000000000000000000", "2", "a", "b"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
	{[]string{"FCALL", "nosuch", "2", "a", "b"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
	{[]string{"EVAL", "return 1", "2", "a", "{a}x"}, ":1\r\n"},
	{[]string{"EVAL", "return 1", "-1", "a", "b"}, "-ERR Number of keys can't be negative\r\n"},
	{[]string{"EVAL", "return 1", "5", "a", "b"}, "-ERR Number of keys can't be greater than number of args\r\n"},
	// without a shebang (Redis 6 rules) cross-slot access is allowed
	{[]string{"EVAL", "return redis.call('get', 'b')", "1", "a"}, "$-1\r\n"},
	{[]string{"EVAL", "#!lua\nreturn redis.call('get', 'b')", "1", "a"},
		"-ERR Script attempted to access keys that do not hash to the same slot script: b8f02a05dd1e87351f582a7692d4af90672f09ef, on @user_script:2.\r\n"},
	{[]string{"EVAL", "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', 'b')", "1", "a"}, "$-1\r\n"},
	// one command whose own keys span slots is refused even with allow-cross-slot-keys
	{[]string{"EVAL", "#!lua\nreturn redis.call('mget', 'a', 'b')", "0"},
		"-ERR Script attempted to access a non local key in a cluster node script: fb81a31e1340ef43d12205c7029cc6e55d7e8f7d, on @user_script:2.\r\n"},
	{[]string{"EVAL", "#!lua flags=allow-cross-slot-keys\nreturn redis.call('mget', 'a', 'b')", "0"},
		"-ERR Script attempted to access a non local key in a cluster node script: d5a54ea4a93619aabc718797cdf6d02baec43f08, on @user_script:2.\r\n"},
	{[]string{"EVAL", "#!lua\nreturn redis.pcall('mget', 'a', 'b')", "0"}, "-ERR Script attempted to access a non local key in a cluster node\r\n"},
	// undeclared keys: the first one fixes the slot
	{[]string{"EVAL", "#!lua\nredis.call('get', 'a') return redis.call('get', 'b')", "0"},
		"-ERR Script attempted to access keys that do not hash to the same slot script: e8b172fdf4d14b58ecfe4fa50bf269ba22001c60, on @user_script:2.\r\n"},
	{[]string{"EVAL", "#!lua\nredis.call('get', 'a') return redis.call('get', '{a}b')", "0"}, "$-1\r\n"},
	{[]string{"EVAL", "#!lua\nredis.call('ping') return redis.call('get', '{a}b')", "0"}, "$-1\r\n"},
	{[]string{"FUNCTION", "LOAD", "REPLACE", "#!lua name=cl\n" +
		"redis.register_function{function_name='nc', callback=function() return 1 end, flags={'no-cluster'}}\n" +
		"redis.register_function('cs', function(k) return redis.call('get', 'b') end)\n" +
		"redis.register_function{function_name='ok', callback=function(k) return redis.call('get', 'b') end, flags={'allow-cross-slot-keys'}}"}, "$2\r\ncl\r\n"},
	{[]string{"FCALL", "nc", "0"}, "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n"},
	{[]string{"FCALL", "cs", "1", "a"}, "-ERR Script attempted to access keys that do not hash to the same slot script: cs, on @user_function:3.\r\n"},
	{[]string{"FCALL", "ok", "1", "a"}, "$-1\r\n"},
}

// TestScriptClusterFlags checks no-cluster and allow-cross-slot-keys on a sard started
// with cluster-enabled yes against the replies above, and checks the replies against a
// real redis-server cluster node when one is installed.
func TestScriptClusterFlags(t *testing.T) {
	servers := []*testutil.Server{testutil.StartSard(t, "--cluster-enabled", "yes")}
	if _, err := exec.LookPath("redis-server"); err == nil || os.Getenv("SARD_REQUIRE_REDIS") == "1" {
		r := testutil.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
		rc := testutil.DialRaw(t, r.Addr)
		if got, err := rc.Do("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || string(got) != "+OK\r\n" {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %q %v", got, err)
		}
		testutil.Eventually(t, 10*time.Second, func() bool {
			info, _ := rc.Do("CLUSTER", "INFO")
			return strings.Contains(string(info), "cluster_state:ok")
		}, "redis cluster state ok")
		servers = append(servers, r)
	} else {
		t.Log("redis-server not installed: sard is checked against the recorded replies only")
	}
	for _, srv := range servers {
		rc := testutil.DialRaw(t, srv.Addr)
		for _, tc := range clusterScriptCases {
			got, err := rc.Do(tc.args...)
			if err != nil {
				t.Fatalf("%s: %v: %v", srv.Name, tc.args, err)
			}
			if string(got) != tc.want {
				t.Errorf("%s: %q\n got  %q\n want %q", srv.Name, tc.args, got, tc.want)
			}
		}
	}
}
