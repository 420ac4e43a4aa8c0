package integration

import (
	"context"
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

// startServer runs sard in the foreground on a free loopback port with extra args and waits
// until it answers; it returns the process and its address.
func startServer(t *testing.T, extra ...string) (*proc, string) {
	t.Helper()
	port := testutil.FreePort(t)
	dir := t.TempDir()
	args := append([]string{"--port", itoa(port), "--bind", "127.0.0.1", "--dir", dir}, extra...)
	p := startProc(t, dir, sardBin(t), args...)
	addr := "127.0.0.1:" + itoa(port)
	testutil.Eventually(t, 10*time.Second, func() bool { return p.exited() || dialOK(addr) }, "sard accepting connections")
	if p.exited() {
		t.Fatalf("sard exited at start:\n%s", p.out.String())
	}
	return p, addr
}

// stopWith sends sig and returns the exit code, failing if the process does not exit.
func stopWith(t *testing.T, p *proc, sig syscall.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	code, ok := p.wait(10 * time.Second)
	if !ok {
		t.Fatalf("no exit within 10s of %v", sig)
	}
	return code
}

// TestLogFormat: every line a default start writes is a Redis-format log line (no banner when
// stdout is not a terminal), including the standalone-mode line and the readiness line.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	p, addr := startServer(t)
	p.mustReady()
	stopWith(t, p, syscall.SIGTERM)
	out := p.out.String()
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !isLogLine(line) {
			t.Errorf("line %d not in Redis's log format: %q", i+1, line)
		}
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	for _, want := range []string{"Running mode=standalone, port=" + port + ".", " * Ready to accept connections"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(out, " PID: ") {
		t.Errorf("banner printed though always-show-logo is no and stdout is not a terminal")
	}
}

// TestLogLevelWarning: notice lines disappear, warning lines stay.
func TestLogLevelWarning(t *testing.T) {
	t.Parallel()
	p, _ := startServer(t, "--loglevel", "warning")
	stopWith(t, p, syscall.SIGTERM)
	out := p.out.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	warnings := 0
	for _, line := range lines {
		if signalLineRe.MatchString(line) {
			continue // Redis logs from its signal handler whatever the level
		}
		if !logLineRe.MatchString(line) {
			t.Errorf("not a log line: %q", line)
			continue
		}
		m := logLineRe.FindString(line)
		switch m[len(m)-2] {
		case '#':
			warnings++
		default:
			t.Errorf("below-warning line with --loglevel warning: %q", line)
		}
	}
	if warnings == 0 {
		t.Errorf("no warning-level lines at all; output:\n%s", out)
	}
}

// TestLogFile: --logfile sends the log to the file and nothing to stdout.
func TestLogFile(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "sard.log")
	p, _ := startServer(t, "--logfile", logPath)
	testutil.Eventually(t, 5*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "Ready to accept connections")
	}, "Ready to accept connections in the log file")
	stopWith(t, p, syscall.SIGTERM)
	b, _ := os.ReadFile(logPath)
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !isLogLine(line) {
			t.Errorf("log file line not in Redis's format: %q", line)
		}
	}
	if !strings.Contains(string(b), "Received SIGTERM scheduling shutdown...") {
		t.Errorf("log file lacks the shutdown line")
	}
	if out := p.out.String(); out != "" {
		t.Errorf("stdout/stderr not empty with --logfile:\n%s", out)
	}
}

// TestAlwaysShowLogo: the banner carries " PID: <pid>" and replaces the Running mode line.
func TestAlwaysShowLogo(t *testing.T) {
	t.Parallel()
	p, _ := startServer(t, "--always-show-logo", "yes")
	p.mustReady()
	out := p.out.String()
	if !strings.Contains(out, " PID: "+itoa(p.pid())) {
		t.Errorf("banner lacks \" PID: %d\":\n%s", p.pid(), out)
	}
	if strings.Contains(out, "Running mode=") {
		t.Errorf("Running mode line printed alongside the banner")
	}
}

