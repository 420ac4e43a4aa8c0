package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sard-kv/sard/internal/testutil"
)

// TestBindTwoAddresses listens on 127.0.0.1 and 127.0.0.2 only: both answer, 127.0.0.3 is
// refused. A later --bind replaces the one StartSard passes, as in Redis.
func TestBindTwoAddresses(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t, "--bind", "127.0.0.1", "127.0.0.2")
	port := strconv.Itoa(s.Port)
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		got, closed := exchange(t, net.JoinHostPort(host, port), testutil.EncodeCommand("PING"), 300*time.Millisecond)
		if string(got) != "+PONG\r\n" || closed {
			t.Errorf("PING via %s = %q (closed %v)", host, got, closed)
		}
	}
	if dialOK(net.JoinHostPort("127.0.0.3", port)) {
		t.Errorf("127.0.0.3:%s accepted a connection; bind names only .1 and .2", port)
	}
}

// TestBindOptionalAddress: a '-' before an address that does not exist on this host lets the
// server start without it; the same address without '-' is fatal (exit 1), as in Redis.
func TestBindOptionalAddress(t *testing.T) {
	t.Parallel()
	const absent = "192.0.2.1" // TEST-NET-1, never configured on a host
	s := testutil.StartSard(t, "--bind", "127.0.0.1", "-"+absent)
	if got, err := s.Raw().Do("PING"); err != nil || string(got) != "+PONG\r\n" {
		t.Errorf("PING with an optional absent bind address = %q, %v", got, err)
	}
	p := startProc(t, "", sardBin(t), "--port", itoa(testutil.FreePort(t)), "--bind", "127.0.0.1", absent)
	if code, ok := p.wait(10 * time.Second); !ok || code != 1 {
		t.Errorf("mandatory absent bind address: exit %d (exited %v), want 1", code, ok)
	}
	if out := p.out.String(); !strings.Contains(out, absent) {
		t.Errorf("the failure does not name %s:\n%s", absent, out)
	}
}

// TestUnixSocket checks unixsocketperm on the socket file and that go-redis and redis-cli -s
// talk through it; with port 0 the unix socket is the only way in.
func TestUnixSocket(t *testing.T) {
	t.Parallel()
	t.Run("with-tcp", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(shortTempDir(t), "s.sock")
		s := testutil.StartSard(t, "--unixsocket", sock, "--unixsocketperm", "700")
		checkUnixSocket(t, sock)
		if want := unixReadyLine + sock; !strings.Contains(s.LogText(), want) {
			t.Errorf("log lacks %q", want)
		}
		if got, err := s.Raw().Do("PING"); err != nil || string(got) != "+PONG\r\n" {
			t.Errorf("TCP PING alongside the unix socket = %q, %v", got, err)
		}
	})
	t.Run("port-0", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(shortTempDir(t), "s.sock")
		p := startProc(t, "", sardBin(t), "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700")
		testutil.Eventually(t, 10*time.Second, func() bool {
			c, err := net.Dial("unix", sock)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "the unix socket accepting connections")
		// With no TCP port Redis logs only the unix-socket variant of the readiness line.
		if !p.waitLog(unixReadyLine+sock, 2*time.Second) {
			t.Errorf("log lacks %q", unixReadyLine+sock)
		}
		checkUnixSocket(t, sock)
		p.cmd.Process.Signal(os.Interrupt)
		if code, ok := p.wait(10 * time.Second); !ok || code != 0 {
			t.Errorf("exit after SIGINT = %d (exited %v)", code, ok)
		}
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("socket file %s left behind after exit: %v", sock, err)
		}
	})
}

const unixReadyLine = "The server is now ready to accept connections at "

func checkUnixSocket(t *testing.T, sock string) {
	t.Helper()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("stat %s: %v", sock, err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s mode = %v, want a socket with permissions 0700", sock, fi.Mode())
	}
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "via", "unix", 0).Err(); err != nil {
		t.Errorf("go-redis SET over unix: %v", err)
	}
	if v, err := c.Get(ctx, "via").Result(); err != nil || v != "unix" {
		t.Errorf("go-redis GET over unix = %q, %v", v, err)
	}
	out, err := cli(t, "-s", sock, "get", "via")
	if strings.TrimSpace(out) != "unix" || err != nil {
		t.Errorf("redis-cli -s %s get via = %q, %v", sock, out, err)
	}
}

