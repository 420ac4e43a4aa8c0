package config

// Pending lists the directives sard accepts, stores and reports but does not
// act on yet. Loading a file or arguments that mention one records a warning
// (see Config.Warnings). Remove a name here when its feature lands.
var Pending = []string{
	// persistence
	"server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist",

	// replication
	"replica-ignore-maxmemory", "replica-ignore-disk-write-errors",
	"propagation-error-behavior",

	// cluster
	"cluster-enabled", "cluster-config-file", "cluster-node-timeout", "cluster-port",
	"cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port",
	"cluster-announce-tls-port", "cluster-announce-hostname", "cluster-preferred-endpoint-type",
	"cluster-replica-validity-factor", "cluster-migration-barrier", "cluster-require-full-coverage",
	"cluster-replica-no-failover", "cluster-allow-reads-when-down",
	"cluster-allow-pubsubshard-when-down", "cluster-allow-replica-migration",
	"cluster-link-sendbuf-limit",

	// memory limits and eviction: maxmemory is enforced under maxmemory-policy noeviction
	// (writes refused with -OOM); the eviction policies neither evict nor refuse yet
	"maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity",
	"maxmemory-clients", "lfu-log-factor", "lfu-decay-time",
	"lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
	"lazyfree-lazy-user-del", "lazyfree-lazy-user-flush",

	// ACL, TLS, modules, scripting
	"aclfile", "acllog-max-len", "acl-pubsub-default", "user",
	"tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
	"tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file",
	"tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-auth-clients",
	"tls-replication", "tls-cluster", "tls-prefer-server-ciphers", "tls-session-caching",
	"tls-session-cache-size", "tls-session-cache-timeout",
	"enable-module-command",

	// encoding thresholds
	"hll-sparse-max-bytes",

	// process and allocator tuning that has no Go equivalent yet
	"jemalloc-bg-thread", "oom-score-adj", "oom-score-adj-values", "disable-thp",
	"activedefrag", "active-defrag-ignore-bytes", "active-defrag-threshold-lower",
	"active-defrag-threshold-upper", "active-defrag-cycle-min", "active-defrag-cycle-max",
	"active-defrag-max-scan-fields", "io-threads-do-reads",
	"supervised", "syslog-enabled", "syslog-ident", "syslog-facility",
	"crash-log-enabled", "crash-memcheck-enabled", "ignore-warnings", "activerehashing",
}
