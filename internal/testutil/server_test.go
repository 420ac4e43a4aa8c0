package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestModuleRoot(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(ModuleRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "module github.com/sard-kv/sard") {
		t.Fatalf("ModuleRoot %s holds someone else's go.mod", ModuleRoot())
	}
}

func TestFreePortDiffers(t *testing.T) {
	a, b := FreePort(t), FreePort(t)
	if a <= 0 || b <= 0 {
		t.Fatalf("FreePort gave %d, %d", a, b)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, func() bool { n++; return n == 3 }, "counter reaches 3")
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	// A condition that never holds must fail the (inner) test.
	ft := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		Eventually(ft, 20*time.Millisecond, func() bool { return false }, "never")
	}()
	if !ft.failed {
		t.Fatal("Eventually did not fail on a condition that never holds")
	}
}

// fakeTB records Fatalf instead of ending the real test.
type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}

func TestSardBinaryHonoursEnv(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fake-sard")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SARD_BIN", bin)
	if got := SardBinary(t); got != bin {
		t.Fatalf("SardBinary = %q, want %q", got, bin)
	}
}

func TestStartRedisLifecycle(t *testing.T) {
	s := StartRedis(t)
	rc := s.Raw()
	if got, err := rc.Do("PING"); err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	// The fixed flags must have reached the server.
	got, err := rc.Do("CONFIG", "GET", "save")
	if err != nil || string(got) != "*2\r\n$4\r\nsave\r\n$0\r\n\r\n" {
		t.Fatalf("CONFIG GET save = %q, %v", got, err)
	}
	got, err = rc.Do("CONFIG", "GET", "dir")
	if err != nil || !strings.Contains(string(got), s.Dir) {
		t.Fatalf("CONFIG GET dir = %q, want %s", got, s.Dir)
	}

	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET k = %q, %v", v, err)
	}

	s.Kill()
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	if _, err := rc.Do("PING"); err == nil {
		t.Fatal("PING succeeded on a killed server")
	}
	port := s.Port
	s.Start()
	if s.Port != port {
		t.Fatalf("port changed on restart: %d -> %d", port, s.Port)
	}
	if got, err := s.Raw().Do("PING"); err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("PING after Start = %q, %v", got, err)
	}
	s.Restart()
	if !s.Running() {
		t.Fatal("not running after Restart")
	}
	s.Stop()
	s.Stop() // stopping twice is harmless
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	if !strings.Contains(s.LogText(), "Ready to accept connections") {
		t.Fatalf("log does not show the server starting:\n%s", s.LogText())
	}
	if n := strings.Count(s.LogText(), "starting again"); n != 2 {
		t.Fatalf("log shows %d restarts, want 2", n)
	}
}

func TestStartRedisWithConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "r.conf")
	if err := os.WriteFile(conf, []byte("requirepass sekret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := StartRedis(t, conf, "--maxmemory", "10mb")
	rc := s.Raw()
	if got, _ := rc.Do("PING"); !strings.HasPrefix(string(got), "-NOAUTH") {
		t.Fatalf("PING without AUTH = %q, want -NOAUTH", got)
	}
	if got, _ := rc.Do("AUTH", "sekret"); string(got) != "+OK\r\n" {
		t.Fatalf("AUTH = %q", got)
	}
	if got, _ := rc.Do("CONFIG", "GET", "maxmemory"); string(got) != "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n" {
		t.Fatalf("CONFIG GET maxmemory = %q", got)
	}
}

func TestBinaryBuildsOnce(t *testing.T) {
	const pkg = "github.com/sard-kv/sard/internal/testutil/testdata/hello"
	bin := Binary(t, pkg)
	out, err := exec.Command(bin, "a", "b").CombinedOutput()
	if err != nil || string(out) != "hello from 2 args\n" {
		t.Fatalf("running %s: %q, %v", bin, out, err)
	}
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	// A second call must reuse the first build, not link again.
	if again := Binary(t, pkg); again != bin {
		t.Fatalf("second Binary = %q, want %q", again, bin)
	}
	if info2, err := os.Stat(bin); err != nil || !info2.ModTime().Equal(info.ModTime()) {
		t.Fatalf("binary rebuilt on the second call: %v", err)
	}
}

func TestBinaryReportsBuildFailure(t *testing.T) {
	ft := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		Binary(ft, "github.com/sard-kv/sard/internal/testutil/testdata/nosuchpackage")
	}()
	if !ft.failed {
		t.Fatal("Binary did not fail for a package that does not exist")
	}
}

// TestStartSardPlumbing runs StartSard with redis-server standing in for
// sard (through SARD_BIN), so that the helper is tested whether or not the
// real server builds today; the real one is exercised by test/diff.
func TestStartSardPlumbing(t *testing.T) {
	bin := RequireTool(t, "redis-server")
	t.Setenv("SARD_BIN", bin)
	s := StartSard(t, "--save", "")
	if s.Name != "sard" || s.Bin != bin {
		t.Fatalf("StartSard made %s from %s", s.Name, s.Bin)
	}
	if got, err := s.Raw().Do("CONFIG", "GET", "bind"); err != nil || string(got) != "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n" {
		t.Fatalf("CONFIG GET bind = %q, %v", got, err)
	}
	s.Restart()
	if got, err := s.Raw().Do("PING"); err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("PING after Restart = %q, %v", got, err)
	}
}

// TestStartFailsWithLog checks that a server that cannot start fails the
// test and shows why, instead of hanging until the ready timeout.
func TestStartFailsWithLog(t *testing.T) {
	bin := RequireTool(t, "redis-server")
	t.Setenv("SARD_BIN", bin)
	ft := &fakeTB{TB: t}
	start := time.Now()
	func() {
		defer func() { recover() }()
		StartSard(ft, "--no-such-directive", "yes")
	}()
	if !ft.failed {
		t.Fatal("StartSard succeeded with a bad directive")
	}
	if !strings.Contains(ft.msg, "no-such-directive") {
		t.Fatalf("failure does not show the server's complaint:\n%s", ft.msg)
	}
	if d := time.Since(start); d > ReadyTimeout/2 {
		t.Fatalf("took %v to notice the server had exited", d)
	}
}
