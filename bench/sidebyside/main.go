// Command sidebyside runs Debian's redis-benchmark against sard and a real
// redis-server, interleaved on the same machine, and reports throughput
// ratios, latencies and memory per key.
//
// Usage (see also `make bench` and `make bench-mem`):
//
//	go run ./bench/sidebyside -sard-bin bin/sard-server [flags]
//	go run ./bench/sidebyside -sard-bin $(which redis-server) -rounds 1 -n 20000
//	go run ./bench/sidebyside -tests lpush,rpop -cmd 'XADD=XADD s * f v'
//	go run ./bench/sidebyside -setup '100*ZADD z __i__ m:__i__' -cmd 'ZRANGE100=ZRANGE z 0 99'
//	go run ./bench/sidebyside -mem [-mem-n 1000000] [-mem-cmd 'HSET h f:__rand_int__ v' -mem-count 'HLEN h']
//
// Both servers run at once, each on a free loopback port in its own
// temporary directory, with saving and the AOF switched off (--save "" and
// --appendonly no). For every round, pipeline depth and test, the two servers
// are benchmarked one after the other, alternating which goes first, so that
// slow drifts of a shared, noisy machine hit both equally. Ratios within one
// run are what the numbers are for.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// config is everything the flags decide.
type config struct {
	sardBin, redisBin, benchBin string
	sardArgs, redisArgs         []string
	requests                    int // 0: per-pipeline defaults
	rounds                      int
	pipelines                   []int
	specs                       []testSpec
	setup                       []setupStep
	subscribers                 int    // idle SUBSCRIBE connections per server
	subChannel                  string // the channel they subscribe to
	run                         runOpts
	markdown                    bool
	warmup                      bool

	mem       bool
	memN      int
	memCmd    []string
	memR      int
	memCount  []string
	memSettle time.Duration
}

