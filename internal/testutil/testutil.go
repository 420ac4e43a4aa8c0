// Package testutil starts sard and real redis-server processes on free loopback
// ports and talks to them, so that every test in the project can do so in one call.
package testutil

import (
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// ModuleRoot returns the directory holding the module's go.mod, found by walking
// up from this source file so that it works from any package's test binary.
func ModuleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testutil: runtime.Caller failed")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testutil: no go.mod above " + file)
		}
		dir = parent
	}
}

// SardPackage is the import path of the server binary built by SardBinary.
const SardPackage = "github.com/sard-kv/sard/cmd/sard-server"

// SardBinary returns the path of a freshly built sard-server, building it at most
// once per test process. The environment variable SARD_BIN names a prebuilt binary
// to use instead.
func SardBinary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SARD_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			tb.Fatalf("SARD_BIN=%q: %v", p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			tb.Fatalf("SARD_BIN=%q: %v", p, err)
		}
		return abs
	}
	return Binary(tb, SardPackage)
}

// build is one package's build, shared by every test in the process.
type build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

var builds struct {
	mu sync.Mutex
	m  map[string]*build
}

// Binary builds the main package pkg (an import path in this module) at most
// once per test process and returns the executable's path, failing the test
// with the compiler's output if the build fails.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	builds.mu.Lock()
	if builds.m == nil {
		builds.m = map[string]*build{}
	}
	b := builds.m[pkg]
	if b == nil {
		b = &build{}
		builds.m[pkg] = b
	}
	builds.mu.Unlock()
	b.once.Do(func() { b.path, b.out, b.err = goBuild(pkg) })
	if b.err != nil {
		tb.Fatalf("building %s: %v\n%s", pkg, b.err, b.out)
	}
	return b.path
}

// goBuild links into one fixed directory per user and checkout, renaming the
// result into place, so that parallel test processes neither litter the temp
// directory with a binary each nor see a half-written file.
func goBuild(pkg string) (string, []byte, error) {
	root := ModuleRoot()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("sard-test-%d-%08x", os.Getuid(), crc32.ChecksumIEEE([]byte(root))))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	name := filepath.Base(pkg)
	tmp, err := os.CreateTemp(dir, name+"-*.tmp")
	if err != nil {
		return "", nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("go tool not found: %w", err)
	}
	cmd := exec.Command(gobin, "build", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", out, err
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", out, err
	}
	return final, out, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may still take it before the caller binds; StartSard and StartRedis
// retry on a new port when that happens.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RequireTool returns the path of an external program, skipping the test when
// it is not installed unless SARD_REQUIRE_REDIS=1 asks for a hard failure.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("SARD_REQUIRE_REDIS") == "1" {
		tb.Fatalf("%s not installed (SARD_REQUIRE_REDIS=1): %v", name, err)
	}
	tb.Skipf("%s not installed: %v (set SARD_REQUIRE_REDIS=1 to fail instead)", name, err)
	return ""
}

// Eventually polls cond until it returns true, failing the test with msg if
// timeout passes first. The poll interval grows from 1ms to 50ms.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, msg string) {
	tb.Helper()
	if !Poll(timeout, cond) {
		tb.Fatalf("condition not met within %v: %s", timeout, msg)
	}
}

// Poll reports whether cond became true before timeout, checking it at
// intervals growing from 1ms to 50ms.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
