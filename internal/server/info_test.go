package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/testutil"
)

// newIntroEnv is newKVEnv for a server started with command-line directives (immutable
// ones such as enable-debug-command included).
func newIntroEnv(t *testing.T, args ...string) *kvEnv {
	t.Helper()
	// No save points: FLUSHALL and SHUTDOWN would write dump.rdb into the package directory.
	cfg, err := config.Load("", append([]string{"--save", ""}, args...))
	if err != nil {
		t.Fatal(err)
	}
	log, err := NewLogger("", LogNothing)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, log)
	e := &kvEnv{t: t, s: s, now: time.Now().UnixMilli(), stream: &streamRecorder{}}
	e.c = &Client{srv: s, db: s.dbs[0], authed: true, user: "default"}
	e.c.w.Proto = 2
	return e
}

// infoFields parses an INFO text into section title -> field names in order.
func infoFields(text string) (order []string, fields map[string][]string) {
	fields = map[string][]string{}
	cur := ""
	for _, line := range strings.Split(text, "\r\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			cur = line[2:]
			order = append(order, cur)
			fields[cur] = []string{}
		case line == "":
		default:
			name, _, _ := strings.Cut(line, ":")
			fields[cur] = append(fields[cur], name)
		}
	}
	return order, fields
}

// sardOnlyFields are the lines sard adds to Redis's.
var sardOnlyFields = map[string]bool{"sard_version": true, "go_version": true}

// TestInfoFieldNamesMatchRedis runs the same commands on sard and redis-server and compares
// INFO everything section by section: the same sections in the same order, and in each the
// same field names in the same order (cmdstat_*, errorstat_*, latency_*, dbN included).
func TestInfoFieldNamesMatchRedis(t *testing.T) {
	redis := testutil.StartRedis(t)
	sard := testutil.StartSard(t)
	texts := map[string]string{}
	for _, srv := range []*testutil.Server{redis, sard} {
		rc := srv.Raw()
		for _, cmd := range [][]string{{"SET", "a", "1"}, {"GET", "a"}, {"GET", "b"}, {"INCR", "a"},
			{"EXPIRE", "a", "100"}, {"SELECT", "2"}, {"SET", "x", "y"}, {"NOSUCHCMD"}, {"GET"}} {
			if _, err := rc.Do(cmd...); err != nil {
				t.Fatal(err)
			}
		}
		// A container command and its error path, for the subcommand names.
		rc.Do("CONFIG", "GET", "hz")
		raw, err := rc.Do("INFO", "everything")
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(string(raw), "\r\n")
		texts[srv.Name] = body
	}
	wantOrder, want := infoFields(texts["redis"])
	gotOrder, got := infoFields(texts["sard"])
	if !slices.Equal(wantOrder, gotOrder) {
		t.Errorf("sections:\n  sard:  %v\n  redis: %v", gotOrder, wantOrder)
	}
	for _, sec := range wantOrder {
		var g []string
		for _, f := range got[sec] {
			if !sardOnlyFields[f] {
				g = append(g, f)
			}
		}
		w := want[sec]
		if sec == "Commandstats" || sec == "Latencystats" {
			// Redis lists these in hash table order.
			slices.Sort(g)
			w = slices.Clone(w)
			slices.Sort(w)
		}
		if slices.Equal(g, w) {
			continue
		}
		var missing, extra []string
		for _, f := range w {
			if !slices.Contains(g, f) {
				missing = append(missing, f)
			}
		}
		for _, f := range g {
			if !slices.Contains(w, f) {
				extra = append(extra, f)
			}
		}
		t.Errorf("section %s: missing %v, extra %v\n  sard:  %v\n  redis: %v", sec, missing, extra, g, w)
	}
}

func TestInfoSectionSelection(t *testing.T) {
	e := newIntroEnv(t)
	e.do("SET", "k", "v")
	sections := func(args ...string) string {
		raw := e.do(append([]string{"INFO"}, args...)...)
		order, _ := infoFields(raw[strings.Index(raw, "\r\n")+2:])
		return strings.Join(order, ",")
	}
	def := "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Errorstats,Cluster,Keyspace"
	all := "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Commandstats,Errorstats,Latencystats,Cluster,Keyspace"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, def},
		{[]string{"default"}, def},
		{[]string{"DEFAULT"}, def},
		{[]string{"all"}, all},
		{[]string{"everything"}, all},
		{[]string{"keyspace", "server"}, "Server,Keyspace"},
		{[]string{"cpu", "CPU", "nosuch"}, "CPU"},
		{[]string{"default", "commandstats"}, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Commandstats,Errorstats,Cluster,Keyspace"},
		{[]string{"nosuch"}, ""},
	} {
		if got := sections(tc.args...); got != tc.want {
			t.Errorf("INFO %v: sections %s, want %s", tc.args, got, tc.want)
		}
	}
	if got := e.do("INFO", "keyspace"); got != kvBulk("# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n") {
		t.Errorf("INFO keyspace = %q", got)
	}
	e.c.w.Proto = 3
	if got := e.do("INFO", "cluster"); got != "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n" {
		t.Errorf("INFO cluster over RESP3 = %q", got)
	}
}

