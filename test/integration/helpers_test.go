package integration

import (
	"context"
	"errors"
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

// logLineRe is Redis's log line prefix: "pid:role dd Mon yyyy hh:mm:ss.mmm <level> ".
var logLineRe = regexp.MustCompile(`^\d+:[CMS] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] `)

// signalLineRe is the shorter form Redis 7.0 uses for lines written from inside its signal
// handler ("pid:signal-handler (unixtime) Received SIGTERM ..."), accepted as well.
var signalLineRe = regexp.MustCompile(`^\d+:signal-handler \(\d+\) `)

// isLogLine reports whether line is in one of Redis's log line formats.
func isLogLine(line string) bool {
	return logLineRe.MatchString(line) || signalLineRe.MatchString(line)
}

// proc is a process the test started itself, for the cases testutil.StartSard cannot cover:
// a server that must fail to start, one without a TCP port, one in a network namespace, or
// one whose exit status and signals the test checks.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  testutil.LogBuffer
	done chan struct{}
}

// startProc starts bin with args in dir (a temp dir when empty). The process gets SIGTERM,
// then SIGKILL, when the test ends if it is still running.
func startProc(t *testing.T, dir, bin string, args ...string) *proc {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("output of %s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), tail(p.out.String(), 40))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) (code int, exited bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

// waitLog waits until the output contains s, or the process exits, or timeout passes.
func (p *proc) waitLog(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.out.String(), s) {
			return true
		}
		if p.exited() {
			return strings.Contains(p.out.String(), s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// mustReady fails the test unless the server logs that it accepts connections.
func (p *proc) mustReady() {
	p.t.Helper()
	if !p.waitLog("Ready to accept connections", 10*time.Second) {
		p.t.Fatalf("server never logged \"Ready to accept connections\"; output:\n%s", tail(p.out.String(), 40))
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sardBin is the built server; redisBin the oracle, skipping the test when absent.
func sardBin(t *testing.T) string  { return testutil.SardBinary(t) }
func redisBin(t *testing.T) string { return testutil.RequireTool(t, "redis-server") }

// cli runs redis-cli with args and returns its combined output.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// stripCLIWarning drops redis-cli's warning about -a on the command line.
func stripCLIWarning(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if !strings.HasPrefix(l, "Warning: Using a password") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// readUntilClose collects everything the server sends until it closes the connection or
// timeout passes; closed reports which happened.
func readUntilClose(c net.Conn, timeout time.Duration) (got []byte, closed bool) {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got, false
			}
			return got, true // EOF or reset: the server closed it
		}
	}
}

// exchange sends raw bytes on a fresh connection and returns what comes back before the
// server closes it (or within timeout).
func exchange(t *testing.T, addr string, raw []byte, timeout time.Duration) (got []byte, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatalf("write to %s: %v", addr, err)
	}
	return readUntilClose(c, timeout)
}

// isClosed reports whether the peer has closed c, waiting up to timeout for it.
func isClosed(c net.Conn, timeout time.Duration) bool {
	_, closed := readUntilClose(c, timeout)
	return closed
}

// shortTempDir is a directory with a short path, since a unix socket path must fit in
// 108 bytes and t.TempDir() names can be long.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "sk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// seedConf writes the seed's node config to dir, changing only port, bind, dir, pidfile and
// the cluster-announce-* addresses so that it runs on loopback.
func seedConf(t *testing.T, dir string, port int) string {
	t.Helper()
	src := filepath.Join(testutil.ModuleRoot(), "internal", "config", "testdata", "seed-node.conf")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("reading the seed config: %v", err)
	}
	replace := map[string]string{
		"port":                      strconv.Itoa(port),
		"bind":                      "127.0.0.1",
		"dir":                       dir,
		"pidfile":                   filepath.Join(dir, "redis.pid"),
		"cluster-announce-ip":       "127.0.0.1",
		"cluster-announce-port":     strconv.Itoa(port),
		"cluster-announce-bus-port": strconv.Itoa(port + 10000),
	}
	seen := map[string]bool{}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, ok := replace[f[0]]; ok {
			lines[i] = f[0] + " " + v
			seen[f[0]] = true
		}
	}
	for k := range replace {
		if !seen[k] {
			t.Fatalf("seed config has no %q line; did the testdata change?", k)
		}
	}
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// directives returns the first word of each non-comment line of a config file.
func directives(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			names = append(names, strings.ToLower(f[0]))
		}
	}
	return names
}

// drain reads n replies from rc, failing on the first error.
func drain(t *testing.T, rc *testutil.RawConn, n int) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		r, err := rc.ReadReply()
		if err != nil {
			t.Fatalf("reply %d of %d: %v (got %q)", i+1, n, err, r)
		}
		out = append(out, r)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// dialOK reports whether a TCP connection to addr can be opened.
func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
