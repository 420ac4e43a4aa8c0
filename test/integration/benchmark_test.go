package integration

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

var rpsRe = regexp.MustCompile(`^([A-Z]+)(?: \(\d+ keys\))?: ([0-9.]+) requests per second`)

// TestRedisBenchmarkSmoke: Debian's redis-benchmark completes its set, get, incr and mset
// tests against sard with a non-zero rate. This is a functional check, not a measurement.
func TestRedisBenchmarkSmoke(t *testing.T) {
	t.Parallel()
	bin := testutil.RequireTool(t, "redis-benchmark")
	s := testutil.StartSard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-p", itoa(s.Port), "-t", "set,get,incr,mset", "-n", "20000", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	seen := map[string]float64{}
	for _, part := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if m := rpsRe.FindStringSubmatch(strings.TrimSpace(part)); m != nil {
			rps, _ := strconv.ParseFloat(m[2], 64)
			seen[m[1]] = rps
		}
	}
	for _, name := range []string{"SET", "GET", "INCR", "MSET"} {
		if seen[name] <= 0 {
			t.Errorf("no positive rate for %s; output:\n%s", name, out)
		}
	}
	t.Logf("rates: %v", seen)
}
