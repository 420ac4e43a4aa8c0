package server

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// holdGroupSyncs makes every group commit (appendfsync always) wait before its fsync until
// the returned release is called; entered receives a value each time one reaches the wait.
func holdGroupSyncs(t *testing.T) (entered <-chan struct{}, release func()) {
	t.Helper()
	gate := make(chan struct{})
	in := make(chan struct{}, 1024)
	hook := func() {
		select {
		case in <- struct{}{}:
		default:
		}
		<-gate
	}
	aofGroupSyncHook.Store(&hook)
	released := false
	release = func() {
		if !released {
			released = true
			aofGroupSyncHook.Store(nil)
			close(gate)
		}
	}
	t.Cleanup(release)
	return in, release
}

// startAlwaysServer starts an in-process server with appendfsync always, served by the
// event loop (or, with SARD_EVENTLOOPS=0, by a goroutine per client).
func startAlwaysServer(t *testing.T) (*Server, string) {
	t.Helper()
	t.Chdir(t.TempDir()) // the AOF directory is relative to the working directory
	s, addr := startLoopServer(t, "appendonly", "yes", "appendfsync", "always")
	if err := s.StartAOF(); err != nil {
		t.Fatal(err)
	}
	usesEventLoop(t, s)
	return s, addr
}

// expectNoReply checks that nothing arrives on rc for a while.
func expectNoReply(t *testing.T, rc *testutil.RawConn, what string) {
	t.Helper()
	rc.Conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	var b [1]byte
	n, err := rc.Conn.Read(b[:])
	var ne net.Error
	if n > 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: a reply left before its fsync (read %d bytes, %v)", what, n, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestAOFAlwaysRepliesWaitForFsync: under appendfsync always no reply leaves before the
// fsync covering its batch, while the server goes on reading and executing other clients'
// commands (they join the next group commit), and a waiting client costs no goroutine.
func TestAOFAlwaysRepliesWaitForFsync(t *testing.T) {
	s, addr := startAlwaysServer(t)
	first := testutil.DialRaw(t, addr)
	mustDo(t, first, "+OK\r\n", "SET", "warm", "1")
	others := make([]*testutil.RawConn, 20)
	for i := range others {
		others[i] = testutil.DialRaw(t, addr)
		mustDo(t, others[i], "+PONG\r\n", "PING")
	}
	goroutines := runtime.NumGoroutine()

	entered, release := holdGroupSyncs(t)
	if err := first.Send(testutil.EncodeCommand("SET", "a", "1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // the writer is at the fsync covering SET a
	case <-time.After(10 * time.Second):
		t.Fatal("no group commit started")
	}
	fed := s.aof.fed.Load()
	for i, rc := range others {
		if err := rc.Send(testutil.EncodeCommand("SET", "k"+strconv.Itoa(i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	// Each SET is executed (fed to the AOF) while the first fsync is still held.
	waitFor(t, "the other clients' writes to be executed", func() bool {
		return s.aof.fed.Load()-fed >= int64(len(others))*int64(len("*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\n"))
	})
	expectNoReply(t, first, "SET a")
	expectNoReply(t, others[0], "SET k0")
	if loopCount != 0 {
		if n := runtime.NumGoroutine(); n-goroutines >= len(others)/2 {
			t.Errorf("%d goroutines for %d clients waiting for an fsync (%d before)", n, len(others)+1, goroutines)
		}
	}

	release()
	first.Conn.SetReadDeadline(time.Time{})
	if got, err := first.ReadReply(); err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("SET a after the fsync: %q, %v", got, err)
	}
	for i, rc := range others {
		if got, err := rc.ReadReply(); err != nil || string(got) != "+OK\r\n" {
			t.Fatalf("SET k%d after the fsync: %q, %v", i, got, err)
		}
	}
	mustDo(t, first, "$1\r\n1\r\n", "GET", "a")
	mustDo(t, first, ":21\r\n", "EXISTS", "a", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9",
		"k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19")
}

// TestAOFAlwaysWaitingClientEnds: a client whose replies wait for an fsync still gets them
// before QUIT closes its connection, and one killed while waiting is unlinked once the fsync
// is done, so its slot is not leaked.
func TestAOFAlwaysWaitingClientEnds(t *testing.T) {
	_, addr := startAlwaysServer(t)
	quitter := testutil.DialRaw(t, addr)
	victim := testutil.DialRaw(t, addr)
	killer := testutil.DialRaw(t, addr)
	idReply, err := victim.Do("CLIENT", "ID")
	if err != nil || idReply[0] != ':' {
		t.Fatalf("CLIENT ID: %q, %v", idReply, err)
	}
	victimID := string(bytes.TrimSpace(idReply[1:]))
	mustDo(t, killer, "+OK\r\n", "SET", "warm", "1")

	entered, release := holdGroupSyncs(t)
	if err := victim.Send(testutil.EncodeCommand("SET", "v", "1")); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := quitter.Send(append(testutil.EncodeCommand("SET", "q", "1"), testutil.EncodeCommand("QUIT")...)); err != nil {
		t.Fatal(err)
	}
	if err := killer.Send(testutil.EncodeCommand("CLIENT", "KILL", "ID", victimID)); err != nil {
		t.Fatal(err)
	}
	expectNoReply(t, quitter, "SET q; QUIT")
	release()

	quitter.Conn.SetReadDeadline(time.Time{})
	for _, want := range []string{"+OK\r\n", "+OK\r\n"} {
		if got, err := quitter.ReadReply(); err != nil || string(got) != want {
			t.Fatalf("SET q; QUIT after the fsync: %q, %v", got, err)
		}
	}
	if got, err := quitter.ReadReply(); err == nil {
		t.Fatalf("after QUIT: %q, want the connection closed", got)
	}
	if got, err := killer.ReadReply(); err != nil || string(got) != ":1\r\n" {
		t.Fatalf("CLIENT KILL: %q, %v", got, err)
	}
	waitFor(t, "the killed client to be unlinked", func() bool {
		list, err := killer.Do("CLIENT", "LIST")
		return err == nil && !bytes.Contains(list, []byte("id="+victimID+" "))
	})
	mustDo(t, killer, "$1\r\n1\r\n", "GET", "q")
}
