package server

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// INFO: the sections, their fields in Redis 7.0's order and names, and the statistics only
// INFO reads (instantaneous rates, per-command latency histograms).

// introspection is the state INFO, CONFIG RESETSTAT, DEBUG and SHUTDOWN keep on the server.
// It lives under s.mu like everything else.
type introspection struct {
	startupMemory int64 // used_memory when the server was built
	tracking      bool  // latency-tracking: record per-command histograms
	percentiles   []float64

	// Instantaneous metrics: one sample every metricsPeriod, the rate is the mean of the
	// last metricsSamples, as Redis's trackInstantaneousMetric.
	lastSample   time.Time
	lastCommands int64
	lastIn       int64
	lastOut      int64
	samples      [3][metricsSamples]float64
	sampleIdx    int

	quicklistPackedThreshold int64 // DEBUG QUICKLIST-PACKED-THRESHOLD; 0 = the default
	shutdownAsked            bool  // a SHUTDOWN is waiting (SHUTDOWN ABORT can cancel it)
}

const (
	metricsSamples = 16
	metricsPeriod  = 100 * time.Millisecond
)

// Indexes into introspection.samples.
const (
	metricOps = iota
	metricNetIn
	metricNetOut
)

// installIntrospectionHooks mirrors the directives INFO and the call path read; called once
// from installHooks.
func (s *Server) installIntrospectionHooks() {
	s.intro.startupMemory = heapObjectBytes()
	sync := func() error {
		s.intro.tracking = s.cfgBool("latency-tracking")
		s.intro.percentiles = parsePercentiles(s.cfgStr("latency-tracking-info-percentiles"))
		return nil
	}
	sync()
	s.cfg.OnApply("latency-tracking", sync)
	s.cfg.OnApply("latency-tracking-info-percentiles", sync)
}

