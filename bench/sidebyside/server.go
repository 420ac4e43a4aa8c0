package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one running server process under test.
type server struct {
	name    string // "sard" or "redis", used in messages
	bin     string
	port    int
	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // valid once exited is closed
}

// freePort asks the kernel for an unused loopback port. There is a small race
// between closing the probe listener and the server binding it; startServer
// reports a clear error if the server loses that race.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer launches bin with redis-server style arguments on a free port
// in a fresh temporary directory and waits until it answers PING.
func startServer(name, bin string, extra []string) (*server, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s binary %q not found: %v", name, bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %v", err)
	}
	dir, err := os.MkdirTemp("", "sidebyside-"+name+"-")
	if err != nil {
		return nil, err
	}
	s := &server{name: name, bin: path, port: port, dir: dir, logPath: dir + "/server.log", exited: make(chan struct{})}
	logf, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no"}
	args = append(args, extra...)
	s.cmd = exec.Command(path, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = logf
	s.cmd.Stderr = logf
	// Own process group so a terminal Ctrl-C reaches only the harness, which
	// then stops the servers in order; Pdeathsig covers the harness being
	// killed outright so no server is left listening.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(15 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// deadErr describes a server that exited, with the end of its log.
func (s *server) deadErr() error {
	return fmt.Errorf("%s (%s, port %d) exited: %v\n--- last lines of %s ---\n%s",
		s.name, s.bin, s.port, s.waitErr, s.logPath, s.logTail(20))
}

func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if !s.alive() {
			return s.deadErr()
		}
		r, err := s.do(2*time.Second, "PING")
		if err == nil && r == "PONG" {
			return nil
		}
		if err != nil && strings.HasPrefix(err.Error(), "NOAUTH") {
			return nil // up, but started with requirepass
		}
		last = err
		if err == nil {
			last = fmt.Errorf("PING replied %q", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s on port %d not ready after %v: %v\n--- last lines of %s ---\n%s",
		s.name, s.port, limit, last, s.logPath, s.logTail(20))
}

// stop asks the server to exit with SIGTERM, escalates to SIGKILL, and
// removes its directory. Safe to call more than once.
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil && s.alive() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rssBytes reads VmRSS of the server process from /proc.
func (s *server) rssBytes() (int64, error) {
	return readVmRSS(fmt.Sprintf("/proc/%d/status", s.pid()))
}

// cpuTime is the user plus system CPU the server process has used so far,
// all threads included. Unlike throughput it barely moves when other jobs
// compete for the machine, so it is the steadier figure on a busy host.
func (s *server) cpuTime() (time.Duration, error) {
	// Per-thread schedstat counts nanoseconds; stat counts 10 ms ticks, too
	// coarse for a run of a second or two. Threads that exit are missing
	// from the sum, but neither server retires threads during a run.
	if d, err := schedstatCPU(fmt.Sprintf("/proc/%d/task", s.pid())); err == nil {
		return d, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// schedstatCPU sums the on-CPU time of every thread under a /proc task dir.
func schedstatCPU(taskDir string) (time.Duration, error) {
	ents, err := os.ReadDir(taskDir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		b, err := os.ReadFile(taskDir + "/" + e.Name() + "/schedstat")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread exited while we looked
			}
			return 0, err
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, errors.New("empty schedstat")
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad schedstat %q", b)
		}
		total += ns
	}
	return time.Duration(total), nil
}

// parseStatCPU reads utime and stime from a /proc/PID/stat line. The command
// name in parentheses may contain spaces, so fields are counted after ")".
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad utime/stime in /proc stat line")
	}
	// USER_HZ is 100 on every Linux build we run on.
	const tick = 10 * time.Millisecond
	return time.Duration(utime+stime) * tick, nil
}

func readVmRSS(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

// parseVmRSS extracts the "VmRSS:   1234 kB" line of a /proc status file.
func parseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line in status file")
}

// do sends one command and returns its reply flattened to a string; error
// replies come back as a Go error.
func (s *server) do(timeout time.Duration, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.addr(), timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(encodeCommand(nil, args)); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

// pipeline sends cmds in batches and checks that none of them failed.
func (s *server) pipeline(ctx context.Context, cmds [][]string) error {
	c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	const batch = 1000
	for start := 0; start < len(cmds); start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+batch, len(cmds))
		var buf []byte
		for _, cmd := range cmds[start:end] {
			buf = encodeCommand(buf, cmd)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(buf); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			if _, err := readReply(r); err != nil {
				return fmt.Errorf("%s: %v", strings.Join(cmds[i], " "), err)
			}
		}
	}
	return nil
}

func encodeCommand(buf []byte, args []string) []byte {
	buf = fmt.Appendf(buf, "*%d\r\n", len(args))
	for _, a := range args {
		buf = fmt.Appendf(buf, "$%d\r\n%s\r\n", len(a), a)
	}
	return buf
}

// readReply reads one RESP2 reply. Aggregates are joined with newlines,
// which is all the harness needs (PING, DBSIZE, INFO, setup commands).
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad array length %q", line)
		}
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// infoField returns one field of INFO output, or "" if absent.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), field+":"); ok {
			return v
		}
	}
	return ""
}

// subscribe opens a connection that subscribes to channel and then reads and
// discards everything published to it until the server goes away. The
// subscriber reads as fast as it can, so the benchmark measures the server's
// fan-out rather than a slow consumer.
func (s *server) subscribe(ctx context.Context, channel string) error {
	c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		return err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(encodeCommand(nil, []string{"SUBSCRIBE", channel})); err != nil {
		c.Close()
		return err
	}
	r := bufio.NewReader(c)
	if _, err := readReply(r); err != nil {
		c.Close()
		return err
	}
	_ = c.SetDeadline(time.Time{})
	go func() {
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		_, _ = io.Copy(io.Discard, r)
	}()
	return nil
}