// TestIdleTimeout: with timeout 1 an idle client is closed after one to a few seconds, while
// one that keeps talking is not.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t, "--timeout", "1")
	idle := s.Raw()
	busy := s.Raw()
	for _, c := range []*testutil.RawConn{idle, busy} {
		if got, err := c.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
			t.Fatalf("PING = %q, %v", got, err)
		}
	}
	start := time.Now()
	done := make(chan bool, 1)
	go func() { done <- isClosed(idle.Conn, 5*time.Second) }()
	for time.Since(start) < 2500*time.Millisecond {
		if got, err := busy.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
			t.Fatalf("a client sending every 300ms was dropped after %v: %q, %v", time.Since(start), got, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !<-done {
		t.Fatalf("idle client still open %v after its last command with timeout 1", time.Since(start))
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("idle client closed after %v, before the 1s timeout", el)
	}
}

// TestMaxClients: with maxclients 3 the fourth connection gets Redis's error and is closed;
// once one leaves, a new one is admitted.
func TestMaxClients(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sard", "redis"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var s *testutil.Server
			if name == "sard" {
				s = testutil.StartSard(t, "--maxclients", "3")
			} else {
				s = testutil.StartRedis(t, "--maxclients", "3")
			}
			var conns []*testutil.RawConn
			// The start-up probe's connection may still be counted for a moment.
			testutil.Eventually(t, 5*time.Second, func() bool {
				c, err := net.DialTimeout("tcp", s.Addr, time.Second)
				if err != nil {
					return false
				}
				rc := testutil.NewRawConn(c)
				rc.Timeout = time.Second
				if got, err := rc.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
					c.Close()
					return false
				}
				t.Cleanup(func() { c.Close() })
				conns = append(conns, rc)
				return len(conns) == 3
			}, "three clients admitted")
			got, closed := exchange(t, s.Addr, testutil.EncodeCommand("PING"), 2*time.Second)
			if string(got) != "-ERR max number of clients reached\r\n" || !closed {
				t.Errorf("fourth client got %q (closed %v), want -ERR max number of clients reached and a close", got, closed)
			}
			conns[0].Close()
			testutil.Eventually(t, 5*time.Second, func() bool {
				got, _ := exchange(t, s.Addr, testutil.EncodeCommand("PING"), 300*time.Millisecond)
				return string(got) == "+PONG\r\n"
			}, "a client admitted after another left")
		})
	}
}

// TestTCPKeepalive checks through /proc/net/tcp that the server's side of an accepted
// connection runs a keepalive timer of about tcp-keepalive seconds.
func TestTCPKeepalive(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skipf("no /proc/net/tcp to inspect socket timers: %v", err)
	}
	s := testutil.StartSard(t, "--tcp-keepalive", "60")
	rc := s.Raw()
	if got, err := rc.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	clientPort := rc.Conn.LocalAddr().(*net.TCPAddr).Port
	timer, when, ok := serverSocketTimer(t, s.Port, clientPort)
	if !ok {
		t.Fatalf("server socket %d->%d not found in /proc/net/tcp", s.Port, clientPort)
	}
	// /proc/net/tcp reports the timer in clock ticks of USER_HZ (100 on Linux).
	if timer != 2 || when <= 30*100 || when > 61*100 {
		t.Errorf("server socket timer = type %d, %d ticks; want keepalive (2) with about 60s left", timer, when)
	}
}

// serverSocketTimer finds the established socket local=:serverPort remote=:clientPort and
// returns its timer type and remaining ticks.
func serverSocketTimer(t *testing.T, serverPort, clientPort int) (timer int, when int64, ok bool) {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	suffix := func(addr string) int64 {
		i := strings.LastIndexByte(addr, ':')
		v, _ := strconv.ParseInt(addr[i+1:], 16, 64)
		return v
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 6 || f[3] != "01" {
			continue
		}
		if suffix(f[1]) != int64(serverPort) || suffix(f[2]) != int64(clientPort) {
			continue
		}
		tr, tm, _ := strings.Cut(f[5], ":")
		ty, _ := strconv.ParseInt(tr, 16, 32)
		w, _ := strconv.ParseInt(tm, 16, 64)
		return int(ty), w, true
	}
	return 0, 0, false
}

// TestTCPBacklog checks tcp-backlog reaches the kernel: ss shows a listening socket's
// accept queue limit in its Send-Q column.
func TestTCPBacklog(t *testing.T) {
	testutil.RequireTool(t, "ss")
	s := testutil.StartSard(t, "--tcp-backlog", "37")
	out, err := exec.Command("ss", "-ltnH", "sport = :"+strconv.Itoa(s.Port)).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 3 || fields[2] != "37" {
		t.Fatalf("listening socket: %q, want Send-Q 37", out)
	}
}

// TestConfigSetPort moves the listening socket at run time, as Redis does, and keeps the old
// one when the new port cannot be bound.
func TestConfigSetPort(t *testing.T) {
	s := testutil.StartSard(t)
	busy := testutil.StartRedis(t)
	c := testutil.DialRaw(t, s.Addr)
	reply, err := c.Do("CONFIG", "SET", "port", strconv.Itoa(busy.Port))
	want := "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
	if err != nil || string(reply) != want {
		t.Fatalf("CONFIG SET port to a busy port: %q %v, want %q", reply, err, want)
	}
	newPort := testutil.FreePort(t)
	if reply, err := c.Do("CONFIG", "SET", "port", strconv.Itoa(newPort)); err != nil || string(reply) != "+OK\r\n" {
		t.Fatalf("CONFIG SET port: %q %v", reply, err)
	}
	moved := testutil.DialRaw(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(newPort)))
	if reply, err := moved.Do("PING"); err != nil || string(reply) != "+PONG\r\n" {
		t.Fatalf("PING on the new port: %q %v", reply, err)
	}
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("the old port %s still accepts connections", s.Addr)
	}
}
