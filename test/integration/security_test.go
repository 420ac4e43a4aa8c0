package integration

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestMain lets the test binary double as a tiny client run inside a network namespace (see
// TestProtectedMode): with SARD_IT_DIAL set it sends one request and prints the raw answer.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SARD_IT_DIAL"); addr != "" {
		os.Exit(dialAndPrint(addr))
	}
	os.Exit(m.Run())
}

func dialAndPrint(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		os.Stdout.WriteString("dial error: " + err.Error() + "\n")
		return 2
	}
	defer c.Close()
	c.Write(testutil.EncodeCommand("PING"))
	got, closed := readUntilClose(c, 2*time.Second)
	os.Stdout.WriteString(strconv.Quote(string(got)) + " closed=" + strconv.FormatBool(closed) + "\n")
	return 0
}

// authScript is what a client does against a password-protected server, from a fresh
// connection; every reply must match Redis 7.0's bytes.
var authScript = [][]string{
	{"GET", "k"},
	{"PING"},
	{"AUTH", "wrong"},
	{"AUTH", "default", "wrong"},
	{"AUTH", "nosuchuser", "pw"},
	{"AUTH", "a", "b", "c"},
	{"HELLO", "3"},
	{"HELLO", "2", "AUTH", "default", "wrong"},
	{"SET", "k", "v"},
	{"AUTH", "pw"},
	{"GET", "k"},
	{"AUTH", "default", "pw"},
	{"SET", "k", "v"},
	{"ACL", "WHOAMI"},
	{"AUTH", "wrong"},
	{"GET", "k"}, // a failed AUTH does not log out an authenticated client
}

// TestAuth runs authScript on sard and redis-server with requirepass set from a config file
// and from the command line, and the password-less cases on servers without requirepass.
func TestAuth(t *testing.T) {
	t.Parallel()
	for _, source := range []string{"file", "args"} {
		t.Run(source, func(t *testing.T) {
			t.Parallel()
			var args []string
			if source == "file" {
				path := filepath.Join(t.TempDir(), "auth.conf")
				if err := os.WriteFile(path, []byte("requirepass pw\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{path}
			} else {
				args = []string{"--requirepass", "pw"}
			}
			sard := testutil.StartSard(t, args...)
			redis := testutil.StartRedis(t, args...)
			sc, rc := sard.Raw(), redis.Raw()
			for _, cmd := range authScript {
				got, err := sc.Do(cmd...)
				want, _ := rc.Do(cmd...)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%q: sard %q (err %v), redis %q", cmd, got, err, want)
				}
			}
			t.Run("hello-auth-setname", func(t *testing.T) {
				sc, rc := sard.Raw(), redis.Raw()
				hello := []string{"HELLO", "3", "AUTH", "default", "pw", "SETNAME", "x"}
				got, err1 := sc.Do(hello...)
				want, err2 := rc.Do(hello...)
				if err1 != nil || err2 != nil {
					t.Fatalf("HELLO: sard %v, redis %v", err1, err2)
				}
				checkHello(t, got, want, 3)
				for _, cmd := range [][]string{{"CLIENT", "GETNAME"}, {"GET", "k"}, {"GET", "nokey"}} {
					got, err := sc.Do(cmd...)
					want, _ := rc.Do(cmd...)
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("after HELLO 3 AUTH: %q: sard %q (err %v), redis %q", cmd, got, err, want)
					}
				}
			})
		})
	}
	t.Run("no-password", func(t *testing.T) {
		t.Parallel()
		sard := testutil.StartSard(t)
		redis := testutil.StartRedis(t)
		sc, rc := sard.Raw(), redis.Raw()
		for _, cmd := range [][]string{
			{"AUTH", "pw"},
			{"AUTH", "default", "anything"}, // the default user is nopass
			{"AUTH", "other", "pw"},
			{"HELLO", "2", "AUTH", "default", "x"},
			{"ACL", "WHOAMI"},
			{"GET", "k"},
		} {
			got, err := sc.Do(cmd...)
			want, _ := rc.Do(cmd...)
			if cmd[0] == "HELLO" && err == nil {
				checkHello(t, got, want, 2)
				continue
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%q: sard %q (err %v), redis %q", cmd, got, err, want)
			}
		}
	})
}

// TestProtectedMode connects from a non-loopback address, which needs a pair of network
// namespaces joined by a veth link (10.200.0.1 for the servers, 10.200.0.2 for the client).
// Without a password both sard and redis-server refuse with -DENIED; with one, they don't.
func TestProtectedMode(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (ip netns add)")
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		t.Skipf("iproute2's ip not installed: %v", err)
	}
	redisPath := redisBin(t)
	sardPath := sardBin(t)
	id := strconv.Itoa(os.Getpid())
	nsSrv, nsCli := "sardit-s-"+id, "sardit-c-"+id
	vSrv, vCli := "sits"+id, "sitc"+id
	run := func(args ...string) error {
		out, err := exec.Command(ipBin, args...).CombinedOutput()
		if err != nil {
			return &cmdError{args: args, out: string(out), err: err}
		}
		return nil
	}
	if err := run("netns", "add", nsSrv); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() { run("netns", "del", nsSrv) })
	if err := run("netns", "add", nsCli); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run("netns", "del", nsCli) })
	for _, step := range [][]string{
		{"-n", nsSrv, "link", "add", vSrv, "type", "veth", "peer", "name", vCli, "netns", nsCli},
		{"-n", nsSrv, "addr", "add", "10.200.0.1/24", "dev", vSrv},
		{"-n", nsCli, "addr", "add", "10.200.0.2/24", "dev", vCli},
		{"-n", nsSrv, "link", "set", vSrv, "up"},
		{"-n", nsCli, "link", "set", vCli, "up"},
		{"-n", nsSrv, "link", "set", "lo", "up"},
		{"-n", nsCli, "link", "set", "lo", "up"},
	} {
		if err := run(step...); err != nil {
			t.Fatal(err)
		}
	}
	denied := strconv.Quote(protectedModeDenied) + " closed=true"
	noauth := strconv.Quote("-NOAUTH Authentication required.\r\n") + " closed=false"
	cases := []struct {
		name, bin string
		port      int
		extra     []string
		want      string
	}{
		{"sard-no-password", sardPath, 6379, nil, denied},
		{"sard-password", sardPath, 6380, []string{"--requirepass", "pw"}, noauth},
		{"redis-no-password", redisPath, 6381, []string{"--save", ""}, denied},
		{"redis-password", redisPath, 6382, []string{"--save", "", "--requirepass", "pw"}, noauth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"netns", "exec", nsSrv, tc.bin, "--port", itoa(tc.port),
				"--bind", "10.200.0.1", "--protected-mode", "yes"}, tc.extra...)
			p := startProc(t, "", ipBin, args...)
			p.mustReady()
			cmd := exec.Command(ipBin, "netns", "exec", nsCli, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SARD_IT_DIAL=10.200.0.1:"+itoa(tc.port))
			out, err := cmd.CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
				t.Errorf("from 10.200.0.2: got %s (err %v)\nwant %s", got, err, tc.want)
			}
		})
	}
}

// protectedModeDenied is Redis 7.0.15's text, typo included ("Setup a an").
const protectedModeDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

type cmdError struct {
	args []string
	out  string
	err  error
}

func (e *cmdError) Error() string {
	return "ip " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + strings.TrimSpace(e.out)
}