func parsePercentiles(v string) []float64 {
	var out []float64
	for _, f := range strings.Fields(v) {
		if p, err := strconv.ParseFloat(f, 64); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// TrackInstantaneousMetrics samples the operation and network rates INFO reports as
// instantaneous_*. The cron calls it on every tick with the lock held; it samples at most
// every 100 ms, as Redis does.
func (s *Server) TrackInstantaneousMetrics() {
	now := time.Now()
	in := &s.intro
	if in.lastSample.IsZero() {
		in.lastSample = now
		in.lastCommands = s.stats.numCommands
		in.lastIn = s.stats.netInput.Load()
		in.lastOut = s.stats.netOutput.Load()
		return
	}
	dt := now.Sub(in.lastSample)
	if dt < metricsPeriod {
		return
	}
	secs := dt.Seconds()
	cmds, netIn, netOut := s.stats.numCommands, s.stats.netInput.Load(), s.stats.netOutput.Load()
	in.samples[metricOps][in.sampleIdx] = float64(cmds-in.lastCommands) / secs
	in.samples[metricNetIn][in.sampleIdx] = float64(netIn-in.lastIn) / secs
	in.samples[metricNetOut][in.sampleIdx] = float64(netOut-in.lastOut) / secs
	in.sampleIdx = (in.sampleIdx + 1) % metricsSamples
	in.lastSample, in.lastCommands, in.lastIn, in.lastOut = now, cmds, netIn, netOut
	if m := heapObjectBytes(); m > s.stats.peakMemory {
		s.stats.peakMemory = m
	}
}

func (s *Server) instantaneous(metric int) float64 {
	var sum float64
	for _, v := range s.intro.samples[metric] {
		sum += max(v, 0) // a reset counter gives one negative sample
	}
	return sum / metricsSamples
}

// heapObjectBytes is used_memory: the bytes of live (and not yet swept) heap objects, the
// Go analogue of what Redis's allocator reports as allocated. It reads runtime/metrics,
// which does not stop the world, so the cron can sample it.
func heapObjectBytes() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}

// --- latency histograms -----------------------------------------------------------------

// latencyHistogram counts command durations in nanoseconds in log-linear buckets with two
// significant decimal digits of precision: the layout of the HDR histograms Redis 7.0 keeps
// per command, so the percentiles INFO latencystats prints have Redis's resolution. The
// counts array grows to the largest bucket used.
type latencyHistogram struct {
	counts []int64
	total  int64
}

const (
	histSubBucketBits = 8 // 256 sub-buckets: enough for 2 significant digits
	histHalfBits      = histSubBucketBits - 1
	histHalf          = 1 << histHalfBits
	histMinValue      = 1             // ns
	histMaxValue      = 1_000_000_000 // ns; longer commands count as 1 s, as in Redis
)

func histBucket(v int64) int {
	return bitsLen(uint64(v)|(1<<histSubBucketBits-1)) - histSubBucketBits
}

func bitsLen(x uint64) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

func histIndex(v int64) int {
	b := histBucket(v)
	sub := int(v >> b)
	return (b+1)<<histHalfBits + sub - histHalf
}

// histValue is the lowest value counted at index i, and the width of its range.
func histValue(i int) (low, width int64) {
	b := i>>histHalfBits - 1
	sub := i&(histHalf-1) + histHalf
	if b < 0 {
		sub -= histHalf
		b = 0
	}
	return int64(sub) << b, int64(1) << b
}

func (h *latencyHistogram) record(ns int64) {
	ns = min(max(ns, histMinValue), histMaxValue)
	i := histIndex(ns)
	if i >= len(h.counts) {
		h.counts = slices.Grow(h.counts, i+1-len(h.counts))[:i+1]
	}
	h.counts[i]++
	h.total++
}

// percentile returns the highest value equivalent to the one at percentile p (0..100): the
// value HDR histograms report.
func (h *latencyHistogram) percentile(p float64) int64 {
	if h.total == 0 {
		return 0
	}
	want := int64(math.Min(p, 100)/100*float64(h.total) + 0.5)
	want = max(want, 1)
	var seen int64
	for i, n := range h.counts {
		seen += n
		if seen >= want {
			low, width := histValue(i)
			if p == 0 {
				return low
			}
			return low + width - 1
		}
	}
	return 0
}

// recordLatency is called by call() for every executed command.
func (s *Server) recordLatency(cmd *Command, d time.Duration) {
	if !s.intro.tracking {
		return
	}
	if cmd.lat == nil {
		cmd.lat = &latencyHistogram{}
	}
	cmd.lat.record(d.Nanoseconds())
}

// --- the INFO command -----------------------------------------------------------------

// infoSections lists every section in output order; the flag says whether it is part of the
// default set (INFO with no argument).
var infoSections = []struct {
	name    string
	dflt    bool
	product func(s *Server, b *infoBuilder)
}{
	{"server", true, (*Server).infoServer},
	{"clients", true, (*Server).infoClients},
	{"memory", true, (*Server).infoMemory},
	{"persistence", true, (*Server).infoPersistence},
	{"stats", true, (*Server).infoStats},
	{"replication", true, (*Server).infoReplication},
	{"cpu", true, (*Server).infoCPU},
	{"modules", true, func(*Server, *infoBuilder) {}},
	{"commandstats", false, (*Server).infoCommandStats},
	{"errorstats", true, (*Server).infoErrorStats},
	{"latencystats", false, (*Server).infoLatencyStats},
	{"cluster", true, (*Server).infoCluster},
	{"keyspace", true, (*Server).infoKeyspace},
}

// infoBuilder accumulates "name:value\r\n" lines.
type infoBuilder struct{ buf []byte }

func (b *infoBuilder) str(name, v string) {
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, ':')
	b.buf = append(b.buf, v...)
	b.buf = append(b.buf, '\r', '\n')
}

func (b *infoBuilder) int(name string, v int64) {
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, ':')
	b.buf = strconv.AppendInt(b.buf, v, 10)
	b.buf = append(b.buf, '\r', '\n')
}

