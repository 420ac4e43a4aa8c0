package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// These tests run a server in process on a real socket, so the race detector sees the event
// loop, its hand-overs and the goroutines a waiting client moves to
// (go test -race -run EventLoop ./internal/server).

func startLoopServer(t *testing.T, directives ...string) (*Server, string) {
	t.Helper()
	s, addr := newListeningServer(t, directives...)
	done := make(chan struct{})
	go func() { s.Serve(); close(done) }()
	t.Cleanup(func() {
		s.Shutdown(0)
		<-done
		s.mu.Lock()
		for _, c := range s.clients {
			c.close()
		}
		s.mu.Unlock()
	})
	return s, addr
}

func mustDo(t *testing.T, rc *testutil.RawConn, want string, args ...string) {
	t.Helper()
	got, err := rc.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if string(got) != want {
		t.Fatalf("%v: got %q, want %q", args, got, want)
	}
}

// usesEventLoop checks that the loops serve s's clients, unless SARD_EVENTLOOPS=0 asked for
// a goroutine per connection: the tests then check the same behaviour on that path.
func usesEventLoop(t *testing.T, s *Server) {
	t.Helper()
	s.io.loops.once.Do(func() { s.io.loops.start(s) })
	if loopCount != 0 && len(s.io.loops.loops) == 0 {
		t.Fatal("no event loop started")
	}
}

// TestEventLoopPipelinesFromManyClients: concurrent clients, each pipelining, get every
// reply in order, and the counter sees every increment.
func TestEventLoopPipelinesFromManyClients(t *testing.T) {
	s, addr := startLoopServer(t)
	pipelineFromManyClients(t, s, addr)
}

// TestEventLoopSeveralLoops: with io-threads 3 the clients are spread over three loops that
// share the command lock.
func TestEventLoopSeveralLoops(t *testing.T) {
	s, addr := startLoopServer(t, "io-threads", "3")
	usesEventLoop(t, s)
	if n := len(s.io.loops.loops); n != 3 && loopCount < 0 {
		t.Fatalf("%d event loops, want 3", n)
	}
	pipelineFromManyClients(t, s, addr)
}

func pipelineFromManyClients(t *testing.T, s *Server, addr string) {
	const clients, rounds, depth = 20, 30, 16
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := testutil.DialRaw(t, addr)
			key := "k" + strconv.Itoa(i)
			for r := range rounds {
				var cmds [][]string
				for d := range depth {
					cmds = append(cmds, []string{"SET", key, strconv.Itoa(r*depth + d)}, []string{"GET", key}, []string{"INCR", "counter"})
				}
				replies, err := rc.Pipeline(cmds...)
				if err != nil {
					errs <- err
					return
				}
				for d := range depth {
					v := strconv.Itoa(r*depth + d)
					if string(replies[3*d]) != "+OK\r\n" || string(replies[3*d+1]) != fmt.Sprintf("$%d\r\n%s\r\n", len(v), v) {
						errs <- fmt.Errorf("client %d: replies %q %q", i, replies[3*d], replies[3*d+1])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	usesEventLoop(t, s)
	rc := testutil.DialRaw(t, addr)
	mustDo(t, rc, fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(clients*rounds*depth)), clients*rounds*depth), "GET", "counter")
}

// TestEventLoopLargeValuesSlowReader: a request spread over many reads, and replies larger
// than the socket takes at once to a client that reads late, arrive whole.
func TestEventLoopLargeValuesSlowReader(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	rc := testutil.DialRaw(t, addr)
	val := strings.Repeat("abcdefghij", 300_000) // 3 MB
	mustDo(t, rc, "+OK\r\n", "SET", "big", val)
	const n = 20 // 60 MB of replies, far more than the socket buffers hold
	var req []byte
	for range n {
		req = append(req, testutil.EncodeCommand("GET", "big")...)
	}
	if err := rc.Send(req); err != nil {
		t.Fatal(err)
	}
	// Meanwhile the server must keep answering others.
	other := testutil.DialRaw(t, addr)
	time.Sleep(100 * time.Millisecond)
	mustDo(t, other, "+PONG\r\n", "PING")
	want := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
	for i := range n {
		got, err := rc.ReadReply()
		if err != nil || string(got) != want {
			t.Fatalf("reply %d: %d bytes, err %v", i, len(got), err)
		}
	}
	mustDo(t, rc, "+PONG\r\n", "PING")
}

// TestEventLoopBlockedClientHandsOver: a client blocked in BLPOP waits on its own goroutine;
// the loop keeps serving others, and the command pipelined after BLPOP runs once it is
// served.
func TestEventLoopBlockedClientHandsOver(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	if err := a.Send(append(testutil.EncodeCommand("BLPOP", "q", "0"), testutil.EncodeCommand("PING")...)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		got, _ := b.Do("INFO", "clients")
		return bytes.Contains(got, []byte("blocked_clients:1"))
	}, "a blocked in BLPOP")
	for range 50 {
		mustDo(t, b, "+PONG\r\n", "PING")
	}
	mustDo(t, b, ":1\r\n", "LPUSH", "q", "x")
	got, err := a.ReadReply()
	if err != nil || string(got) != "*2\r\n$1\r\nq\r\n$1\r\nx\r\n" {
		t.Fatalf("BLPOP reply %q, %v", got, err)
	}
	got, err = a.ReadReply()
	if err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("PING after BLPOP: %q, %v", got, err)
	}
	// and it goes on from the loop
	for range 20 {
		mustDo(t, a, "+PONG\r\n", "PING")
	}
	// a timeout, then again
	mustDo(t, a, "*-1\r\n", "BLPOP", "q", "0.05")
	mustDo(t, b, ":1\r\n", "RPUSH", "q", "y")
	mustDo(t, a, "*2\r\n$1\r\nq\r\n$1\r\ny\r\n", "BLPOP", "q", "1")
}