// TestPidFile: written with the pid at start, removed at a clean exit.
func TestPidFile(t *testing.T) {
	t.Parallel()
	pidPath := filepath.Join(t.TempDir(), "sard.pid")
	p, _ := startServer(t, "--pidfile", pidPath)
	testutil.Eventually(t, 5*time.Second, func() bool {
		b, err := os.ReadFile(pidPath)
		return err == nil && strings.TrimSpace(string(b)) == itoa(p.pid())
	}, "pidfile holding the server's pid")
	if code := stopWith(t, p, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after exit: %v", err)
	}
}

// TestDaemonize: the command returns at once, the daemon writes its pidfile and log, answers,
// and SIGTERM to the pid in the pidfile stops it and removes the pidfile.
func TestDaemonize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidPath, logPath := filepath.Join(dir, "d.pid"), filepath.Join(dir, "d.log")
	port := testutil.FreePort(t)
	addr := "127.0.0.1:" + itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sardBin(t), "--daemonize", "yes", "--pidfile", pidPath, "--logfile", logPath,
		"--port", itoa(port), "--bind", "127.0.0.1", "--dir", dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sard --daemonize yes: %v\n%s", err, out)
	}
	var pid int
	testutil.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(pidPath)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, "the daemon's pidfile")
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if pid == cmd.Process.Pid {
		t.Errorf("pidfile holds the launching process's pid %d, not a daemon's", pid)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		got, _ := exchange(t, addr, testutil.EncodeCommand("PING"), 300*time.Millisecond)
		return string(got) == "+PONG\r\n"
	}, "the daemon answering PING")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to %d: %v", pid, err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return !alive(pid) }, "the daemon exiting after SIGTERM")
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after the daemon exited: %v", err)
	}
	b, _ := os.ReadFile(logPath)
	for _, want := range []string{"Ready to accept connections", "Received SIGTERM scheduling shutdown..."} {
		if !strings.Contains(string(b), want) {
			t.Errorf("daemon log lacks %q:\n%s", want, b)
		}
	}
}

// alive reports whether pid runs and is not a zombie waiting for a reaper.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// TestSignals: SIGTERM and SIGINT shut a foreground server down gracefully with status 0.
func TestSignals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, _ := startServer(t)
			p.mustReady()
			if code := stopWith(t, p, tc.sig); code != 0 {
				t.Errorf("exit code %d after %s, want 0", code, tc.name)
			}
			if want := "Received " + tc.name + " scheduling shutdown..."; !strings.Contains(p.out.String(), want) {
				t.Errorf("log lacks %q", want)
			}
		})
	}
}

// TestShutdownCommand: SHUTDOWN closes the connection without a reply and ends the process.
func TestShutdownCommand(t *testing.T) {
	t.Parallel()
	p, addr := startServer(t)
	got, closed := exchange(t, addr, testutil.EncodeCommand("SHUTDOWN", "NOSAVE"), 5*time.Second)
	if len(got) != 0 || !closed {
		t.Errorf("SHUTDOWN NOSAVE: got %q (closed %v), want no reply and a closed connection", got, closed)
	}
	code, ok := p.wait(10 * time.Second)
	if !ok || code != 0 {
		t.Errorf("after SHUTDOWN: exit %d (exited %v), want 0", code, ok)
	}
}

var versionRe = regexp.MustCompile(`v=\d+\.\d+\.\d+`)

// TestVersionFlag: -v and --version print one version line and exit 0.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"-v", "--version"} {
		out, err := exec.Command(sardBin(t), flag).CombinedOutput()
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if err != nil || len(lines) != 1 || !versionRe.MatchString(lines[0]) {
			t.Errorf("sard-server %s = %q, %v; want one line with v=X.Y.Z and exit 0", flag, out, err)
		}
	}
}