func (b *infoBuilder) float(name string, v float64, prec int) {
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, ':')
	b.buf = strconv.AppendFloat(b.buf, v, 'f', prec, 64)
	b.buf = append(b.buf, '\r', '\n')
}

func (b *infoBuilder) line(format string, args ...any) {
	b.buf = fmt.Appendf(b.buf, format, args...)
	b.buf = append(b.buf, '\r', '\n')
}

// infoWanted resolves INFO's arguments to the set of sections: "default", "all" (default
// plus commandstats and latencystats), "everything" (all plus module sections, of which sard
// has none) and section names, any case, several at once as in Redis 7.0. Unknown names
// select nothing.
func infoWanted(args [][]byte) map[string]bool {
	want := map[string]bool{}
	if len(args) == 0 {
		args = [][]byte{[]byte("default")}
	}
	for _, a := range args {
		name := strings.ToLower(string(a))
		switch name {
		case "default", "all", "everything":
			for _, sec := range infoSections {
				if sec.dflt || name != "default" {
					want[sec.name] = true
				}
			}
		default:
			want[name] = true
		}
	}
	return want
}

// genInfo renders the selected sections, blank line between sections, as Redis does.
func (s *Server) genInfo(want map[string]bool) []byte {
	var b infoBuilder
	n := 0
	for _, sec := range infoSections {
		if !want[sec.name] {
			continue
		}
		if n > 0 {
			b.buf = append(b.buf, '\r', '\n')
		}
		n++
		b.buf = append(b.buf, "# "...)
		b.buf = append(b.buf, infoTitle(sec.name)...)
		b.buf = append(b.buf, '\r', '\n')
		sec.product(s, &b)
	}
	return b.buf
}