// TestEventLoopPausedWriterHandsOver: a write held by CLIENT PAUSE WRITE waits on its own
// goroutine while reads from other clients are answered.
func TestEventLoopPausedWriterHandsOver(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	admin := testutil.DialRaw(t, addr)
	w := testutil.DialRaw(t, addr)
	r := testutil.DialRaw(t, addr)
	mustDo(t, admin, "+OK\r\n", "CLIENT", "PAUSE", "60000", "WRITE")
	if err := w.Send(testutil.EncodeCommand("SET", "x", "1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	mustDo(t, r, "$-1\r\n", "GET", "x")
	mustDo(t, admin, "+OK\r\n", "CLIENT", "UNPAUSE")
	got, err := w.ReadReply()
	if err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("paused SET: %q, %v", got, err)
	}
	mustDo(t, r, "$1\r\n1\r\n", "GET", "x")
}

// TestEventLoopSlowScriptHandsOver: while a script runs past busy-reply-threshold, other
// clients get -BUSY and SCRIPT KILL reaches it.
func TestEventLoopSlowScriptHandsOver(t *testing.T) {
	s, addr := startLoopServer(t, "busy-reply-threshold", "50")
	usesEventLoop(t, s)
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	if err := a.Send(testutil.EncodeCommand("EVAL", "while true do end", "0")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		got, err := b.Do("PING")
		return err == nil && bytes.HasPrefix(got, []byte("-BUSY"))
	}, "-BUSY from another client")
	mustDo(t, b, "+OK\r\n", "SCRIPT", "KILL")
	got, err := a.ReadReply()
	if err != nil || !bytes.Contains(got, []byte("Script killed")) {
		t.Fatalf("EVAL reply %q, %v", got, err)
	}
	mustDo(t, a, "+PONG\r\n", "PING")
}

// TestEventLoopWaitHandsOver: WAIT with no replica waits out its timeout on its own
// goroutine while others are served.
func TestEventLoopWaitHandsOver(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	start := time.Now()
	if err := a.Send(testutil.EncodeCommand("WAIT", "1", "300")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	mustDo(t, b, "+PONG\r\n", "PING")
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("PING answered after %v, behind the WAIT", d)
	}
	got, err := a.ReadReply()
	if err != nil || string(got) != ":0\r\n" {
		t.Fatalf("WAIT: %q, %v", got, err)
	}
}

// TestEventLoopKill: CLIENT KILL ends idle and blocked loop clients at once, and they leave
// CLIENT LIST.
func TestEventLoopKill(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	admin := testutil.DialRaw(t, addr)
	idle := testutil.DialRaw(t, addr)
	blocked := testutil.DialRaw(t, addr)
	idleID, _ := idle.Do("CLIENT", "ID")
	blockedID, _ := blocked.Do("CLIENT", "ID")
	if err := blocked.Send(testutil.EncodeCommand("BLPOP", "nothing", "0")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		got, _ := admin.Do("INFO", "clients")
		return bytes.Contains(got, []byte("blocked_clients:1"))
	}, "client blocked")
	for _, id := range [][]byte{idleID, blockedID} {
		mustDo(t, admin, ":1\r\n", "CLIENT", "KILL", "ID", strings.Trim(string(id), ":\r\n"))
	}
	for name, rc := range map[string]*testutil.RawConn{"idle": idle, "blocked": blocked} {
		rc.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := rc.Conn.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s client: read %d, %v after CLIENT KILL, want EOF", name, n, err)
		}
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.clients) == 1
	}, "killed clients unlinked")
}

