// Package config holds every Redis 7.0 configuration directive for sard and
// implements redis.conf/command-line loading and CONFIG GET, SET and REWRITE.
package config

import (
	"io"
	"os"
	"slices"
	"strings"
)

// LogLevel values, in Redis's order of verbosity.
const (
	LogDebug = iota
	LogVerbose
	LogNotice
	LogWarning
)

// Values are typed copies of the directives the server reads on hot paths.
// They are refreshed after every Load and Set; treat them as read-only.
type Values struct {
	Port                    int
	Bind                    []string // a leading '-' marks an address allowed to fail (e.g. "-::*")
	BindSourceAddr          string
	UnixSocket              string
	UnixSocketPerm          uint32
	TCPBacklog              int
	TCPKeepalive            int
	Timeout                 int // seconds; 0 = never
	ProtectedMode           bool
	RequirePass             string
	MaxClients              int
	Databases               int
	Hz                      int // already clamped to 1..500 like Redis
	DynamicHz               bool
	LogLevel                int // LogDebug..LogWarning
	LogFile                 string
	PidFile                 string
	Daemonize               bool
	AlwaysShowLogo          bool
	SetProcTitle            bool
	ProcTitleTemplate       string
	ProtoMaxBulkLen         int64
	ClientQueryBufferLimit  int64
	ClientOutputBufferLimit [3]BufferLimit // ClassNormal, ClassReplica, ClassPubSub
	SlowlogLogSlowerThan    int64
	SlowlogMaxLen           int64
	LatencyMonitorThreshold int64
	EnableDebugCommand      string // "no", "yes" or "local"
	EnableProtectedConfigs  string // "no", "yes" or "local"
	MaxMemory               uint64
	MaxMemoryPolicy         string
	Dir                     string // absolute
	Save                    []SavePoint
	AppendOnly              bool
	AppendFsync             string
	ClusterEnabled          bool
	ReplicaOfHost           string // "" when not a replica
	ReplicaOfPort           int
	NotifyKeyspaceEvents    int // Notify* flags
}

// KV is one CONFIG GET result pair.
type KV struct {
	Name  string
	Value string
}

// state is every current value; copying it is how CONFIG SET rolls back.
type state struct {
	nums        []int64
	strs        []string
	save        []SavePoint
	obuf        [3]BufferLimit
	oom         [3]int
	notify      int
	bind        []string
	masterHost  string
	masterPort  int
	percentiles []float64
	dir         string
}

func (s *state) clone() state {
	n := *s
	n.nums = slices.Clone(s.nums)
	n.strs = slices.Clone(s.strs)
	n.save = slices.Clone(s.save)
	n.bind = slices.Clone(s.bind)
	n.percentiles = slices.Clone(s.percentiles)
	return n
}

// entry is one name CONFIG GET/SET knows: a primary name or an alias.
type entry struct {
	name  string
	d     *directive
	alias bool
}

// Config is the server's configuration. It is not safe for concurrent use:
// the server calls it under its own lock.
type Config struct {
	Values

	// Stdin is read when the config path is "-"; nil means os.Stdin.
	Stdin io.Reader
	// CommandExists, when set, lets rename-command reject unknown commands
	// with Redis's error; otherwise every rename is accepted.
	CommandExists func(name string) bool

	table   []*directive
	entries []entry          // primary names then aliases, table order
	byName  map[string]entry // lower-case name -> entry
	st      state
	hooks   map[string][]func() error

	file        string
	loading     bool
	saveLoaded  bool
	warned      map[*directive]bool
	warnedNames map[string]bool
	warnings    []string
	renames     [][2]string
	users       [][]string
	includes    int
}

