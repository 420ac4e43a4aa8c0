package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReadyTimeout bounds how long Start waits for a new process to answer PING.
const ReadyTimeout = 10 * time.Second

// StopTimeout bounds how long Stop waits after SIGTERM before killing.
const StopTimeout = 10 * time.Second

// Server is a sard or redis-server process listening on 127.0.0.1:Port with its
// own working directory. It is stopped when the test that started it ends.
type Server struct {
	Addr string
	Port int
	Dir  string
	Cmd  *exec.Cmd // the current process; nil before Start
	Name string    // "sard" or "redis", for messages
	Bin  string
	Args []string // everything after the binary, including --port and --dir

	tb      testing.TB
	logFile *os.File      // the process's stdout and stderr, across restarts
	done    chan struct{} // closed once Cmd has exited and been reaped
}

// LogBuffer collects a process's stdout and stderr while a test reads it (safe for
// concurrent writes and reads).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartSard starts sard-server with --port, --bind 127.0.0.1, --dir, DEBUG enabled (as
// StartRedis does, so DEBUG DIGEST can compare the two) and args. A first argument not
// starting with "--" is taken as a config file and placed first, as redis-server requires.
func StartSard(tb testing.TB, args ...string) *Server {
	tb.Helper()
	return startNew(tb, "sard", SardBinary(tb), []string{"--enable-debug-command", "yes"}, args)
}

// StartRedis starts the real redis-server with persistence off and DEBUG
// enabled, plus args. It skips the test if redis-server is not installed,
// unless SARD_REQUIRE_REDIS=1.
func StartRedis(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin := RequireTool(tb, "redis-server")
	fixed := []string{"--save", "", "--appendonly", "no", "--enable-debug-command", "yes"}
	return startNew(tb, "redis", bin, fixed, args)
}

func startNew(tb testing.TB, name, bin string, fixed, args []string) *Server {
	tb.Helper()
	dir := tb.TempDir()
	var conf []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		conf, args = args[:1], args[1:]
	}
	// The process writes its log straight into a file (not a pipe copied by a goroutine),
	// so a line it logged before answering a request is there when the answer arrives.
	logFile, err := os.OpenFile(filepath.Join(tb.TempDir(), name+".log"), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Name: name, Bin: bin, Dir: dir, tb: tb, logFile: logFile}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("%s on %s, last lines of its log:\n%s", s.Name, s.Addr, s.LogTail(30))
		}
		s.Stop()
		logFile.Close()
	})
	// The port can be taken between FreePort and the server's bind; try again
	// on another port rather than fail the test for someone else's socket.
	for attempt := 0; ; attempt++ {
		s.Port = FreePort(tb)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		s.Args = append(append([]string{}, conf...), "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", dir)
		s.Args = append(append(s.Args, fixed...), args...)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt < 3 && s.exited() && strings.Contains(strings.ToLower(s.LogText()), "address already in use") {
			continue
		}
		tb.Fatalf("starting %s %s: %v\nlog:\n%s", s.Name, strings.Join(quoteArgs(s.Args), " "), err, s.LogText())
	}
}

// Start starts the process again after Stop or Kill, on the same port and
// directory, and waits until it answers PING.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.TryStart(); err != nil {
		s.tb.Fatal(err)
	}
}

// TryStart is Start returning the failure instead of ending the test that
// created the server, for callers running in a subtest of it.
func (s *Server) TryStart() error {
	if s.Cmd != nil && !s.exited() {
		return fmt.Errorf("%s on %s: Start while already running", s.Name, s.Addr)
	}
	if err := s.start(); err != nil {
		return fmt.Errorf("restarting %s on %s: %v\nlog:\n%s", s.Name, s.Addr, err, s.LogTail(60))
	}
	return nil
}

func (s *Server) start() error {
	if s.Cmd != nil {
		fmt.Fprintf(s.logFile, "\n----- testutil: starting again -----\n")
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Dir = s.Dir
	cmd.Stdout = s.logFile
	cmd.Stderr = s.logFile
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.Cmd = cmd
	done := make(chan struct{})
	s.done = done
	go func() {
		cmd.Wait()
		close(done)
	}()
	ready := Poll(ReadyTimeout, func() bool { return s.exited() || s.answersPing() })
	switch {
	case s.exited():
		return fmt.Errorf("process exited before answering PING: %v", cmd.ProcessState)
	case !ready:
		s.Kill()
		return fmt.Errorf("no answer to PING within %v", ReadyTimeout)
	}
	return nil
}

// answersPing reports whether the server replies to PING with anything but
// -LOADING; -NOAUTH counts, since a password-protected server is up.
func (s *Server) answersPing() bool {
	c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	rc := NewRawConn(c)
	rc.Timeout = time.Second
	reply, err := rc.Do("PING")
	return err == nil && !bytes.HasPrefix(reply, []byte("-LOADING"))
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits up to StopTimeout for the process to exit,
// then kills it. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.Cmd == nil || s.exited() {
		return
	}
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(StopTimeout):
		s.tb.Logf("%s on %s did not exit %v after SIGTERM; killing it", s.Name, s.Addr, StopTimeout)
		s.Kill()
	}
}

// Kill sends SIGKILL, as a crash would, and waits for the process to go.
func (s *Server) Kill() {
	if s.Cmd == nil || s.exited() {
		return
	}
	s.Cmd.Process.Kill()
	<-s.done
}

// Restart stops the server gracefully and starts it again.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	return s.Cmd != nil && !s.exited()
}

// LogText returns everything the process wrote to stdout and stderr so far,
// across restarts.
func (s *Server) LogText() string {
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	return string(b)
}

// LogTail returns the last n lines of LogText, e.g. the panic of a crash.
func (s *Server) LogTail(n int) string {
	return lastLines(s.LogText(), n)
}

// Client returns a go-redis client for the server, closed when the test ends.
// Each opt may adjust the options before the client is made.
func (s *Server) Client(opts ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: s.Addr}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Dial opens a raw TCP connection to the server, closed when the test ends.
func (s *Server) Dial() net.Conn {
	s.tb.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		s.tb.Fatalf("dialing %s on %s: %v", s.Name, s.Addr, err)
	}
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Raw opens a RawConn to the server, closed when the test ends.
func (s *Server) Raw() *RawConn {
	s.tb.Helper()
	return NewRawConn(s.Dial())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// quoteArgs makes empty arguments such as --save "" visible in messages.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}
