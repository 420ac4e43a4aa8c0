package server

import (
	"context"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestLatencySeriesMergesSameSecond(t *testing.T) {
	var m latencyMonitor
	m.add("command", 100, 20)
	m.add("command", 100, 50)
	m.add("command", 100, 30)
	m.add("command", 101, 10)
	h := m.events["command"].history()
	if len(h) != 2 || h[0] != (latencySample{100, 50}) || h[1] != (latencySample{101, 10}) {
		t.Fatalf("history = %v", h)
	}
	if m.events["command"].max != 50 {
		t.Errorf("max = %d", m.events["command"].max)
	}
	// the ring keeps the newest latencyHistoryLen seconds
	for s := int64(0); s < latencyHistoryLen+10; s++ {
		m.add("fast-command", 1000+s, s+1)
	}
	h = m.events["fast-command"].history()
	if len(h) != latencyHistoryLen || h[0].time != 1010 || h[len(h)-1].time != 1000+latencyHistoryLen+9 {
		t.Errorf("ring: %d samples from %d to %d", len(h), h[0].time, h[len(h)-1].time)
	}
	g := latencyGraph("command", m.events["command"], 102)
	if !strings.HasPrefix(g, "command - high 50 ms, low 10 ms (all time high 50 ms)\n") || !strings.Contains(g, "#") {
		t.Errorf("graph:\n%s", g)
	}
}

func TestLatencyHistogramBuckets(t *testing.T) {
	var h latencyHistogram
	for _, ns := range []int64{500, 1000, 1500, 3000, 3000, 70_000, 2_000_000_000} {
		h.record(ns)
	}
	type pt struct{ usec, count int64 }
	var got []pt
	h.cumulative(func(u, c int64) { got = append(got, pt{u, c}) })
	// levels 1024, 2048, 4096, ... ns; 2 s is clamped to the 1 s maximum
	want := []pt{{1, 2}, {2, 3}, {4, 5}, {132, 6}, {1002438, 7}}
	if len(got) != len(want) {
		t.Fatalf("cumulative = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].count != want[i].count || got[i].usec != want[i].usec {
			t.Errorf("point %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestLatencyMonitorRecordsSlowCommands: spikes past the threshold become "command" events;
// under the threshold, or with the monitor off, nothing is recorded.
func TestLatencyMonitorRecordsSlowCommands(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	c := newGoRedis(t, sard.Addr)
	c.Do(ctx, "DEBUG", "SLEEP", "0.03")
	if r, _ := c.Do(ctx, "LATENCY", "LATEST").Slice(); len(r) != 0 {
		t.Fatalf("monitor off, LATENCY LATEST = %v", r)
	}
	c.ConfigSet(ctx, "latency-monitor-threshold", "20")
	c.Do(ctx, "DEBUG", "SLEEP", "0")
	c.Do(ctx, "DEBUG", "SLEEP", "0.04")
	r, err := c.Do(ctx, "LATENCY", "LATEST").Slice()
	if err != nil || len(r) != 1 {
		t.Fatalf("LATENCY LATEST = %v, %v", r, err)
	}
	ev := r[0].([]any)
	if ev[0] != "command" || ev[2].(int64) < 40 || ev[3].(int64) < 40 {
		t.Errorf("event = %v", ev)
	}
	slow, err := c.Do(ctx, "SLOWLOG", "GET", "1").Slice()
	if err != nil || len(slow) != 1 {
		t.Fatalf("SLOWLOG GET 1 = %v, %v", slow, err)
	}
	if e := slow[0].([]any); e[2].(int64) < 40000 || e[3].([]any)[1] != "SLEEP" {
		t.Errorf("slow log entry = %v", e)
	}
	if n, _ := c.Do(ctx, "LATENCY", "RESET").Int(); n != 1 {
		t.Errorf("LATENCY RESET = %d", n)
	}
	doctor, _ := c.Do(ctx, "LATENCY", "DOCTOR").Text()
	if doctor == "" {
		t.Error("empty LATENCY DOCTOR")
	}
}