// defaultRequests keeps `make bench` to a few minutes on a 2-core machine.
// Runs are kept short (a few seconds against redis-server) because the two
// halves of a pair then sit close in time and see the same background load;
// for steadier medians add rounds rather than requests.
func defaultRequests(pipeline int) int {
	if pipeline <= 1 {
		return 100_000
	}
	return 500_000
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg                    config
		sardArgs, redisArgs    string
		benchExtra, pipes      string
		tests, memCmd, memCnt  string
		customs, setups        multiFlag
		clients, keyspace, dsz int
		timeout                time.Duration
	)
	fs.StringVar(&cfg.sardBin, "sard-bin", "bin/sard-server", "sard server binary (redis-server style arguments)")
	fs.StringVar(&cfg.redisBin, "redis-bin", "redis-server", "reference redis-server binary")
	fs.StringVar(&cfg.benchBin, "benchmark-bin", "redis-benchmark", "redis-benchmark binary")
	fs.StringVar(&sardArgs, "sard-args", "", "extra sard arguments, shell-quoted (e.g. \"--appendonly yes --appendfsync always\")")
	fs.StringVar(&redisArgs, "redis-args", "", "extra redis-server arguments, shell-quoted")
	fs.IntVar(&cfg.requests, "n", 0, "requests per run (0: 100000 at -P 1, 500000 when pipelined)")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds; figures are medians over rounds")
	fs.IntVar(&clients, "c", 50, "parallel connections")
	fs.StringVar(&pipes, "P", "1,16", "comma-separated pipeline depths")
	fs.StringVar(&tests, "tests", "set,get,incr,mset", "comma-separated redis-benchmark -t tests (default tests are dropped when -cmd is given unless -tests is set)")
	fs.Var(&customs, "cmd", "custom command to benchmark, repeatable: 'LABEL=COMMAND ARGS' (redis-benchmark expands __rand_int__ with -r)")
	fs.Var(&setups, "setup", "command sent to each server once before benchmarking, repeatable: '[N*]COMMAND ARGS' (__i__ is the repetition index)")
	fs.IntVar(&cfg.subscribers, "subscribers", 0, "connections per server that SUBSCRIBE to -sub-channel and read what is published, for PUBLISH benchmarks")
	fs.StringVar(&cfg.subChannel, "sub-channel", "ch", "the channel -subscribers subscribe to")
	fs.IntVar(&keyspace, "r", 0, "redis-benchmark -r keyspace length (0: not passed, every request hits the same key)")
	fs.IntVar(&dsz, "d", 0, "redis-benchmark -d value size (0: redis-benchmark's default of 3)")
	fs.StringVar(&benchExtra, "bench-args", "", "extra redis-benchmark options, shell-quoted (e.g. \"--threads 2\")")
	fs.DurationVar(&timeout, "timeout", 3*time.Minute, "limit for one redis-benchmark run")
	fs.BoolVar(&cfg.warmup, "warmup", true, "run a short untimed SET/GET load on each server first")
	fs.BoolVar(&cfg.markdown, "markdown", false, "print a Markdown report for docs/benchmarks.md")
	fs.BoolVar(&cfg.mem, "mem", false, "memory mode: RSS and bytes per key after a bulk load instead of throughput")
	fs.IntVar(&cfg.memN, "mem-n", 1_000_000, "memory mode: requests in the load")
	fs.StringVar(&memCmd, "mem-cmd", "", "memory mode: custom load command (default: the SET test with -d 16)")
	fs.IntVar(&cfg.memR, "mem-r", 100_000_000, "memory mode: -r keyspace for the load")
	fs.StringVar(&memCnt, "mem-count", "DBSIZE", "memory mode: command whose integer reply counts the items loaded")
	fs.DurationVar(&cfg.memSettle, "mem-settle", 5*time.Second, "memory mode: extra wait before the last RSS reading (lets Go's scavenger return memory)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (custom commands go in -cmd)", fs.Args())
	}
	var err error
	if cfg.sardArgs, err = shellSplit(sardArgs); err != nil {
		return nil, fmt.Errorf("-sard-args: %v", err)
	}
	if cfg.redisArgs, err = shellSplit(redisArgs); err != nil {
		return nil, fmt.Errorf("-redis-args: %v", err)
	}
	extra, err := shellSplit(benchExtra)
	if err != nil {
		return nil, fmt.Errorf("-bench-args: %v", err)
	}
	if cfg.rounds < 1 || clients < 1 || cfg.requests < 0 || keyspace < 0 || dsz < 0 || timeout <= 0 || cfg.subscribers < 0 {
		return nil, errors.New("-rounds, -c and -timeout must be positive; -n, -r, -d and -subscribers not negative")
	}
	cfg.run = runOpts{Bin: cfg.benchBin, Clients: clients, Keyspace: keyspace, DataSize: dsz, Extra: extra, Timeout: timeout}
	for _, p := range strings.Split(pipes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-P: bad pipeline depth %q", p)
		}
		cfg.pipelines = append(cfg.pipelines, n)
	}
	testsSet := false
	fs.Visit(func(f *flag.Flag) { testsSet = testsSet || f.Name == "tests" })
	if testsSet || len(customs) == 0 {
		cfg.specs = parseTestList(tests)
	}
	for _, c := range customs {
		spec, err := parseCustom(c)
		if err != nil {
			return nil, err
		}
		cfg.specs = append(cfg.specs, spec)
	}
	for _, s := range setups {
		st, err := parseSetup(s)
		if err != nil {
			return nil, err
		}
		cfg.setup = append(cfg.setup, st)
	}
	if memCmd != "" {
		if cfg.memCmd, err = shellSplit(memCmd); err != nil {
			return nil, fmt.Errorf("-mem-cmd: %v", err)
		}
	}
	if cfg.memCount, err = shellSplit(memCnt); err != nil || len(cfg.memCount) == 0 {
		return nil, fmt.Errorf("-mem-count: bad command %q", memCnt)
	}
	if cfg.memN < 1 || cfg.memR < 1 {
		return nil, errors.New("-mem-n and -mem-r must be positive")
	}
	if !cfg.mem && len(cfg.specs) == 0 {
		return nil, errors.New("nothing to benchmark: give -tests or -cmd")
	}
	return &cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the harness outright
	}()
	if cfg.mem {
		err = runMem(ctx, cfg, os.Stdout, os.Stderr)
	} else {
		err = runBench(ctx, cfg, os.Stdout, os.Stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted (%v); servers stopped", err)
		}
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

// side is one server under test, with the arguments it is started with.
type side struct {
	name string
	bin  string
	args []string
	srv  *server
}

func (cfg *config) sides() []*side {
	return []*side{
		{name: "sard", bin: cfg.sardBin, args: cfg.sardArgs},
		{name: "redis", bin: cfg.redisBin, args: cfg.redisArgs},
	}
}

// checkTools fails early and clearly when redis-benchmark is missing.
func checkTools(cfg *config) error {
	if _, err := exec.LookPath(cfg.benchBin); err != nil {
		return fmt.Errorf("%s not found (%v); install the redis-tools package or pass -benchmark-bin", cfg.benchBin, err)
	}
	return nil
}

// order says which side goes first in a given slot: alternating with both
// the round and the test, so neither server always runs on a warmer or
// quieter machine.
func order(round, slot int) [2]int {
	if (round+slot)%2 == 0 {
		return [2]int{0, 1}
	}
	return [2]int{1, 0}
}

// runBench is the throughput mode.
func runBench(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	if err := checkTools(cfg); err != nil {
		return err
	}
	sides := cfg.sides()
	defer func() {
		for _, s := range sides {
			if s.srv != nil {
				s.srv.stop()
			}
		}
	}()
	for _, s := range sides {
		srv, err := startServer(s.name, s.bin, s.args)
		if err != nil {
			return err
		}
		s.srv = srv
		fmt.Fprintf(stderr, "started %s: %s (pid %d, port %d)\n", s.name, srv.bin, srv.pid(), srv.port)
	}
	for _, s := range sides {
		for _, st := range cfg.setup {
			if err := s.srv.pipeline(ctx, st.commands()); err != nil {
				return fmt.Errorf("setup on %s: %v", s.name, err)
			}
		}
		for range cfg.subscribers {
			if err := s.srv.subscribe(ctx, cfg.subChannel); err != nil {
				return fmt.Errorf("subscriber on %s: %v", s.name, err)
			}
		}
	}
	if cfg.warmup {
		// A fresh server pays for first-touch page faults and, for Go, heap
		// growth; keep that out of round 1.
		for _, s := range sides {
			args := benchArgs(cfg.run, s.srv.port, 16, 100_000, testSpec{Test: "set,get"})
			if _, err := runBenchmark(ctx, cfg.benchBin, args, cfg.run.Timeout); err != nil {
				return fmt.Errorf("warm-up of %s: %v", s.name, err)
			}
		}
	}
	meta := collectMeta(cfg, sides)
	start := time.Now()
	tab := newTable()
	for round := 0; round < cfg.rounds; round++ {
		slot := 0
		for _, p := range cfg.pipelines {
			n := cfg.requests
			if n == 0 {
				n = defaultRequests(p)
			}
			for _, spec := range cfg.specs {
				for _, i := range order(round, slot) {
					s := sides[i]
					args := benchArgs(cfg.run, s.srv.port, p, n, spec)
					cpu0, cerr0 := s.srv.cpuTime()
					res, err := runBenchmark(ctx, cfg.benchBin, args, cfg.run.Timeout)
					cpu1, cerr1 := s.srv.cpuTime()
					for _, other := range sides {
						if !other.srv.alive() {
							return other.srv.deadErr()
						}
					}
					if err != nil {
						return fmt.Errorf("%s: %v", s.name, err)
					}
					for j := range res {
						if cerr0 == nil && cerr1 == nil {
							// Tests with a fill phase (lrange_*) print several rows for one
							// invocation; spread the CPU over all of their requests.
							res[j].CPU = float64((cpu1 - cpu0).Microseconds()) / float64(n*len(res))
						} else {
							res[j].CPU = math.NaN()
						}
					}
					for _, r := range res {
						tab.add(spec, p, r.Name, i, round, r)
						fmt.Fprintf(stderr, "round %d/%d -P %-3d %-6s %-24s %10.0f req/s  p50 %.3f ms  p99 %.3f ms  cpu %.2f us/req\n",
							round+1, cfg.rounds, p, s.name, trimName(r.Name), r.RPS, r.P50, r.P99, r.CPU)
					}
				}
				slot++
			}
		}
	}
	meta.elapsed = time.Since(start)
	meta.loadAfter = loadAvg()
	if cfg.markdown {
		writeMarkdown(stdout, meta, tab)
	} else {
		writeText(stdout, meta, tab)
	}
	return nil
}

// meta is what a report says about the run itself.
type meta struct {
	date         time.Time
	commandLine  string
	nproc        int
	cpu          string
	goVersion    string
	sardVersion  string
	redisVersion string
	sardBin      string
	redisBin     string
	rounds       int
	clients      int
	elapsed      time.Duration
	loadBefore   string // /proc/loadavg, a hint of how noisy the machine was
	loadAfter    string
}

// commandLine reconstructs how the harness was invoked; under `go run` the
// binary lives in a throwaway build directory, so name the package instead.
func commandLine() string {
	prog := os.Args[0]
	if strings.Contains(prog, "go-build") {
		prog = "go run ./bench/sidebyside"
	} else if rel, err := filepath.Rel(".", prog); err == nil && !strings.HasPrefix(rel, "..") {
		prog = rel
		if !strings.Contains(prog, "/") {
			prog = "./" + prog
		}
	}
	return prog + " " + shellJoin(os.Args[1:])
}
