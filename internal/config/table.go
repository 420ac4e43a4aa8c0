package config

import "math"

// C limits that Redis uses as bounds.
const (
	intMax   = math.MaxInt32
	intMin   = math.MinInt32
	uintMax  = math.MaxUint32
	longMax  = math.MaxInt64
	llongMax = math.MaxInt64
	ullMax   = -1 // all bits set: read as uint64 by unsigned directives
	mb       = 1024 * 1024
)

func boolD(name, alias string, def bool, fl dflag) *directive {
	d := &directive{name: name, alias: alias, kind: kindBool, flags: fl}
	if def {
		d.def = 1
	}
	return d
}

// intD is a signed integer directive (C int, long, long long, time_t).
func intD(name, alias string, lo, hi, def int64, fl dflag) *directive {
	return &directive{name: name, alias: alias, kind: kindNum, lo: lo, hi: hi, def: def, flags: fl}
}

// uintD is an integer stored in an unsigned C type (unsigned int, size_t).
func uintD(name, alias string, lo, hi, def int64, fl dflag) *directive {
	d := intD(name, alias, lo, hi, def, fl)
	d.unsigned = true
	return d
}

func memD(name, alias string, lo, hi, def int64, unsigned bool, fl dflag) *directive {
	d := intD(name, alias, lo, hi, def, fl)
	d.num = numMemory
	d.unsigned = unsigned
	return d
}

func strD(name, alias, def string, emptyNull bool, fl dflag) *directive {
	return &directive{name: name, alias: alias, kind: kindString, defStr: def, emptyNull: emptyNull, flags: fl}
}

func enumD(name, def string, fl dflag, names ...string) *directive {
	d := &directive{name: name, kind: kindEnum, flags: fl}
	for i, n := range names {
		d.enum = append(d.enum, enumName{n, int64(i)})
		if n == def {
			d.def = int64(i)
		}
	}
	return d
}

func specialD(name, alias string, fl dflag, sp *special) *directive {
	return &directive{name: name, alias: alias, kind: kindSpecial, flags: fl, sp: sp}
}

func withStr(d *directive, fn func(c *Config, s string) string) *directive {
	d.validStr = fn
	return d
}

// Shutdown flag bits, in the order Redis prints them.
const (
	ShutdownSave   = 1
	ShutdownNoSave = 2
	ShutdownNow    = 4
	ShutdownForce  = 8
)

// oom-score-adj shares one value between "yes" and "relative": CONFIG GET
// prints the first name, so "relative" reads back as "yes".
var oomScoreAdjEnum = []enumName{{"no", 0}, {"yes", 1}, {"relative", 1}, {"absolute", 2}}

var shutdownEnum = []enumName{{"default", 0}, {"save", ShutdownSave}, {"nosave", ShutdownNoSave}, {"now", ShutdownNow}, {"force", ShutdownForce}}

func shutdownD(name string) *directive {
	return &directive{name: name, kind: kindFlags, flags: fMulti, enum: shutdownEnum,
		validNum: func(v int64) string {
			if v&ShutdownSave != 0 && v&ShutdownNoSave != 0 {
				return errShutdownFlags
			}
			return ""
		}}
}