// TestEventLoopConnectionChurn: connections opened and dropped (with or without a request
// in flight) are all unlinked, and fds reused by new connections are served.
func TestEventLoopConnectionChurn(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	for i := range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			rc := testutil.NewRawConn(c)
			mustDo(t, rc, "+PONG\r\n", "PING")
		case 1:
			c.Write(testutil.EncodeCommand("SET", "k", "v"))
		case 2:
			// the request and the end of the stream arrive together: answered, then closed
			c.Write(testutil.EncodeCommand("PING"))
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := io.ReadAll(c); err != nil || string(got) != "+PONG\r\n" {
				t.Fatalf("half-closed client: %q, %v", got, err)
			}
		}
		c.Close()
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.clients) == 0
	}, "every dropped connection unlinked")
	rc := testutil.DialRaw(t, addr)
	mustDo(t, rc, "+OK\r\n", "QUIT")
	rc.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.Conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after QUIT: %v, want EOF", err)
	}
	bad := testutil.DialRaw(t, addr)
	if err := bad.Send([]byte("*1\r\n$x\r\n")); err != nil {
		t.Fatal(err)
	}
	got, err := bad.ReadReply()
	if err != nil || string(got) != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Fatalf("protocol error reply %q, %v", got, err)
	}
	bad.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after a protocol error: %v, want EOF", err)
	}
}

// TestEventLoopPubSub: messages published by one client reach subscribers served by the
// loop, interleaved correctly with their own replies.
func TestEventLoopPubSub(t *testing.T) {
	s, addr := startLoopServer(t)
	usesEventLoop(t, s)
	sub := testutil.DialRaw(t, addr)
	pub := testutil.DialRaw(t, addr)
	mustDo(t, sub, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", "SUBSCRIBE", "ch")
	for i := range 100 {
		msg := strconv.Itoa(i)
		mustDo(t, pub, ":1\r\n", "PUBLISH", "ch", msg)
		got, err := sub.ReadReply()
		want := fmt.Sprintf("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n", len(msg), msg)
		if err != nil || string(got) != want {
			t.Fatalf("message %d: %q, %v", i, got, err)
		}
	}
	mustDo(t, sub, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", "PING")
}

// TestEventLoopAppendfsyncAlways: with appendfsync always a reply leaves only after its
// write is durable; the loop parks waiting clients and keeps serving (see also
// aof_park_linux_test.go).
func TestEventLoopAppendfsyncAlways(t *testing.T) {
	t.Chdir(t.TempDir()) // the AOF directory is relative to the working directory
	s, addr := startLoopServer(t, "appendonly", "yes", "appendfsync", "always")
	if err := s.StartAOF(); err != nil {
		t.Fatal(err)
	}
	usesEventLoop(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := testutil.DialRaw(t, addr)
			for j := range 50 {
				if got, err := rc.Do("INCR", "n"); err != nil || got[0] != ':' {
					t.Errorf("client %d INCR %d: %q, %v", i, j, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rc := testutil.DialRaw(t, addr)
	mustDo(t, rc, "$3\r\n400\r\n", "GET", "n")
}

// TestEventLoopUnixSocket: Unix-socket clients are served by the loop too.
func TestEventLoopUnixSocket(t *testing.T) {
	path := t.TempDir() + "/sard.sock"
	s, _ := startLoopServer(t, "unixsocket", path)
	usesEventLoop(t, s)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := testutil.NewRawConn(c)
	replies, err := rc.Pipeline([]string{"SET", "k", "v"}, []string{"GET", "k"}, []string{"CLIENT", "INFO"})
	if err != nil {
		t.Fatal(err)
	}
	if string(replies[0]) != "+OK\r\n" || string(replies[1]) != "$1\r\nv\r\n" || !bytes.Contains(replies[2], []byte(" flags=U ")) {
		t.Fatalf("replies %q", replies)
	}
}