// New returns a Config holding Redis 7.0's defaults; dir defaults to the
// current working directory.
func New() *Config {
	c := &Config{byName: map[string]entry{}, hooks: map[string][]func() error{}, warned: map[*directive]bool{}}
	c.table = buildTable()
	pend := map[string]bool{}
	for _, n := range Pending {
		pend[n] = true
	}
	for _, d := range c.table {
		d.pending = pend[d.name]
		switch d.kind {
		case kindString:
			d.slot = len(c.st.strs)
			c.st.strs = append(c.st.strs, d.defStr)
		case kindSpecial:
		default:
			d.slot = len(c.st.nums)
			c.st.nums = append(c.st.nums, d.def)
		}
		c.entries = append(c.entries, entry{d.name, d, false})
	}
	for _, d := range c.table {
		if d.alias != "" {
			c.entries = append(c.entries, entry{d.alias, d, true})
		}
	}
	for _, e := range c.entries {
		c.byName[e.name] = e
	}
	c.st.save = slices.Clone(defaultSave)
	c.st.obuf = defaultObuf
	c.st.oom = defaultOOM
	c.st.bind = slices.Clone(defaultBind)
	c.st.percentiles = slices.Clone(defaultPercentiles)
	if wd, err := os.Getwd(); err == nil {
		c.st.dir = wd
	}
	c.sync()
	return c
}

func (c *Config) lookup(name string) (entry, bool) {
	e, ok := c.byName[lowerASCII(name)]
	return e, ok
}

func (c *Config) directive(name string) *directive {
	if e, ok := c.lookup(name); ok {
		return e.d
	}
	return nil
}

func (c *Config) intByName(name string) int64 { return c.st.nums[c.directive(name).slot] }

func (c *Config) boolByName(name string) bool { return c.st.nums[c.directive(name).slot] != 0 }

func (c *Config) strByName(name string) string { return c.st.strs[c.directive(name).slot] }

func (c *Config) enumByName(name string) string { return c.format(c.directive(name)) }

// sync refreshes Values from the current state.
func (c *Config) sync() {
	v := &c.Values
	v.Port = int(c.intByName("port"))
	v.Bind = slices.Clone(c.st.bind)
	v.BindSourceAddr = c.strByName("bind-source-addr")
	v.UnixSocket = c.strByName("unixsocket")
	v.UnixSocketPerm = uint32(c.intByName("unixsocketperm"))
	v.TCPBacklog = int(c.intByName("tcp-backlog"))
	v.TCPKeepalive = int(c.intByName("tcp-keepalive"))
	v.Timeout = int(c.intByName("timeout"))
	v.ProtectedMode = c.boolByName("protected-mode")
	v.RequirePass = c.strByName("requirepass")
	v.MaxClients = int(uint32(c.intByName("maxclients")))
	v.Databases = int(c.intByName("databases"))
	v.Hz = int(c.intByName("hz"))
	v.DynamicHz = c.boolByName("dynamic-hz")
	v.LogLevel = int(c.intByName("loglevel"))
	v.LogFile = c.strByName("logfile")
	v.PidFile = c.strByName("pidfile")
	v.Daemonize = c.boolByName("daemonize")
	v.AlwaysShowLogo = c.boolByName("always-show-logo")
	v.SetProcTitle = c.boolByName("set-proc-title")
	v.ProcTitleTemplate = c.strByName("proc-title-template")
	v.ProtoMaxBulkLen = c.intByName("proto-max-bulk-len")
	v.ClientQueryBufferLimit = c.intByName("client-query-buffer-limit")
	v.ClientOutputBufferLimit = c.st.obuf
	v.SlowlogLogSlowerThan = c.intByName("slowlog-log-slower-than")
	v.SlowlogMaxLen = c.intByName("slowlog-max-len")
	v.LatencyMonitorThreshold = c.intByName("latency-monitor-threshold")
	v.EnableDebugCommand = c.enumByName("enable-debug-command")
	v.EnableProtectedConfigs = c.enumByName("enable-protected-configs")
	v.MaxMemory = uint64(c.intByName("maxmemory"))
	v.MaxMemoryPolicy = c.enumByName("maxmemory-policy")
	v.Dir = c.st.dir
	v.Save = slices.Clone(c.st.save)
	v.AppendOnly = c.boolByName("appendonly")
	v.AppendFsync = c.enumByName("appendfsync")
	v.ClusterEnabled = c.boolByName("cluster-enabled")
	v.ReplicaOfHost = c.st.masterHost
	v.ReplicaOfPort = c.st.masterPort
	v.NotifyKeyspaceEvents = c.st.notify
}

