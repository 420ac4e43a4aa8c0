package server

import (
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/testutil"
)

// newListeningServer builds an in-process server listening on a free loopback port, not yet
// accepting connections, with directives as "name", "value" pairs.
func newListeningServer(t *testing.T, directives ...string) (*Server, string) {
	t.Helper()
	port := testutil.FreePort(t)
	cfg := config.New()
	args := []string{"--save", "", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", t.TempDir()}
	for i := 0; i+1 < len(directives); i += 2 {
		args = append(args, "--"+directives[i], directives[i+1])
	}
	if err := cfg.Load("", args); err != nil {
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
	return s, "127.0.0.1:" + strconv.Itoa(port)
}

// TestStartupLoadGate: between accepting connections and the start-up load, a client gets
// -LOADING, never an answer from the dataset not yet loaded; once the load is done (here,
// nothing to load) it is served.
func TestStartupLoadGate(t *testing.T) {
	s, addr := newListeningServer(t)
	s.BeginStartupLoad()
	s.AcceptConnections()
	defer s.Shutdown(0)
	rc := testutil.DialRaw(t, addr)
	defer rc.Close()
	if got, err := rc.Do("GET", "k"); err != nil || string(got) != "-LOADING Redis is loading the dataset in memory\r\n" {
		t.Fatalf("GET before the start-up load = %q, %v; want -LOADING", got, err)
	}
	if err := s.LoadDataAtStartup(); err != nil {
		t.Fatal(err)
	}
	if got, err := rc.Do("GET", "k"); err != nil || string(got) != "$-1\r\n" {
		t.Fatalf("GET after the start-up load = %q, %v; want a null bulk", got, err)
	}
}