// infoTitle is the section header Redis prints ("CPU", "Commandstats", "Keyspace").
func infoTitle(name string) string {
	if name == "cpu" {
		return "CPU"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func infoCommand(c *Client) {
	text := c.srv.genInfo(infoWanted(c.argv[1:]))
	c.w.Verbatim("txt", string(text))
}

// Info renders INFO sections for in-process callers (tests, a metrics endpoint). It takes
// the command lock.
func (s *Server) Info(sections ...string) string {
	args := make([][]byte, len(sections))
	for i, sec := range sections {
		args[i] = []byte(sec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.genInfo(infoWanted(args)))
}

// --- sections ---------------------------------------------------------------------------

func (s *Server) infoServer(b *infoBuilder) {
	mode := "standalone"
	if s.cfgBool("cluster-enabled") {
		mode = "cluster"
	}
	now := time.Now()
	uptime := int64(now.Sub(s.startTime).Seconds())
	exe, _ := os.Executable()
	b.str("redis_version", VersionCompat)
	b.str("redis_git_sha1", "00000000")
	b.str("redis_git_dirty", "0")
	b.str("redis_build_id", buildID())
	b.str("redis_mode", mode)
	b.str("os", osName())
	b.int("arch_bits", strconv.IntSize)
	b.str("monotonic_clock", "POSIX clock_gettime")
	// The Go runtime's network poller is epoll on Linux and kqueue on the BSDs; naming the
	// kernel interface is both true and what monitoring tools expect to see here.
	b.str("multiplexing_api", pollerName())
	b.str("atomicvar_api", "go-sync-atomic")
	b.str("gcc_version", "0.0.0") // Redis prints 0.0.0 when not built by gcc
	b.int("process_id", int64(os.Getpid()))
	b.str("process_supervised", "no")
	b.str("run_id", s.runID)
	b.int("tcp_port", s.cfgInt("port"))
	b.int("server_time_usec", now.UnixMicro())
	b.int("uptime_in_seconds", uptime)
	b.int("uptime_in_days", uptime/86400)
	b.int("hz", int64(s.hz))
	b.int("configured_hz", s.cfgInt("hz"))
	b.int("lru_clock", int64(s.lruClock()))
	b.str("executable", exe)
	b.str("config_file", s.cfg.File())
	b.int("io_threads_active", 0)
	b.str("sard_version", Version)
	b.str("go_version", runtime.Version())
}

func buildID() string {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(Version + runtime.Version()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return strconv.FormatUint(h, 16)
}

func osName() string {
	typ, err1 := os.ReadFile("/proc/sys/kernel/ostype")
	rel, err2 := os.ReadFile("/proc/sys/kernel/osrelease")
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	if err1 != nil || err2 != nil {
		return runtime.GOOS + " " + arch
	}
	return strings.TrimSpace(string(typ)) + " " + strings.TrimSpace(string(rel)) + " " + arch
}

func pollerName() string {
	switch runtime.GOOS {
	case "linux":
		return "epoll"
	case "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
		return "kqueue"
	case "solaris", "illumos":
		return "evport"
	}
	return "go-netpoll"
}

func (s *Server) infoClients(b *infoBuilder) {
	var blocked int64
	for _, c := range s.clients {
		if c.flags&flagBlocked != 0 {
			blocked++
		}
	}
	b.int("connected_clients", int64(len(s.clients)))
	b.int("cluster_connections", 0)
	b.int("maxclients", s.cfgInt("maxclients"))
	// Buffers belong to each client's goroutine and are not sampled under the lock.
	b.int("client_recent_max_input_buffer", 0)
	b.int("client_recent_max_output_buffer", 0)
	b.int("blocked_clients", blocked)
	b.int("tracking_clients", int64(s.trk.clients))
	b.int("clients_in_timeout_table", 0)
}

// humanBytes is Redis's bytesToHuman: B, K, M, G, T, P with two decimals.
func humanBytes(n int64) string {
	d := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1<<20:
		return strconv.FormatFloat(d/(1<<10), 'f', 2, 64) + "K"
	case n < 1<<30:
		return strconv.FormatFloat(d/(1<<20), 'f', 2, 64) + "M"
	case n < 1<<40:
		return strconv.FormatFloat(d/(1<<30), 'f', 2, 64) + "G"
	case n < 1<<50:
		return strconv.FormatFloat(d/(1<<40), 'f', 2, 64) + "T"
	case n < 1<<60:
		return strconv.FormatFloat(d/(1<<50), 'f', 2, 64) + "P"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// rssBytes reads the resident set size from /proc/self/statm (0 where there is none).
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func totalSystemMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// infoMemory maps Go's memory statistics onto Redis's fields: used_memory is the heap's live
// objects (what the allocator hands out), allocator_active the heap spans in use,
// allocator_resident what the heap holds from the OS, and used_memory_rss the process's
// resident set.
func (s *Server) infoMemory(b *infoBuilder) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	used := int64(ms.HeapAlloc)
	peak := max(s.stats.peakMemory, used)
	s.stats.peakMemory = peak
	rss := rssBytes()
	startup := s.intro.startupMemory
	var tables, clients int64
	for _, db := range s.dbs {
		st := db.ks.Stats()
		tables += int64(st.Buckets)*4 + int64(st.Expires)*4
	}
	for _, c := range s.clients {
		clients += int64(cap(c.out) + cap(c.w.Buf))
	}
	overhead := startup + tables + clients
	dataset := max(used-overhead, 0)
	sysMem := totalSystemMemory()
	maxmem := int64(s.cfg.MaxMemory)
	active, resident := int64(ms.HeapInuse), int64(ms.HeapSys-ms.HeapReleased)
	b.int("used_memory", used)
	b.str("used_memory_human", humanBytes(used))
	b.int("used_memory_rss", rss)
	b.str("used_memory_rss_human", humanBytes(rss))
	b.int("used_memory_peak", peak)
	b.str("used_memory_peak_human", humanBytes(peak))
	b.str("used_memory_peak_perc", strconv.FormatFloat(ratio(used, peak)*100, 'f', 2, 64)+"%")
	b.int("used_memory_overhead", overhead)
	b.int("used_memory_startup", startup)
	b.int("used_memory_dataset", dataset)
	b.str("used_memory_dataset_perc", strconv.FormatFloat(ratio(dataset, used-startup)*100, 'f', 2, 64)+"%")
	b.int("allocator_allocated", used)
	b.int("allocator_active", active)
	b.int("allocator_resident", resident)
	b.int("total_system_memory", sysMem)
	b.str("total_system_memory_human", humanBytes(sysMem))
	// Scripting arrives later; until then no memory goes to it.
	b.int("used_memory_lua", 0)
	b.int("used_memory_vm_eval", 0)
	b.str("used_memory_lua_human", "0B")
	b.int("used_memory_scripts_eval", 0)
	b.int("number_of_cached_scripts", 0)
	b.int("number_of_functions", 0)
	b.int("number_of_libraries", 0)
	b.int("used_memory_vm_functions", 0)
	b.int("used_memory_vm_total", 0)
	b.str("used_memory_vm_total_human", "0B")
	b.int("used_memory_functions", 0)
	b.int("used_memory_scripts", 0)
	b.str("used_memory_scripts_human", "0B")
	b.int("maxmemory", maxmem)
	b.str("maxmemory_human", humanBytes(maxmem))
	b.str("maxmemory_policy", s.cfgStr("maxmemory-policy"))
	b.float("allocator_frag_ratio", ratio(active, used), 2)
	b.int("allocator_frag_bytes", active-used)
	b.float("allocator_rss_ratio", ratio(resident, active), 2)
	b.int("allocator_rss_bytes", resident-active)
	b.float("rss_overhead_ratio", ratio(rss, resident), 2)
	b.int("rss_overhead_bytes", rss-resident)
	b.float("mem_fragmentation_ratio", ratio(rss, used), 2)
	b.int("mem_fragmentation_bytes", rss-used)
	b.int("mem_not_counted_for_evict", 0)
	b.int("mem_replication_backlog", 0)
	b.int("mem_total_replication_buffers", 0)
	b.int("mem_clients_slaves", 0)
	b.int("mem_clients_normal", clients)
	b.int("mem_cluster_links", 0)
	b.int("mem_aof_buffer", s.aofBufferLen())
	b.str("mem_allocator", "go-"+runtime.Version())
	b.int("active_defrag_running", 0)
	b.int("lazyfree_pending_objects", 0)
	b.int("lazyfreed_objects", 0)
}

// infoPersistence reports the loading, RDB and AOF state (rdb_load.go, rdb.go, aof.go).
func (s *Server) infoPersistence(b *infoBuilder) {
	b.int("loading", boolInt(s.persist.load.active))
	b.int("async_loading", boolInt(s.persist.load.async))
	b.int("current_cow_peak", 0)
	b.int("current_cow_size", 0)
	b.int("current_cow_size_age", 0)
	b.str("current_fork_perc", "0.00")
	b.int("current_save_keys_processed", 0)
	b.int("current_save_keys_total", 0)
	b.int("rdb_changes_since_last_save", s.dirty)
	p := &s.persist
	inProgress, curSecs := 0, int64(-1)
	if s.rdbSaveRunning() {
		inProgress, curSecs = 1, int64(time.Since(p.bgsave.start).Seconds())
	}
	b.int("rdb_bgsave_in_progress", int64(inProgress))
	b.int("rdb_last_save_time", s.lastSaveTime())
	b.str("rdb_last_bgsave_status", map[bool]string{true: "ok", false: "err"}[p.lastBgsaveOK])
	b.int("rdb_last_bgsave_time_sec", p.lastBgsaveSecs)
	b.int("rdb_current_bgsave_time_sec", curSecs)
	b.int("rdb_saves", p.saves)
	b.int("rdb_last_cow_size", 0)
	b.int("rdb_last_load_keys_expired", p.expiredOnLoad)
	b.int("rdb_last_load_keys_loaded", p.loadedKeys)
	s.infoAOF(b)
	b.int("module_fork_in_progress", 0)
	b.int("module_fork_last_cow_size", 0)
	s.infoAOFOn(b)
	s.infoLoading(b)
}

func (s *Server) infoStats(b *infoBuilder) {
	st := &s.stats
	b.int("total_connections_received", st.numConnections)
	b.int("total_commands_processed", st.numCommands)
	b.int("instantaneous_ops_per_sec", int64(s.instantaneous(metricOps)))
	b.int("total_net_input_bytes", st.netInput.Load())
	b.int("total_net_output_bytes", st.netOutput.Load())
	b.int("total_net_repl_input_bytes", 0)
	b.int("total_net_repl_output_bytes", 0)
	b.float("instantaneous_input_kbps", s.instantaneous(metricNetIn)/1024, 2)
	b.float("instantaneous_output_kbps", s.instantaneous(metricNetOut)/1024, 2)
	b.str("instantaneous_input_repl_kbps", "0.00")
	b.str("instantaneous_output_repl_kbps", "0.00")
	b.int("rejected_connections", st.rejectedConns)
	b.int("sync_full", s.repl.syncFull)
	b.int("sync_partial_ok", s.repl.syncPartialOK)
	b.int("sync_partial_err", s.repl.syncPartialErr)
	b.int("expired_keys", st.expiredKeys)
	b.float("expired_stale_perc", st.expiredStalePerc*100, 2)
	b.int("expired_time_cap_reached_count", st.expiredTimeCapped)
	b.int("expire_cycle_cpu_milliseconds", st.expireCycleTime/1000)
	b.int("evicted_keys", st.evictedKeys)
	b.int("evicted_clients", 0)
	b.int("total_eviction_exceeded_time", 0)
	b.int("current_eviction_exceeded_time", 0)
	b.int("keyspace_hits", st.keyspaceHits)
	b.int("keyspace_misses", st.keyspaceMisses)
	b.int("pubsub_channels", 0)
	b.int("pubsub_patterns", 0)
	b.int("pubsubshard_channels", 0)
	b.int("latest_fork_usec", 0)
	b.int("total_forks", 0)
	b.int("migrate_cached_sockets", 0)
	b.int("slave_expires_tracked_keys", 0)
	b.int("active_defrag_hits", 0)
	b.int("active_defrag_misses", 0)
	b.int("active_defrag_key_hits", 0)
	b.int("active_defrag_key_misses", 0)
	b.int("total_active_defrag_time", 0)
	b.int("current_active_defrag_time", 0)
	b.int("tracking_total_keys", int64(len(s.trk.table)))
	b.int("tracking_total_items", s.trk.items)
	b.int("tracking_total_prefixes", int64(len(s.trk.prefixes)))
	b.int("unexpected_error_replies", st.unexpectedErrors)
	b.int("total_error_replies", st.totalErrorReplies)
	b.int("dump_payload_sanitizations", 0)
	b.int("total_reads_processed", 0)
	b.int("total_writes_processed", 0)
	b.int("io_threaded_reads_processed", 0)
	b.int("io_threaded_writes_processed", 0)
	b.int("reply_buffer_shrinks", 0)
	b.int("reply_buffer_expands", 0)
}

func rusageSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// infoCPU reads getrusage. sard has no single main thread (commands run on whichever
// goroutine holds the lock), so the main-thread figures repeat the process's.
func (s *Server) infoCPU(b *infoBuilder) {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	b.float("used_cpu_sys", rusageSeconds(self.Stime), 6)
	b.float("used_cpu_user", rusageSeconds(self.Utime), 6)
	b.float("used_cpu_sys_children", rusageSeconds(children.Stime), 6)
	b.float("used_cpu_user_children", rusageSeconds(children.Utime), 6)
	b.float("used_cpu_sys_main_thread", rusageSeconds(self.Stime), 6)
	b.float("used_cpu_user_main_thread", rusageSeconds(self.Utime), 6)
}

// forEachCommand visits every command and subcommand in name order.
func (s *Server) forEachCommand(fn func(cmd *Command)) {
	names := make([]string, 0, len(s.commands))
	for n := range s.commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		cmd := s.commands[n]
		fn(cmd)
		subs := make([]string, 0, len(cmd.Subs))
		for sn := range cmd.Subs {
			subs = append(subs, sn)
		}
		slices.Sort(subs)
		for _, sn := range subs {
			fn(cmd.Subs[sn])
		}
	}
}

func (s *Server) infoCommandStats(b *infoBuilder) {
	s.forEachCommand(func(cmd *Command) {
		if cmd.calls == 0 && cmd.failed == 0 && cmd.rejected == 0 {
			return
		}
		perCall := 0.0
		if cmd.calls > 0 {
			perCall = float64(cmd.usec) / float64(cmd.calls)
		}
		b.line("cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
			cmd.FullName, cmd.calls, cmd.usec, perCall, cmd.rejected, cmd.failed)
	})
}

func (s *Server) infoErrorStats(b *infoBuilder) {
	codes := make([]string, 0, len(s.errorStats))
	for code := range s.errorStats {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		b.line("errorstat_%s:count=%d", code, s.errorStats[code])
	}
}

func (s *Server) infoLatencyStats(b *infoBuilder) {
	s.forEachCommand(func(cmd *Command) {
		if cmd.lat == nil || cmd.lat.total == 0 {
			return
		}
		b.buf = append(b.buf, "latency_percentiles_usec_"...)
		b.buf = append(b.buf, cmd.FullName...)
		b.buf = append(b.buf, ':')
		for i, p := range s.intro.percentiles {
			if i > 0 {
				b.buf = append(b.buf, ',')
			}
			b.buf = append(b.buf, 'p')
			b.buf = strconv.AppendFloat(b.buf, p, 'f', -1, 64)
			b.buf = append(b.buf, '=')
			b.buf = strconv.AppendFloat(b.buf, float64(cmd.lat.percentile(p))/1000, 'f', 3, 64)
		}
		b.buf = append(b.buf, '\r', '\n')
	})
}

func (s *Server) infoCluster(b *infoBuilder) {
	if s.cfgBool("cluster-enabled") {
		b.int("cluster_enabled", 1)
	} else {
		b.int("cluster_enabled", 0)
	}
}

func (s *Server) infoKeyspace(b *infoBuilder) {
	for _, db := range s.dbs {
		n := db.ks.Len()
		if n == 0 {
			continue
		}
		b.line("db%d:keys=%d,expires=%d,avg_ttl=%d", db.id, n, db.ks.ExpiresLen(), db.avgTTL)
	}
}

// resetStats is CONFIG RESETSTAT: the counters INFO stats reports, the per-command and
// per-error statistics and the latency histograms. The slow log, the dataset's dirty count
// and the memory peak's baseline are left alone, as in Redis.
func (s *Server) resetStats() {
	st := &s.stats
	st.numCommands = 0
	st.numConnections = 0
	st.rejectedConns = 0
	st.expiredKeys = 0
	st.expiredStalePerc = 0
	st.expiredTimeCapped = 0
	st.evictedKeys = 0
	st.keyspaceHits = 0
	st.keyspaceMisses = 0
	st.totalErrorReplies = 0
	st.unexpectedErrors = 0
	st.netInput.Store(0)
	st.netOutput.Store(0)
	st.expireCycleTime = 0
	s.intro.samples = [3][metricsSamples]float64{}
	s.intro.lastSample = time.Time{}
	clear(s.errorStats)
	s.forEachCommand(func(cmd *Command) {
		cmd.calls, cmd.usec, cmd.rejected, cmd.failed = 0, 0, 0, 0
		cmd.lat = nil
	})
}

func init() {
	register(map[string]func(*Client){
		"info": infoCommand,
	})
}
