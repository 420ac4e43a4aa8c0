// Package server is sard's Redis-compatible server: connections, the command gatekeeper,
// the command families and the periodic tasks, all running commands in one serial order.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sard-kv/sard/internal/config"
)

// Version is sard's own version; VersionCompat is the Redis version it answers as, so tools
// that check the server version treat it as Redis 7.0.
const (
	Version       = "0.1.0"
	VersionCompat = "7.0.15"
)

// Server holds the whole state. mu is the command lock: every command, the cron and any
// change to the dataset run with it held, which gives the single serial order of writes that
// the propagation stream (AOF, replicas) records.
type Server struct {
	mu  sync.Mutex
	cfg *config.Config
	log *Logger

	dbs       []*DB
	clients   map[int64]*Client // under mu
	nextID    atomic.Int64
	listeners []net.Listener
	monitors  []*Client

	commands map[string]*Command

	startTime  time.Time
	now        int64 // unix ms, refreshed before each batch (Redis's command time snapshot)
	runID      string
	replID     string
	replID2    string
	dirty      int64 // changes since the last save
	stats      stats
	errorStats map[string]int64
	slowlog    slowlog
	latency    latencyMonitor
	prop       propagator
	pause      pauseState
	intro      introspection // INFO, DEBUG and SHUTDOWN state (info.go)
	blk        blockingState // clients in blocking commands (blocking.go)
	scripts    scriptState   // Lua scripts and functions (scripting.go, functions.go)
	watch      watchTable    // WATCHed keys (multi.go)
	pubsub     pubsubState   // channels and patterns (pubsub.go)
	trk        trackingState // client-side caching (tracking.go)
	curClient  *Client       // the client whose batch is executing, nil in the cron
	persist    persistState  // RDB saves and loading (rdb.go)
	aof        aofState      // the append-only file (aof.go)
	repl       replState     // replication (replication.go)
	io         ioState       // event loops and dispatch hot-path state (eventloop_*.go)
	mem        memGate       // the maxmemory gate (evict.go)

	// Values read on hot paths outside the lock, kept in sync by config hooks.
	queryBufLimit atomic.Int64
	maxBulkLen    atomic.Int64
	passSet       atomic.Bool

	hot             hotConfig // directives read per command, resolved once
	hz              int
	prefetchSink    uint32 // keeps the prefetch loads observable
	activeExpireOff bool   // DEBUG SET-ACTIVE-EXPIRE 0
	shuttingDown    atomic.Bool
	accepting       atomic.Bool // AcceptConnections ran
	done            chan struct{}
	shutdownOnce    sync.Once
	exitCode        int
}

type stats struct {
	numCommands       int64
	numConnections    int64
	rejectedConns     int64
	expiredKeys       int64
	expiredStalePerc  float64
	expiredTimeCapped int64
	evictedKeys       int64
	keyspaceHits      int64
	keyspaceMisses    int64
	totalErrorReplies int64
	unexpectedErrors  int64
	peakMemory        int64
	netInput          atomic.Int64
	netOutput         atomic.Int64
	expireCycleTime   int64 // microseconds spent in active expiry
}

// New builds a server from a loaded configuration.
func New(cfg *config.Config, log *Logger) *Server {
	s := &Server{
		cfg:        cfg,
		log:        log,
		clients:    make(map[int64]*Client),
		startTime:  time.Now(),
		errorStats: make(map[string]int64),
		done:       make(chan struct{}),
		hot:        resolveHotConfig(cfg),
	}
	s.runID = randomHex(40)
	s.replID = randomHex(40)
	s.replID2 = strings.Repeat("0", 40)
	s.repl.secondOffset = -1
	n := int(s.cfgInt("databases"))
	s.dbs = make([]*DB, n)
	for i := range s.dbs {
		s.dbs[i] = newDB(s, i)
	}
	s.commands = buildCommandTable()
	s.io.index.build(s.commands)
	s.installHooks()
	s.initPersistence()
	s.installFunctionPersistence()
	s.initAOF()
	s.now = time.Now().UnixMilli()
	return s
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// installHooks mirrors config values the server reads often and reacts to CONFIG SET.
func (s *Server) installHooks() {
	sync := func() error {
		s.queryBufLimit.Store(s.cfgInt("client-query-buffer-limit"))
		s.maxBulkLen.Store(s.hot.protoMaxBulk.Get())
		s.passSet.Store(s.cfgStr("requirepass") != "")
		s.hz = clampHz(int(s.cfgInt("hz")))
		s.slowlog.maxLen = int(s.cfgInt("slowlog-max-len"))
		s.slowlog.trim()
		s.log.SetLevel(ParseLogLevel(s.cfgStr("loglevel")))
		return nil
	}
	sync()
	// Only a running server re-listens; at start-up Listen opens the sockets.
	s.cfg.OnApply("port", func() error { return s.rebindIfServing() })
	s.cfg.OnApply("bind", func() error { return s.rebindIfServing() })
	for _, name := range []string{"client-query-buffer-limit", "proto-max-bulk-len", "requirepass", "hz", "slowlog-max-len", "loglevel"} {
		s.cfg.OnApply(name, sync)
	}
	s.installIntrospectionHooks()
}

func clampHz(hz int) int { return min(max(hz, 1), 500) }

func (s *Server) requirePassSet() bool { return s.passSet.Load() }

// Listen opens the listening sockets named by bind, port and unixsocket.
func (s *Server) Listen() error {
	lns, err := s.listenTCP()
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, lns...)
	if path := s.cfgStr("unixsocket"); path != "" {
		os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err != nil {
			return fmt.Errorf("Failed opening Unix socket: %w", err)
		}
		perm := s.cfgInt("unixsocketperm")
		if perm != 0 {
			os.Chmod(path, os.FileMode(perm))
		}
		s.listeners = append(s.listeners, ln)
	}
	return nil
}