// clampHz applies Redis's silent 1..500 clamp of hz, done both after
// loading and on CONFIG SET.
func (c *Config) clampHz() {
	d := c.directive("hz")
	switch v := c.st.nums[d.slot]; {
	case v < 1:
		c.st.nums[d.slot] = 1
	case v > 500:
		c.st.nums[d.slot] = 500
	}
}

// afterSet reproduces what Redis's CONFIG SET apply functions do to the
// stored value itself.
func (c *Config) afterSet(d *directive) {
	switch d.name {
	case "hz":
		c.clampHz()
	case "repl-backlog-size":
		// Resizing the backlog enforces a 16kb floor on CONFIG SET only;
		// a smaller value from the file is kept as is.
		if c.st.nums[d.slot] < 16*1024 {
			c.st.nums[d.slot] = 16 * 1024
		}
	}
}

// File is the absolute path of the loaded config file, "" if none (INFO's
// config_file).
func (c *Config) File() string { return c.file }

// Warnings lists one notice per mentioned directive that sard accepts but
// does not act on yet, in order of first mention.
func (c *Config) Warnings() []string { return slices.Clone(c.warnings) }

// Renames lists rename-command pairs in file order; an empty new name means
// the command is removed.
func (c *Config) Renames() [][2]string { return slices.Clone(c.renames) }

// Users lists the arguments of every "user" directive (name first).
func (c *Config) Users() [][]string { return slices.Clone(c.users) }

// GetString returns a directive's value as CONFIG GET prints it.
func (c *Config) GetString(name string) (string, bool) {
	e, ok := c.lookup(name)
	if !ok {
		return "", false
	}
	return c.format(e.d), true
}

// GetInt returns an integer, memory or yes/no directive's value (yes=1);
// memory values above MaxInt64 come back wrapped, use Values.MaxMemory.
func (c *Config) GetInt(name string) (int64, bool) {
	e, ok := c.lookup(name)
	if !ok || (e.d.kind != kindNum && e.d.kind != kindBool) {
		return 0, false
	}
	return c.st.nums[e.d.slot], true
}

// GetBool returns a yes/no directive's value.
func (c *Config) GetBool(name string) (bool, bool) {
	e, ok := c.lookup(name)
	if !ok || e.d.kind != kindBool {
		return false, false
	}
	return c.st.nums[e.d.slot] != 0, true
}

// IsPending reports whether a directive is accepted but not yet effective.
func (c *Config) IsPending(name string) bool {
	e, ok := c.lookup(name)
	return ok && e.d.pending
}

// IsSensitive reports whether a directive's value must be redacted from
// logs, the slow log and MONITOR.
func (c *Config) IsSensitive(name string) bool {
	e, ok := c.lookup(name)
	return ok && e.d.has(fSensitive)
}

// DenyLoading reports whether CONFIG SET of this directive must be refused
// with -LOADING while a dataset is being loaded.
func (c *Config) DenyLoading(name string) bool {
	e, ok := c.lookup(name)
	return ok && e.d.has(fDenyLoading)
}

// Names lists every primary directive name, hidden ones included.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.table))
	for _, d := range c.table {
		out = append(out, d.name)
	}
	return out
}

func (c *Config) warnPending(d *directive, as string) {
	if !d.pending || c.warned[d] {
		return
	}
	c.warned[d] = true
	c.warnings = append(c.warnings, "WARNING: directive '"+as+"' is accepted but not yet effective in sard")
}

