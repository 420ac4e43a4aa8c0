package server

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/testutil"
)

// TestStartupLoadGate: between accepting connections and the start-up load, a client gets
// -LOADING, never an answer from the dataset not yet loaded; once the load is done (here,
// nothing to load) it is served.
func TestStartupLoadGate(t *testing.T) {
	port := testutil.FreePort(t)
	cfg := config.New()
	if err := cfg.Load("", []string{"--save", "", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	log, err := NewLogger("", LogWarning)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, log)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	s.BeginStartupLoad()
	s.AcceptConnections()
	defer s.Shutdown(0)
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	ask := func(cmd string) string {
		t.Helper()
		if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	if got := ask("GET k"); got != "-LOADING Redis is loading the dataset in memory\r\n" {
		t.Fatalf("GET before the start-up load = %q, want -LOADING", got)
	}
	if err := s.LoadDataAtStartup(); err != nil {
		t.Fatal(err)
	}
	if got := ask("GET k"); got != "$-1\r\n" {
		t.Fatalf("GET after the start-up load = %q, want a null bulk", got)
	}
}