// listenTCP opens a listener for each bind address on port (none when port is 0).
func (s *Server) listenTCP() ([]net.Listener, error) {
	port := int(s.cfgInt("port"))
	if port == 0 {
		return nil, nil
	}
	var lns []net.Listener
	for _, addr := range bindAddrs(s.cfgStr("bind")) {
		optional := strings.HasPrefix(addr, "-")
		addr = strings.TrimPrefix(addr, "-")
		host := addr
		if host == "*" {
			host = "0.0.0.0"
		}
		network := "tcp4"
		if host == "::*" {
			host, network = "::", "tcp6"
		} else if strings.Contains(host, ":") {
			network = "tcp6"
		}
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if optional || (host == "::" && isAddrUnavailable(err)) {
				s.log.Warningf("Could not create server TCP listening socket %s:%d: %v", addr, port, err)
				continue
			}
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("Could not create server TCP listening socket %s:%d: %w", addr, port, err)
		}
		s.setBacklog(ln)
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("Failed listening on port %d (tcp), aborting.", port)
	}
	return lns, nil
}

// rebind is CONFIG SET port/bind: the new sockets are opened first, and only when they all
// open are the old ones closed, as Redis does; otherwise the old ones stay and SET fails.
func (s *Server) rebind() error {
	lns, err := s.listenTCP()
	if err != nil {
		s.log.Warningf("%v", err)
		return errors.New("Unable to listen on this port. Check server logs.")
	}
	var keep []net.Listener
	for _, ln := range s.listeners {
		if _, tcp := ln.(*net.TCPListener); tcp {
			ln.Close()
		} else {
			keep = append(keep, ln)
		}
	}
	s.listeners = append(keep, lns...)
	for _, ln := range lns {
		go s.acceptLoop(ln)
	}
	return nil
}

func bindAddrs(bind string) []string {
	f := strings.Fields(bind)
	if len(f) == 0 {
		return []string{"*", "-::*"}
	}
	return f
}

func isAddrUnavailable(err error) bool {
	return strings.Contains(err.Error(), "address family not supported") ||
		strings.Contains(err.Error(), "cannot assign requested address")
}

// AcceptConnections starts accepting clients on every listener. The process wrapper calls
// it before LoadDataAtStartup, so clients are answered (-LOADING) while the data loads.
func (s *Server) AcceptConnections() {
	if s.accepting.Swap(true) {
		return
	}
	for _, ln := range s.listeners {
		go s.acceptLoop(ln)
	}
}

// Serve accepts connections on every listener (if not already) and runs the cron until
// Shutdown.
func (s *Server) Serve() {
	s.AcceptConnections()
	go s.cronLoop()
	<-s.done
}

func (s *Server) acceptLoop(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shuttingDown.Load() {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if strings.Contains(err.Error(), "use of closed") {
				return
			}
			s.log.Warningf("Accepting client connection: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.accept(conn)
	}
}

func (s *Server) accept(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		s.mu.Lock() // the config is CONFIG SET's under the lock
		ka := s.cfgInt("tcp-keepalive")
		s.mu.Unlock()
		if ka > 0 {
			tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Duration(ka) * time.Second,
				Interval: time.Duration(max(ka/3, 1)) * time.Second, Count: 3})
		}
	}
	id := s.nextID.Add(1)
	c := newClient(s, conn, id)
	s.mu.Lock()
	if len(s.clients) >= int(s.cfgInt("maxclients")) {
		s.stats.rejectedConns++
		s.mu.Unlock()
		conn.Write([]byte("-ERR max number of clients reached\r\n"))
		conn.Close()
		return
	}
	if msg := s.protectedModeDenial(c); msg != "" {
		s.stats.rejectedConns++
		s.mu.Unlock()
		conn.Write([]byte(msg))
		conn.Close()
		return
	}
	s.clients[id] = c
	s.stats.numConnections++
	c.db = s.dbs[0]
	c.authed = !s.requirePassSet()
	s.mu.Unlock()
	c.start()
}

