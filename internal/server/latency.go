package server

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The latency monitor: for each event (a slow command, a slow fast command, later the
// expire cycle, fsync...) the latency spikes at or above latency-monitor-threshold
// milliseconds, one sample per second, and the LATENCY commands that report them.

// latencyHistoryLen is how many per-second samples Redis keeps per event.
const latencyHistoryLen = 160

type latencySample struct {
	time    int64 // unix seconds
	latency int64 // ms
}

// latencySeries is one event's ring of samples.
type latencySeries struct {
	samples [latencyHistoryLen]latencySample
	next    int
	max     int64
}

type latencyMonitor struct {
	events map[string]*latencySeries
}

// sample records d for event when the monitor is on and d reaches the threshold.
func (m *latencyMonitor) sample(s *Server, event string, d time.Duration) {
	threshold := s.cfg.Values.LatencyMonitorThreshold
	ms := d.Milliseconds()
	if threshold <= 0 || ms < threshold {
		return
	}
	m.add(event, time.Now().Unix(), ms)
}

// add stores one spike; spikes in the same second as the newest sample merge into it,
// keeping the highest, as Redis does.
func (m *latencyMonitor) add(event string, now, ms int64) {
	if m.events == nil {
		m.events = make(map[string]*latencySeries)
	}
	ts := m.events[event]
	if ts == nil {
		ts = &latencySeries{}
		m.events[event] = ts
	}
	ts.max = max(ts.max, ms)
	prev := &ts.samples[(ts.next+latencyHistoryLen-1)%latencyHistoryLen]
	if prev.time == now {
		prev.latency = max(prev.latency, ms)
		return
	}
	ts.samples[ts.next] = latencySample{now, ms}
	ts.next = (ts.next + 1) % latencyHistoryLen
}

// history returns the samples oldest first.
func (ts *latencySeries) history() []latencySample {
	var out []latencySample
	for i := 0; i < latencyHistoryLen; i++ {
		smp := ts.samples[(ts.next+i)%latencyHistoryLen]
		if smp.time != 0 {
			out = append(out, smp)
		}
	}
	return out
}

func (ts *latencySeries) latest() latencySample {
	return ts.samples[(ts.next+latencyHistoryLen-1)%latencyHistoryLen]
}

func (m *latencyMonitor) names() []string {
	names := make([]string, 0, len(m.events))
	for n := range m.events {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func latencyLatestCommand(c *Client) {
	m := &c.srv.latency
	names := m.names()
	c.w.Array(len(names))
	for _, n := range names {
		ts := m.events[n]
		last := ts.latest()
		c.w.Array(4)
		c.w.BulkString(n)
		c.w.Int(last.time)
		c.w.Int(last.latency)
		c.w.Int(ts.max)
	}
}

func latencyHistoryCommand(c *Client) {
	ts := c.srv.latency.events[string(c.argv[2])]
	if ts == nil {
		c.w.Array(0)
		return
	}
	h := ts.history()
	c.w.Array(len(h))
	for _, smp := range h {
		c.w.Array(2)
		c.w.Int(smp.time)
		c.w.Int(smp.latency)
	}
}

func latencyResetCommand(c *Client) {
	m := &c.srv.latency
	if len(c.argv) == 2 {
		n := len(m.events)
		m.events = nil
		c.w.Int(int64(n))
		return
	}
	var n int64
	for _, a := range c.argv[2:] {
		if _, ok := m.events[string(a)]; ok {
			delete(m.events, string(a))
			n++
		}
	}
	c.w.Int(n)
}

func latencyGraphCommand(c *Client) {
	event := string(c.argv[2])
	ts := c.srv.latency.events[event]
	if ts == nil {
		c.w.Error(fmt.Sprintf("ERR No samples available for event '%s'", event))
		return
	}
	c.w.Verbatim("txt", latencyGraph(event, ts, time.Now().Unix()))
}

// latencyGraph draws the event's samples as columns of '#' (our own rendering): a title
// line with the range, then one column per sample, oldest left, with its age under it.
func latencyGraph(event string, ts *latencySeries, now int64) string {
	h := ts.history()
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, smp := range h {
		lo, hi = min(lo, smp.latency), max(hi, smp.latency)
	}
	const rows = 4
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, ts.max)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	for r := rows; r >= 1; r-- {
		for _, smp := range h {
			height := int64(1)
			if hi > lo {
				height = 1 + (smp.latency-lo)*(rows-1)/(hi-lo)
			}
			switch {
			case height >= int64(r):
				b.WriteByte('#')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	// ages, written vertically: "12s" becomes three rows
	ages := make([]string, len(h))
	depth := 0
	for i, smp := range h {
		ages[i] = formatAge(now - smp.time)
		depth = max(depth, len(ages[i]))
	}
	for r := 0; r < depth; r++ {
		for _, a := range ages {
			if r < len(a) {
				b.WriteByte(a[r])
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func formatAge(sec int64) string {
	switch {
	case sec < 60:
		return strconv.FormatInt(sec, 10) + "s"
	case sec < 3600:
		return strconv.FormatInt(sec/60, 10) + "m"
	case sec < 86400:
		return strconv.FormatInt(sec/3600, 10) + "h"
	}
	return strconv.FormatInt(sec/86400, 10) + "d"
}

func latencyDoctorCommand(c *Client) {
	c.w.Verbatim("txt", c.srv.latencyReport())
}

// latencyReport is LATENCY DOCTOR's analysis, in our own words.
func (s *Server) latencyReport() string {
	m := &s.latency
	var b strings.Builder
	if len(m.events) == 0 {
		if s.cfg.Values.LatencyMonitorThreshold <= 0 {
			b.WriteString("The latency monitor is disabled: set latency-monitor-threshold to a number of milliseconds (CONFIG SET latency-monitor-threshold 100) to record latency spikes.\n")
		} else {
			b.WriteString("No latency spike has been recorded since the server started or since the last LATENCY RESET.\n")
		}
		return b.String()
	}
	b.WriteString("Latency spikes recorded, by event:\n\n")
	for i, n := range m.names() {
		h := m.events[n].history()
		var sum int64
		for _, smp := range h {
			sum += smp.latency
		}
		avg := sum / int64(len(h))
		var dev int64
		for _, smp := range h {
			d := smp.latency - avg
			dev += max(d, -d)
		}
		period := 0.0
		if len(h) > 1 {
			period = float64(h[len(h)-1].time-h[0].time) / float64(len(h)-1)
		}
		fmt.Fprintf(&b, "%d. %s: %d spikes (average %dms, mean deviation %dms, period %.2f sec). Worst ever %dms.\n",
			i+1, n, len(h), avg, dev/int64(len(h)), period, m.events[n].max)
	}
	b.WriteString("\nSuggestions:\n\n")
	slower := s.cfg.Values.SlowlogLogSlowerThan
	threshold := s.cfg.Values.LatencyMonitorThreshold
	if slower < 0 || slower/1000 > threshold {
		fmt.Fprintf(&b, "- The slow log does not record commands as slow as the spikes above; CONFIG SET slowlog-log-slower-than %d makes it record them.\n", threshold*1000)
	}
	b.WriteString("- SLOWLOG GET shows which commands were slow; commands on big keys (KEYS, SMEMBERS, HGETALL, DEL of a large value...) are the usual cause.\n")
	b.WriteString("- Deleting, expiring or evicting a very large value takes time in proportion to its size: prefer several smaller keys, or UNLINK.\n")
	return b.String()
}

// latencyHistogramCommand reports the per-command latency histograms that INFO
// latencystats also reads (recorded by call() when latency-tracking is on): for each command,
// its calls and the cumulative count of calls at or under each power-of-two microsecond
// bucket, starting at 1024 ns, as Redis 7.0 iterates its HDR histograms.
func latencyHistogramCommand(c *Client) {
	s := c.srv
	var list []*Command
	add := func(cmd *Command) {
		if cmd.lat != nil && cmd.lat.total > 0 {
			list = append(list, cmd)
		}
	}
	addWithSubs := func(cmd *Command) {
		add(cmd)
		subs := make([]string, 0, len(cmd.Subs))
		for n := range cmd.Subs {
			subs = append(subs, n)
		}
		sort.Strings(subs)
		for _, n := range subs {
			add(cmd.Subs[n])
		}
	}
	if len(c.argv) == 2 {
		names := make([]string, 0, len(s.commands))
		for n := range s.commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			addWithSubs(s.commands[n])
		}
	} else {
		for _, a := range c.argv[2:] {
			if cmd := s.commandByFullName(strings.ToLower(string(a))); cmd != nil {
				addWithSubs(cmd)
			}
		}
	}
	c.w.Map(len(list))
	for _, cmd := range list {
		c.w.BulkString(cmd.FullName)
		c.w.Map(2)
		c.w.BulkString("calls")
		c.w.Int(cmd.lat.total)
		c.w.BulkString("histogram_usec")
		d := c.w.Defer()
		n := 0
		cmd.lat.cumulative(func(usec, count int64) {
			c.w.Int(usec)
			c.w.Int(count)
			n++
		})
		c.w.FillMap(d, n)
	}
}

// commandByFullName finds "get" or "config|get".
func (s *Server) commandByFullName(name string) *Command {
	parent, sub, isSub := strings.Cut(name, "|")
	cmd := s.commands[parent]
	if cmd == nil || !isSub {
		return cmd
	}
	return cmd.Subs[sub]
}

// cumulative walks the histogram at 1024 ns, 2048 ns, ... reporting, for each level whose
// cumulative count grew, the highest value equivalent to that level (in µs) and the count
// of calls at or under it.
func (h *latencyHistogram) cumulative(fn func(usec, count int64)) {
	var seen, reported int64
	next := 0
	for level := int64(1024); seen < h.total; level *= 2 {
		idx := histIndex(min(level, histMaxValue))
		for ; next <= idx && next < len(h.counts); next++ {
			seen += h.counts[next]
		}
		if level >= histMaxValue {
			seen = h.total // everything longer was clamped to the maximum
		}
		if seen > reported {
			low, width := histValue(idx)
			fn((low+width-1)/1000, seen)
			reported = seen
		}
	}
}

func latencyHelpCommand(c *Client) {
	replyHelp(c, []string{
		"DOCTOR",
		"    Analyse the recorded latency spikes and suggest what to do about them.",
		"GRAPH <event>",
		"    Draw the <event>'s latency spikes as ASCII art.",
		"HISTORY <event>",
		"    List the <event>'s latency spikes as (unix time, milliseconds) pairs.",
		"LATEST",
		"    Show every event's newest spike and its worst one.",
		"RESET [<event> ...]",
		"    Forget the spikes of the given events (of all events without arguments).",
		"HISTOGRAM [COMMAND ...]",
		"    Show the latency distribution of the given commands (of all commands without",
		"    arguments) as cumulative counts per microsecond bucket.",
		"HELP",
		"    Print this help.",
	})
}

func init() {
	register(map[string]func(*Client){
		"latency|latest":    latencyLatestCommand,
		"latency|history":   latencyHistoryCommand,
		"latency|reset":     latencyResetCommand,
		"latency|graph":     latencyGraphCommand,
		"latency|doctor":    latencyDoctorCommand,
		"latency|histogram": latencyHistogramCommand,
		"latency|help":      latencyHelpCommand,
	})
}