func infoValue(t *testing.T, e *kvEnv, section, field string) string {
	t.Helper()
	for _, line := range strings.Split(e.do("INFO", section), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}

func TestInfoStatsAndResetStat(t *testing.T) {
	e := newIntroEnv(t)
	e.do("SET", "k", "v")
	e.do("GET", "k")
	e.do("GET", "nokey")
	e.do("INCR", "k")
	e.do("NOSUCH")
	if v := infoValue(t, e, "stats", "keyspace_hits"); v != "1" {
		t.Errorf("keyspace_hits = %s", v)
	}
	if v := infoValue(t, e, "stats", "keyspace_misses"); v != "1" {
		t.Errorf("keyspace_misses = %s", v)
	}
	if v := infoValue(t, e, "errorstats", "errorstat_ERR"); v != "count=2" {
		t.Errorf("errorstat_ERR = %s", v)
	}
	if v := infoValue(t, e, "commandstats", "cmdstat_incr"); !strings.HasPrefix(v, "calls=1,") || !strings.HasSuffix(v, ",rejected_calls=0,failed_calls=1") {
		t.Errorf("cmdstat_incr = %s", v)
	}
	if v := infoValue(t, e, "latencystats", "latency_percentiles_usec_get"); !strings.HasPrefix(v, "p50=") || !strings.Contains(v, ",p99=") || !strings.Contains(v, ",p99.9=") {
		t.Errorf("latency_percentiles_usec_get = %s", v)
	}
	if v := infoValue(t, e, "persistence", "rdb_changes_since_last_save"); v != "1" {
		t.Errorf("rdb_changes_since_last_save = %s", v)
	}
	e.expect("+OK\r\n", "CONFIG", "RESETSTAT")
	// The reset itself is then counted, as in Redis.
	if v := infoValue(t, e, "stats", "total_commands_processed"); v != "1" {
		t.Errorf("total_commands_processed after RESETSTAT = %s", v)
	}
	if got := e.do("INFO", "errorstats"); got != kvBulk("# Errorstats\r\n") {
		t.Errorf("errorstats after RESETSTAT = %q", got)
	}
	if v := infoValue(t, e, "persistence", "rdb_changes_since_last_save"); v != "1" {
		t.Errorf("RESETSTAT must not reset the dirty count: %s", v)
	}
	// Tracking off: no new histograms.
	e.expect("+OK\r\n", "CONFIG", "SET", "latency-tracking", "no")
	e.expect("+OK\r\n", "CONFIG", "RESETSTAT")
	e.do("GET", "k")
	if got := e.do("INFO", "latencystats"); got != kvBulk("# Latencystats\r\n") {
		t.Errorf("latencystats with tracking off = %q", got)
	}
	e.expect("+OK\r\n", "CONFIG", "SET", "hz", "50")
	if v := infoValue(t, e, "server", "configured_hz"); v != "50" {
		t.Errorf("configured_hz = %s", v)
	}
}

func TestInstantaneousOps(t *testing.T) {
	e := newIntroEnv(t)
	s := e.s
	s.TrackInstantaneousMetrics()
	s.intro.lastSample = s.intro.lastSample.Add(-time.Second)
	s.stats.numCommands += 1600
	s.TrackInstantaneousMetrics()
	// One sample of ~1600 ops/s averaged over 16 slots.
	if v := infoValue(t, e, "stats", "instantaneous_ops_per_sec"); v != "99" && v != "100" {
		t.Errorf("instantaneous_ops_per_sec = %s, want about 100", v)
	}
}

// TestLatencyHistogram checks the two-significant-digit buckets and the percentile rule
// against values Redis itself prints (a 7 us command reports p50=7.007).
func TestLatencyHistogram(t *testing.T) {
	var h latencyHistogram
	h.record(7000)
	if got := h.percentile(50); got != 7007 {
		t.Errorf("p50 of 7000 = %d, want 7007", got)
	}
	h = latencyHistogram{}
	for v := int64(1); v <= 100; v++ {
		h.record(v * 1000)
	}
	for _, tc := range []struct {
		p    float64
		want int64
	}{{50, 50175}, {99, 99327}, {99.9, 100351}, {100, 100351}, {0, 1000}} {
		if got := h.percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %d, want %d", tc.p, got, tc.want)
		}
	}
	h = latencyHistogram{}
	h.record(0)
	h.record(5e9) // clamped to the 1 s maximum
	if got := h.percentile(100); got < 1e9 || got > 1.01e9 {
		t.Errorf("clamped max = %d", got)
	}
	for v := int64(1); v < 1<<20; v = v*3 + 1 {
		low, width := histValue(histIndex(v))
		if v < low || v >= low+width || (v >= 256 && width*100 > low) {
			t.Fatalf("value %d in bucket [%d,+%d)", v, low, width)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.00K", 990760: "967.54K",
		12316672: "11.75M", 25276026880: "23.54G"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %s, want %s", n, got, want)
		}
	}
}