// Get answers CONFIG GET: each pattern is a Redis glob matched without case
// against every non-hidden name (aliases included); a pattern without glob
// characters is an exact lookup that also finds hidden directives and echoes
// the name as given. Each name is reported once.
func (c *Config) Get(patterns ...string) []KV {
	var out []KV
	seen := map[string]bool{}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "[*?") {
			key := lowerASCII(p)
			if seen[key] {
				continue
			}
			if e, ok := c.byName[key]; ok {
				seen[key] = true
				out = append(out, KV{p, c.format(e.d)})
			}
			continue
		}
		for _, e := range c.entries {
			if e.d.has(fHidden) || seen[e.name] {
				continue
			}
			if globMatch(p, e.name, true) {
				seen[e.name] = true
				out = append(out, KV{e.name, c.format(e.d)})
			}
		}
	}
	return out
}

// OnApply registers fn to run after CONFIG SET changes the named directive
// (or its alias). If fn fails, the whole CONFIG SET is rolled back and every
// changed directive's hooks run again on the restored values.
func (c *Config) OnApply(name string, fn func() error) {
	if d := c.directive(name); d != nil {
		c.hooks[d.name] = append(c.hooks[d.name], fn)
	}
}

// Set answers CONFIG SET for a client that is not local (protected configs
// need enable-protected-configs yes).
func (c *Config) Set(pairs [][2]string) error { return c.SetAs(pairs, false) }

// SetAs answers CONFIG SET; local says whether the client connected over
// loopback or a unix socket, which enable-protected-configs local allows.
func (c *Config) SetAs(pairs [][2]string, local bool) error {
	protectedOK := false
	switch c.enumByName("enable-protected-configs") {
	case "yes":
		protectedOK = true
	case "local":
		protectedOK = local
	}
	// First pass, as Redis: the first unknown, immutable, protected or
	// duplicate name wins, before any value is looked at.
	entries := make([]entry, len(pairs))
	for i, p := range pairs {
		e, ok := c.lookup(p[0])
		if !ok {
			return unknownOptionError(p[0])
		}
		if e.d.has(fImmutable) {
			return setError(p[0], errImmutable)
		}
		if e.d.has(fProtected) && !protectedOK {
			return setError(p[0], errProtected)
		}
		// An alias and its primary name are distinct entries in Redis, so
		// only the very same name counts as a duplicate.
		for j := 0; j < i; j++ {
			if entries[j].d == e.d && entries[j].alias == e.alias {
				return setError(p[0], errDuplicate)
			}
		}
		entries[i] = e
	}

	backup := c.st.clone()
	var changed []*directive
	for i, p := range pairs {
		d := entries[i].d
		before := c.format(d)
		if reason := c.apply(d, []string{p[1]}); reason != "" {
			c.st = backup
			return setError(entries[i].name, reason)
		}
		c.afterSet(d)
		if c.format(d) != before && !slices.Contains(changed, d) {
			changed = append(changed, d)
		}
	}
	c.sync()
	for _, d := range changed {
		for _, fn := range c.hooks[d.name] {
			if err := fn(); err != nil {
				c.st = backup
				c.sync()
				for _, rd := range changed {
					for _, rfn := range c.hooks[rd.name] {
						_ = rfn() // Redis only logs failures while restoring
					}
				}
				return setError(nameFor(entries, d), err.Error())
			}
		}
	}
	return nil
}

func nameFor(entries []entry, d *directive) string {
	for _, e := range entries {
		if e.d == d {
			return e.name
		}
	}
	return d.name
}

// IntRef is an integer, memory or yes/no directive resolved once by name, for hot paths:
// Get costs an index where GetInt costs a map lookup. It always reads the current value,
// CONFIG SET and its rollbacks included.
type IntRef struct {
	c    *Config
	slot int
}

// IntRef resolves name. An unknown or non-integer name is a programming error and panics.
func (c *Config) IntRef(name string) IntRef {
	e, ok := c.lookup(name)
	if !ok || (e.d.kind != kindNum && e.d.kind != kindBool) {
		panic("config: no integer directive " + name)
	}
	return IntRef{c: c, slot: int(e.d.slot)}
}

// Get returns the directive's current value.
func (r IntRef) Get() int64 { return r.c.st.nums[r.slot] }
