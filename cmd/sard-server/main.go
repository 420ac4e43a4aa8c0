// Command sard-server runs sard, invoked like redis-server: sard-server [redis.conf] [--directive value ...].
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/server"
)

func usage() {
	fmt.Fprintf(os.Stderr, `Usage: ./sard-server [/path/to/redis.conf] [options] [-]
       ./sard-server - (read config from stdin)
       ./sard-server -v or --version
       ./sard-server -h or --help

Examples:
       ./sard-server (run the server with default conf)
       ./sard-server /etc/redis/6379.conf
       ./sard-server --port 7777
       ./sard-server /etc/myredis.conf --loglevel verbose -
       ./sard-server /etc/myredis.conf --loglevel verbose
`)
	os.Exit(1)
}

func main() {
	// The process title is written over the kernel's argv memory later: remember where it is
	// and let everything else use copies.
	argvMemory = os.Args
	os.Args = make([]string, len(argvMemory))
	for i, a := range argvMemory {
		os.Args[i] = strings.Clone(a)
	}
	args := os.Args[1:]
	if len(args) == 1 {
		switch args[0] {
		case "-v", "--version":
			fmt.Printf("sard server v=%s (Redis %s compatible) bits=64 go=%s\n", server.Version, server.VersionCompat, goVersion())
			return
		case "-h", "--help":
			usage()
		}
	}
	path := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		path = args[0]
		args = args[1:]
	}
	if path != "" && path != "-" {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	cfg, err := config.Load(path, args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n%v\n", err)
		os.Exit(1)
	}
	if getBool(cfg, "daemonize") && os.Getenv(daemonEnv) == "" {
		if err := daemonize(); err != nil {
			fmt.Fprintln(os.Stderr, "Can't daemonize:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(cfg))
}

func run(cfg *config.Config) int {
	// SARD_CPUPROFILE=path writes a pprof CPU profile covering the server's whole life.
	if path := os.Getenv("SARD_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	logfile := getString(cfg, "logfile")
	if logfile == "" && os.Getenv(daemonEnv) != "" {
		logfile = os.DevNull // a daemon with no log file logs nowhere, as Redis
	}
	log, err := server.NewLogger(logfile, server.ParseLogLevel(getString(cfg, "loglevel")))
	if err != nil {
		fmt.Fprintf(os.Stderr, "Can't open the log file: %v\n", err)
		return 1
	}
	defer log.Close()
	pid := os.Getpid()
	log.Warningf("oO0OoO0OoO0Oo sard is starting oO0OoO0OoO0Oo")
	log.Warningf("sard version=%s, redis-compat=%s, bits=64, pid=%d, just started", server.Version, server.VersionCompat, pid)
	if cfg.File() == "" {
		log.Warningf("Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/redis.conf", os.Args[0])
	} else {
		log.Warningf("Configuration loaded")
	}
	for _, w := range cfg.Warnings() {
		log.Warningf("%s", w)
	}
	if dir := getString(cfg, "dir"); dir != "" {
		if err := os.Chdir(dir); err != nil {
			log.Warningf("Can't chdir to '%s': %v", dir, err)
			return 1
		}
	}
	// Catch SIGTERM/SIGINT before anything outside can see us (the pidfile, the port):
	// a signal that arrives earlier is queued here instead of killing the process.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	srv := server.New(cfg, log)
	log.SetRole('M')
	if err := srv.Listen(); err != nil {
		log.Warningf("%v", err)
		return 1
	}
	pidfile := getString(cfg, "pidfile")
	if pidfile == "" && os.Getenv(daemonEnv) != "" {
		pidfile = "/var/run/redis.pid"
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(fmt.Sprintf("%d\n", pid)), 0o644); err != nil {
			log.Warningf("Failed to write PID file: %v", err)
		} else {
			defer os.Remove(pidfile)
		}
	}
	mode := "standalone"
	if getBool(cfg, "cluster-enabled") {
		mode = "cluster"
	}
	port := int(getInt(cfg, "port"))
	if getBool(cfg, "always-show-logo") || (logfile == "" && isTerminal(os.Stdout)) {
		log.Raw(server.Banner(mode, port, pid))
	} else {
		log.Noticef("Running mode=%s, port=%d.", mode, port)
	}
	if getBool(cfg, "set-proc-title") {
		setProcTitle(procTitle(getString(cfg, "proc-title-template"), os.Args[0], cfg, mode))
	}
	log.Warningf("Server initialized")
	go func() {
		n := 0
		for sig := range signals {
			n++
			name := "SIGTERM"
			if sig == syscall.SIGINT {
				name = "SIGINT"
			}
			if n > 1 && sig == syscall.SIGINT {
				log.Warningf("You insist... exiting now.")
				os.Remove(pidfile)
				os.Exit(1)
			}
			log.Warningf("Received %s scheduling shutdown...", name)
			go srv.ShutdownFromSignal()
		}
	}()
	// As Redis, clients are accepted while the dataset loads; they get -LOADING meanwhile.
	srv.BeginStartupLoad()
	srv.AcceptConnections()
	err = srv.LoadDataAtStartup()
	if err == nil {
		err = srv.StartAOF()
	}
	if srv.ShuttingDown() {
		log.Warningf("Redis is now ready to exit, bye bye...")
		return srv.ExitCode()
	}
	if err != nil {
		log.Warningf("%v", err)
		return 1
	}
	if port != 0 {
		log.Noticef("Ready to accept connections")
	}
	if sock := getString(cfg, "unixsocket"); sock != "" {
		log.Noticef("The server is now ready to accept connections at %s", sock)
	}
	srv.Serve()
	log.Warningf("Redis is now ready to exit, bye bye...") // the line log scrapers wait for
	return srv.ExitCode()
}

// procTitle expands proc-title-template's {title}, {listen-addr}, {server-mode}, {port},
// {tls-port}, {unixsocket} and {config-file} as Redis does.
func procTitle(tmpl, title string, cfg *config.Config, mode string) string {
	bind := "*"
	if f := strings.Fields(getString(cfg, "bind")); len(f) > 0 && getString(cfg, "bind") != "* -::*" {
		bind = strings.TrimPrefix(f[0], "-")
	}
	serverMode := ""
	if mode == "cluster" {
		serverMode = "[cluster]"
	}
	port := fmt.Sprint(getInt(cfg, "port"))
	out, _ := config.ExpandProcTitle(tmpl, map[string]string{
		"title":       title,
		"listen-addr": bind + ":" + port,
		"server-mode": serverMode,
		"port":        port,
		"tls-port":    fmt.Sprint(getInt(cfg, "tls-port")),
		"unixsocket":  getString(cfg, "unixsocket"),
		"config-file": cfg.File(),
	})
	return strings.TrimSpace(out)
}

func getBool(c *config.Config, name string) bool     { v, _ := c.GetBool(name); return v }
func getString(c *config.Config, name string) string { v, _ := c.GetString(name); return v }
func getInt(c *config.Config, name string) int64     { v, _ := c.GetInt(name); return v }