// buildTable lists every Redis 7.0.15 directive. Names, aliases, bounds,
// defaults and flags follow redis-server 7.0.15 (checked by the tests
// against a live server).
func buildTable() []*directive {
	t := []*directive{
		// yes/no
		boolD("rdbchecksum", "", true, fImmutable),
		boolD("daemonize", "", false, fImmutable),
		boolD("io-threads-do-reads", "", false, fImmutable),
		boolD("always-show-logo", "", false, fImmutable),
		boolD("protected-mode", "", true, 0),
		boolD("rdbcompression", "", true, 0),
		boolD("rdb-del-sync-files", "", false, 0),
		boolD("activerehashing", "", true, 0),
		boolD("stop-writes-on-bgsave-error", "", true, 0),
		boolD("set-proc-title", "", true, fImmutable),
		boolD("dynamic-hz", "", true, 0),
		boolD("lazyfree-lazy-eviction", "", false, 0),
		boolD("lazyfree-lazy-expire", "", false, 0),
		boolD("lazyfree-lazy-server-del", "", false, 0),
		boolD("lazyfree-lazy-user-del", "", false, 0),
		boolD("lazyfree-lazy-user-flush", "", false, 0),
		boolD("repl-disable-tcp-nodelay", "", false, 0),
		boolD("repl-diskless-sync", "", true, 0),
		boolD("aof-rewrite-incremental-fsync", "", true, 0),
		boolD("no-appendfsync-on-rewrite", "", false, 0),
		boolD("cluster-require-full-coverage", "", true, 0),
		boolD("rdb-save-incremental-fsync", "", true, 0),
		boolD("aof-load-truncated", "", true, 0),
		boolD("aof-use-rdb-preamble", "", true, 0),
		boolD("aof-timestamp-enabled", "", false, 0),
		boolD("cluster-replica-no-failover", "cluster-slave-no-failover", false, 0),
		boolD("replica-lazy-flush", "slave-lazy-flush", false, 0),
		boolD("replica-serve-stale-data", "slave-serve-stale-data", true, 0),
		boolD("replica-read-only", "slave-read-only", true, 0),
		boolD("replica-ignore-maxmemory", "slave-ignore-maxmemory", true, 0),
		boolD("jemalloc-bg-thread", "", true, 0),
		boolD("activedefrag", "", false, 0),
		boolD("syslog-enabled", "", false, fImmutable),
		boolD("cluster-enabled", "", false, fImmutable),
		boolD("appendonly", "", false, fDenyLoading),
		boolD("cluster-allow-reads-when-down", "", false, 0),
		boolD("cluster-allow-pubsubshard-when-down", "", true, 0),
		boolD("crash-log-enabled", "", true, 0),
		boolD("crash-memcheck-enabled", "", true, 0),
		boolD("use-exit-on-panic", "", false, fHidden),
		boolD("disable-thp", "", true, fImmutable),
		boolD("cluster-allow-replica-migration", "", true, 0),
		boolD("replica-announced", "", true, 0),
		boolD("latency-tracking", "", true, 0),
		boolD("aof-disable-auto-gc", "", false, 0),
		boolD("replica-ignore-disk-write-errors", "", false, 0),

		// strings
		strD("aclfile", "", "", false, fImmutable),
		strD("unixsocket", "", "", true, fImmutable),
		strD("pidfile", "", "", true, fImmutable),
		strD("replica-announce-ip", "slave-announce-ip", "", true, 0),
		strD("masteruser", "", "", true, fSensitive),
		strD("cluster-announce-ip", "", "", true, 0),
		strD("cluster-config-file", "", "nodes.conf", false, fImmutable),
		withStr(strD("cluster-announce-hostname", "", "", true, 0), validHostname),
		strD("syslog-ident", "", "redis", false, fImmutable),
		withStr(strD("dbfilename", "", "dump.rdb", false, fProtected), validDBFilename),
		withStr(strD("appendfilename", "", "appendonly.aof", false, fImmutable), validAOFFilename),
		withStr(strD("appenddirname", "", "appendonlydir", false, fImmutable), validAOFDirname),
		strD("server_cpulist", "", "", true, fImmutable),
		strD("bio_cpulist", "", "", true, fImmutable),
		strD("aof_rewrite_cpulist", "", "", true, fImmutable),
		strD("bgsave_cpulist", "", "", true, fImmutable),
		strD("ignore-warnings", "", "", false, 0),
		withStr(strD("proc-title-template", "", DefaultProcTitleTemplate, false, 0), validProcTitle),
		strD("bind-source-addr", "", "", true, 0),
		strD("logfile", "", "", false, fImmutable),
		strD("masterauth", "", "", true, fSensitive),
		strD("requirepass", "", "", true, fSensitive),

		// enums
		enumD("supervised", "no", fImmutable, "upstart", "systemd", "auto", "no"),
		enumD("syslog-facility", "local0", fImmutable, "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"),
		enumD("repl-diskless-load", "disabled", fDenyLoading, "disabled", "on-empty-db", "swapdb"),
		enumD("loglevel", "notice", 0, "debug", "verbose", "notice", "warning"),
		enumD("maxmemory-policy", "noeviction", 0, "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"),
		enumD("appendfsync", "everysec", 0, "everysec", "always", "no"),
		{name: "oom-score-adj", kind: kindEnum, enum: oomScoreAdjEnum},
		enumD("acl-pubsub-default", "resetchannels", 0, "allchannels", "resetchannels"),
		enumD("sanitize-dump-payload", "no", 0, "no", "yes", "clients"),
		enumD("enable-protected-configs", "no", fImmutable, "no", "yes", "local"),
		enumD("enable-debug-command", "no", fImmutable, "no", "yes", "local"),
		enumD("enable-module-command", "no", fImmutable, "no", "yes", "local"),
		enumD("cluster-preferred-endpoint-type", "ip", 0, "ip", "hostname", "unknown-endpoint"),
		enumD("propagation-error-behavior", "ignore", 0, "ignore", "panic", "panic-on-replicas"),
		shutdownD("shutdown-on-sigint"),
		shutdownD("shutdown-on-sigterm"),

		// integers
		intD("databases", "", 1, intMax, 16, fImmutable),
		intD("port", "", 0, 65535, 6379, 0),
		intD("io-threads", "", 1, 128, 1, fImmutable),
		intD("auto-aof-rewrite-percentage", "", 0, intMax, 100, 0),
		intD("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, intMax, 10, 0),
		intD("list-max-listpack-size", "list-max-ziplist-size", intMin, intMax, -2, 0),
		intD("tcp-keepalive", "", 0, intMax, 300, 0),
		intD("cluster-migration-barrier", "", 0, intMax, 1, 0),
		intD("active-defrag-cycle-min", "", 1, 99, 1, 0),
		intD("active-defrag-cycle-max", "", 1, 99, 25, 0),
		intD("active-defrag-threshold-lower", "", 0, 1000, 10, 0),
		intD("active-defrag-threshold-upper", "", 0, 1000, 100, 0),
		intD("lfu-log-factor", "", 0, intMax, 10, 0),
		intD("lfu-decay-time", "", 0, intMax, 1, 0),
		intD("replica-priority", "slave-priority", 0, intMax, 100, 0),
		intD("repl-diskless-sync-delay", "", 0, intMax, 5, 0),
		intD("maxmemory-samples", "", 1, intMax, 5, 0),
		intD("maxmemory-eviction-tenacity", "", 0, 100, 10, 0),
		intD("timeout", "", 0, intMax, 0, 0),
		intD("replica-announce-port", "slave-announce-port", 0, 65535, 0, 0),
		intD("tcp-backlog", "", 0, intMax, 511, fImmutable),
		intD("cluster-port", "", 0, 65535, 0, fImmutable),
		intD("cluster-announce-bus-port", "", 0, 65535, 0, 0),
		intD("cluster-announce-port", "", 0, 65535, 0, 0),
		intD("cluster-announce-tls-port", "", 0, 65535, 0, 0),
		intD("repl-timeout", "", 1, intMax, 60, 0),
		intD("repl-ping-replica-period", "repl-ping-slave-period", 1, intMax, 10, 0),
		intD("list-compress-depth", "", 0, intMax, 0, 0),
		intD("rdb-key-save-delay", "", intMin, intMax, 0, fHidden),
		intD("key-load-delay", "", intMin, intMax, 0, fHidden),
		intD("active-expire-effort", "", 1, 10, 1, 0),
		intD("hz", "", 0, intMax, 10, 0),
		intD("min-replicas-to-write", "min-slaves-to-write", 0, intMax, 0, 0),
		intD("min-replicas-max-lag", "min-slaves-max-lag", 0, intMax, 10, 0),
		intD("watchdog-period", "", 0, intMax, 0, fHidden),
		intD("shutdown-timeout", "", 0, intMax, 10, 0),
		intD("repl-diskless-sync-max-replicas", "", 0, intMax, 0, 0),
		uintD("maxclients", "", 1, uintMax, 10000, 0),
		{name: "unixsocketperm", kind: kindNum, num: numOctal, unsigned: true, lo: 0, hi: 0777, flags: fImmutable},
		uintD("socket-mark-id", "", 0, uintMax, 0, fImmutable),
		intD("active-defrag-max-scan-fields", "", 1, longMax, 1000, 0),
		intD("slowlog-max-len", "", 0, longMax, 128, 0),
		intD("acllog-max-len", "", 0, longMax, 128, 0),
		intD("busy-reply-threshold", "lua-time-limit", 0, longMax, 5000, 0),
		intD("cluster-node-timeout", "", 0, llongMax, 15000, 0),
		intD("slowlog-log-slower-than", "", -1, llongMax, 10000, 0),
		intD("latency-monitor-threshold", "", 0, llongMax, 0, 0),
		memD("proto-max-bulk-len", "", 1*mb, longMax, 512*mb, false, 0),
		intD("stream-node-max-entries", "", 0, llongMax, 100, 0),
		memD("repl-backlog-size", "", 1, llongMax, 1*mb, false, 0),
		memD("maxmemory", "", 0, ullMax, 0, true, 0),
		memD("cluster-link-sendbuf-limit", "", 0, ullMax, 0, true, 0),
		uintD("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, longMax, 512, 0),
		uintD("set-max-intset-entries", "", 0, longMax, 512, 0),
		uintD("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, longMax, 128, 0),
		memD("active-defrag-ignore-bytes", "", 1, llongMax, 100*mb, true, 0),
		memD("hash-max-listpack-value", "hash-max-ziplist-value", 0, longMax, 64, true, 0),
		memD("stream-node-max-bytes", "", 0, longMax, 4096, true, 0),
		memD("zset-max-listpack-value", "zset-max-ziplist-value", 0, longMax, 64, true, 0),
		memD("hll-sparse-max-bytes", "", 0, longMax, 3000, true, 0),
		uintD("tracking-table-max-keys", "", 0, longMax, 1000000, 0),
		memD("client-query-buffer-limit", "", 1*mb, longMax, 1024*mb, true, 0),
		{name: "maxmemory-clients", kind: kindNum, num: numMemoryPercent, lo: -100, hi: longMax},
		intD("repl-backlog-ttl", "", 0, longMax, 3600, 0),
		memD("auto-aof-rewrite-min-size", "", 0, llongMax, 64*mb, false, 0),
		intD("loading-process-events-interval-bytes", "", 1024, intMax, 2*mb, fHidden),

		// TLS (Debian's redis-server is built with it)
		intD("tls-port", "", 0, 65535, 0, 0),
		intD("tls-session-cache-size", "", 0, intMax, 20*1024, 0),
		intD("tls-session-cache-timeout", "", 0, intMax, 300, 0),
		boolD("tls-cluster", "", false, 0),
		boolD("tls-replication", "", false, 0),
		enumD("tls-auth-clients", "yes", 0, "no", "yes", "optional"),
		boolD("tls-prefer-server-ciphers", "", false, 0),
		boolD("tls-session-caching", "", true, 0),
		strD("tls-cert-file", "", "", true, 0),
		strD("tls-key-file", "", "", true, 0),
		strD("tls-key-file-pass", "", "", true, fSensitive),
		strD("tls-client-cert-file", "", "", true, 0),
		strD("tls-client-key-file", "", "", true, 0),
		strD("tls-client-key-file-pass", "", "", true, fSensitive),
		strD("tls-dh-params-file", "", "", true, 0),
		strD("tls-ca-cert-file", "", "", true, 0),
		strD("tls-ca-cert-dir", "", "", true, 0),
		strD("tls-protocols", "", "", true, 0),
		strD("tls-ciphers", "", "", true, 0),
		strD("tls-ciphersuites", "", "", true, 0),

		// special syntax
		specialD("dir", "", fProtected|fDenyLoading, dirSpecial),
		specialD("save", "", fMulti, saveSpecial),
		specialD("client-output-buffer-limit", "", fMulti, obufSpecial),
		specialD("oom-score-adj-values", "", fMulti, oomValuesSpecial),
		specialD("notify-keyspace-events", "", 0, notifySpecial),
		specialD("bind", "", fMulti, bindSpecial),
		specialD("replicaof", "slaveof", fImmutable|fMulti, replicaofSpecial),
		specialD("latency-tracking-info-percentiles", "", fMulti, percentilesSpecial),
	}
	return t
}

// Directives Redis still accepts in a file and ignores, with the argument
// count (including the name) each one must have.
var deprecatedDirectives = map[string]int{
	"list-max-ziplist-entries": 2,
	"list-max-ziplist-value":   2,
	"lua-replicate-commands":   2,
}