// protectedModeDenial returns the error Redis sends before dropping a non-local client when
// protected mode is on and the default user has no password. Redis 7.0 applies this whatever
// bind says (6.x exempted servers with an explicit bind).
func (s *Server) protectedModeDenial(c *Client) string {
	if !s.cfgBool("protected-mode") || s.requirePassSet() || c.flags&flagUnixSocket != 0 {
		return ""
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return protectedModeMessage
}

// protectedModeMessage is Redis 7.0's text byte for byte, its "Setup a an" included, since clients match on it.
const protectedModeMessage = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

func (s *Server) unlinkClient(c *Client) {
	c.close()
	s.mu.Lock()
	delete(s.clients, c.id)
	if c.flags&flagMonitor != 0 {
		s.removeMonitor(c)
	}
	s.unwatchAll(c)
	s.unsubscribeAll(c)
	s.disableTracking(c)
	if c.flags&(flagReplica|flagMaster) != 0 || len(s.repl.replicas) > 0 {
		s.replClientGone(c)
	}
	s.mu.Unlock()
}

// Shutdown stops accepting, closes clients and ends Serve.
func (s *Server) Shutdown(code int) {
	s.shutdownOnce.Do(func() {
		s.shuttingDown.Store(true)
		s.exitCode = code
		for _, ln := range s.listeners {
			ln.Close()
		}
		if path := s.cfgStr("unixsocket"); path != "" {
			os.Remove(path)
		}
		close(s.done)
	})
}

// ExitCode is the process exit status requested by the shutdown; it waits for the shutdown
// to be done (the process wrapper may ask as soon as ShuttingDown reports one began).
func (s *Server) ExitCode() int {
	<-s.done
	return s.exitCode
}

// Lock and Unlock expose the command lock to the process wrapper (signal handling).
func (s *Server) Lock()   { s.mu.Lock() }
func (s *Server) Unlock() { s.mu.Unlock() }

// RunID is the server's run id (INFO server).
func (s *Server) RunID() string { return s.runID }

// cfgInt, cfgStr and cfgBool read a directive by name; the names are compile-time constants
// of the config table, so a missing one is a bug the tests catch (it reads as zero).
func (s *Server) cfgInt(name string) int64 {
	v, _ := s.cfg.GetInt(name)
	return v
}

func (s *Server) cfgStr(name string) string {
	v, _ := s.cfg.GetString(name)
	return v
}

func (s *Server) cfgBool(name string) bool {
	v, _ := s.cfg.GetBool(name)
	return v
}

// processStart anchors the cheap clocks below: reading only the monotonic clock costs one
// vDSO call where time.Now costs two, and these run for every command.
var (
	processStart   = time.Now()
	processStartMs = processStart.UnixMilli()
)

// monoNow is the monotonic time since the process started.
func monoNow() time.Duration { return time.Since(processStart) }

// unixMs approximates the wall clock in unix ms from the monotonic clock (client idle times).
func unixMs() int64 { return processStartMs + int64(monoNow()/time.Millisecond) }

// setBacklog applies tcp-backlog: Go listens with the system's somaxconn, and Linux lets a
// second listen() on the socket change the queue length. Like Redis, warn when the kernel
// caps it lower.
func (s *Server) setBacklog(ln net.Listener) {
	backlog := int(s.cfgInt("tcp-backlog"))
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && max < backlog {
			s.log.Warningf("WARNING: The TCP backlog setting of %d cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of %d.", backlog, max)
		}
	}
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return
	}
	if raw, err := sc.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { syscall.Listen(int(fd), backlog) })
	}
}

func (s *Server) rebindIfServing() error {
	if len(s.listeners) == 0 {
		return nil
	}
	return s.rebind()
}

// hotConfig holds the directives the command families read on every command (encoding
// thresholds, size limits), resolved once so a read is an index, not a map lookup by name.
type hotConfig struct {
	hashEntries, hashValue, zsetEntries, zsetValue, setIntset  config.IntRef
	listFill, listDepth, streamBytes, streamEntries, hllSparse config.IntRef
	protoMaxBulk                                               config.IntRef
	minReplicas, minReplicasLag                                config.IntRef
}

func resolveHotConfig(cfg *config.Config) hotConfig {
	return hotConfig{
		hashEntries:    cfg.IntRef("hash-max-listpack-entries"),
		hashValue:      cfg.IntRef("hash-max-listpack-value"),
		zsetEntries:    cfg.IntRef("zset-max-listpack-entries"),
		zsetValue:      cfg.IntRef("zset-max-listpack-value"),
		setIntset:      cfg.IntRef("set-max-intset-entries"),
		listFill:       cfg.IntRef("list-max-listpack-size"),
		listDepth:      cfg.IntRef("list-compress-depth"),
		streamBytes:    cfg.IntRef("stream-node-max-bytes"),
		streamEntries:  cfg.IntRef("stream-node-max-entries"),
		hllSparse:      cfg.IntRef("hll-sparse-max-bytes"),
		protoMaxBulk:   cfg.IntRef("proto-max-bulk-len"),
		minReplicas:    cfg.IntRef("min-replicas-to-write"),
		minReplicasLag: cfg.IntRef("min-replicas-max-lag"),
	}
}
