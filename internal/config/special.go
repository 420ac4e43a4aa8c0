package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct {
	Seconds int64
	Changes int
}

var defaultSave = []SavePoint{{3600, 1}, {300, 100}, {60, 10000}}

var saveSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args)%2 != 0 {
			return errSaveParams
		}
		pts := make([]SavePoint, 0, len(args)/2)
		for j := 0; j < len(args); j += 2 {
			secs, ok1, _ := parseCLong(args[j], 10)
			changes, ok2, _ := parseCLong(args[j+1], 10)
			if !ok1 || !ok2 || secs < 1 || changes < 0 {
				return errSaveParams
			}
			// Redis keeps changes in a C int.
			pts = append(pts, SavePoint{secs, int(int32(changes))})
		}
		// While reading the file, the first save line drops the built-in
		// rules and later ones accumulate; CONFIG SET always replaces.
		if !c.loading || !c.saveLoaded {
			c.st.save = nil
			c.saveLoaded = c.loading
		}
		c.st.save = append(c.st.save, pts...)
		return ""
	},
	get: func(c *Config) string {
		parts := make([]string, 0, len(c.st.save))
		for _, p := range c.st.save {
			parts = append(parts, strconv.FormatInt(p.Seconds, 10)+" "+strconv.Itoa(p.Changes))
		}
		return strings.Join(parts, " ")
	},
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		if len(c.st.save) == 0 {
			rw.line(d.name, `save ""`, true)
		}
		for _, p := range c.st.save {
			rw.line(d.name, "save "+strconv.FormatInt(p.Seconds, 10)+" "+strconv.Itoa(p.Changes), true)
		}
		rw.processed(d.name)
	},
	isDefault: func(c *Config) bool { return slices.Equal(c.st.save, defaultSave) },
}

// Output buffer classes, in the order CONFIG GET lists them.
const (
	ClassNormal = iota
	ClassReplica
	ClassPubSub
)

// BufferLimit is one client-output-buffer-limit class.
type BufferLimit struct {
	HardBytes   uint64
	SoftBytes   uint64
	SoftSeconds int
}

var defaultObuf = [3]BufferLimit{{0, 0, 0}, {256 * mb, 64 * mb, 60}, {32 * mb, 8 * mb, 60}}

// Redis prints the replica class as "slave" in CONFIG GET but "replica" in
// CONFIG REWRITE.
var obufGetNames = [3]string{"normal", "slave", "pubsub"}
var obufRewriteNames = [3]string{"normal", "replica", "pubsub"}

func obufClass(name string) int {
	switch strings.ToLower(name) {
	case "normal":
		return ClassNormal
	case "slave", "replica":
		return ClassReplica
	case "pubsub":
		return ClassPubSub
	}
	return -1
}

var obufSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args)%4 != 0 {
			return errObufArgs
		}
		next := c.st.obuf
		for j := 0; j < len(args); j += 4 {
			class := obufClass(args[j])
			if class < 0 {
				return errObufClass
			}
			hard, ok1 := parseMemory(args[j+1])
			soft, ok2 := parseMemory(args[j+2])
			secs, ok3, _ := parseCLong(args[j+3], 10)
			secs = int64(int32(secs))
			if !ok1 || !ok2 || !ok3 || secs < 0 {
				return errObufValues
			}
			next[class] = BufferLimit{hard, soft, int(secs)}
		}
		c.st.obuf = next
		return ""
	},
	get: func(c *Config) string {
		var b strings.Builder
		for i, l := range c.st.obuf {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(obufGetNames[i] + " " + strconv.FormatUint(l.HardBytes, 10) + " " +
				strconv.FormatUint(l.SoftBytes, 10) + " " + strconv.Itoa(l.SoftSeconds))
		}
		return b.String()
	},
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		for i, l := range c.st.obuf {
			line := d.name + " " + obufRewriteNames[i] + " " + formatMemoryRewrite(int64(l.HardBytes)) + " " +
				formatMemoryRewrite(int64(l.SoftBytes)) + " " + strconv.Itoa(l.SoftSeconds)
			rw.line(d.name, line, l != defaultObuf[i])
		}
	},
	isDefault: func(c *Config) bool { return c.st.obuf == defaultObuf },
}

var defaultOOM = [3]int{0, 200, 800}

var oomValuesSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args) != 3 {
			return errWrongArgs
		}
		var vals [3]int
		for i, a := range args {
			v, ok, _ := parseCLong(a, 10)
			if !ok || v < -2000 || v > 2000 {
				return errOOMValues
			}
			vals[i] = int(v)
		}
		c.st.oom = vals
		return ""
	},
	get: func(c *Config) string {
		return strconv.Itoa(c.st.oom[0]) + " " + strconv.Itoa(c.st.oom[1]) + " " + strconv.Itoa(c.st.oom[2])
	},
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		rw.line(d.name, d.name+" "+d.sp.get(c), c.st.oom != defaultOOM)
	},
	isDefault: func(c *Config) bool { return c.st.oom == defaultOOM },
}

// Keyspace notification classes, with Redis's bit values.
const (
	NotifyKeyspace = 1 << iota // K
	NotifyKeyevent             // E
	NotifyGeneric              // g
	NotifyString               // $
	NotifyList                 // l
	NotifySet                  // s
	NotifyHash                 // h
	NotifyZset                 // z
	NotifyExpired              // x
	NotifyEvicted              // e
	NotifyStream               // t
	NotifyKeyMiss              // m
	NotifyModule               // d
	NotifyNew                  // n

	// NotifyAll is what 'A' stands for; it leaves out m and n.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash |
		NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

var notifyClasses = []struct {
	c    byte
	flag int
}{
	{'g', NotifyGeneric}, {'$', NotifyString}, {'l', NotifyList}, {'s', NotifySet},
	{'h', NotifyHash}, {'z', NotifyZset}, {'x', NotifyExpired}, {'e', NotifyEvicted},
	{'t', NotifyStream}, {'d', NotifyModule}, {'n', NotifyNew},
}

// ParseNotifyFlags turns a notify-keyspace-events string into flags; ok is
// false on an unknown class character.
func ParseNotifyFlags(s string) (flags int, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			flags |= NotifyAll
		case 'K':
			flags |= NotifyKeyspace
		case 'E':
			flags |= NotifyKeyevent
		case 'm':
			flags |= NotifyKeyMiss
		default:
			found := false
			for _, nc := range notifyClasses {
				if nc.c == s[i] {
					flags |= nc.flag
					found = true
				}
			}
			if !found {
				return 0, false
			}
		}
	}
	return flags, true
}

// FormatNotifyFlags prints flags like Redis. When every 'A' class is set it
// prints only "A" and so drops 'n', as Redis 7.0 does.
func FormatNotifyFlags(flags int) string {
	var b []byte
	if flags&NotifyAll == NotifyAll {
		b = append(b, 'A')
	} else {
		for _, nc := range notifyClasses {
			if flags&nc.flag != 0 {
				b = append(b, nc.c)
			}
		}
	}
	if flags&NotifyKeyspace != 0 {
		b = append(b, 'K')
	}
	if flags&NotifyKeyevent != 0 {
		b = append(b, 'E')
	}
	if flags&NotifyKeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

var notifySpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args) != 1 {
			return errWrongArgs
		}
		f, ok := ParseNotifyFlags(args[0])
		if !ok {
			return errNotifyClass
		}
		c.st.notify = f
		return ""
	},
	get: func(c *Config) string { return FormatNotifyFlags(c.st.notify) },
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		rw.line(d.name, d.name+" "+repr(FormatNotifyFlags(c.st.notify)), c.st.notify != 0)
	},
	isDefault: func(c *Config) bool { return c.st.notify == 0 },
}

const maxBindAddrs = 16

var defaultBind = []string{"*", "-::*"}

var bindSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args) > maxBindAddrs {
			return errTooManyBind
		}
		if len(args) == 1 && args[0] == "" {
			args = nil
		}
		c.st.bind = slices.Clone(args)
		return ""
	},
	get: func(c *Config) string { return strings.Join(c.st.bind, " ") },
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		if slices.Equal(c.st.bind, defaultBind) {
			rw.processed(d.name)
			return
		}
		addrs := `""`
		if len(c.st.bind) > 0 {
			addrs = strings.Join(c.st.bind, " ")
		}
		rw.line(d.name, d.name+" "+addrs, true)
	},
	isDefault: func(c *Config) bool { return slices.Equal(c.st.bind, defaultBind) },
}

var replicaofSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args) != 2 {
			return errWrongArgs
		}
		c.st.masterHost, c.st.masterPort = "", 0
		if strings.EqualFold(args[0], "no") && strings.EqualFold(args[1], "one") {
			return ""
		}
		port, ok, _ := parseCLong(args[1], 10)
		if !ok || port < 0 || port > 65535 {
			return errMasterPort
		}
		c.st.masterHost, c.st.masterPort = args[0], int(port)
		return ""
	},
	get: func(c *Config) string {
		if c.st.masterHost == "" {
			return ""
		}
		return c.st.masterHost + " " + strconv.Itoa(c.st.masterPort)
	},
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		// A cluster node never gets a replicaof line.
		if c.st.masterHost == "" || c.boolByName("cluster-enabled") {
			rw.processed(d.name)
			return
		}
		rw.line(d.name, d.name+" "+c.st.masterHost+" "+strconv.Itoa(c.st.masterPort), true)
	},
	isDefault: func(c *Config) bool { return c.st.masterHost == "" },
}

// SetReplicaOf records a run-time REPLICAOF (host "" for NO ONE): Redis's CONFIG GET
// replicaof and CONFIG REWRITE report the live master address.
func (c *Config) SetReplicaOf(host string, port int) {
	c.st.masterHost, c.st.masterPort = host, port
}

var defaultPercentiles = []float64{50, 99, 99.9}

var percentilesSpecial = &special{
	set: func(c *Config, args []string) string {
		vals := make([]float64, 0, len(args))
		for _, a := range args {
			f, ok := parseFloat(a)
			if !ok {
				return errPercentileParse
			}
			if f > 100 || f < 0 {
				return errPercentileRange
			}
			vals = append(vals, f)
		}
		c.st.percentiles = vals
		return ""
	},
	get: func(c *Config) string {
		parts := make([]string, len(c.st.percentiles))
		for i, f := range c.st.percentiles {
			parts[i] = formatPercentile(f)
		}
		return strings.Join(parts, " ")
	},
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		line := d.name + ` ""`
		if len(c.st.percentiles) > 0 {
			line = d.name + " " + d.sp.get(c)
		}
		rw.line(d.name, line, true)
	},
	isDefault: func(c *Config) bool { return slices.Equal(c.st.percentiles, defaultPercentiles) },
}

// dir is validated and stored as an absolute path; changing the process's
// working directory is the server's job (Redis does chdir here).
var dirSpecial = &special{
	set: func(c *Config, args []string) string {
		if len(args) != 1 {
			return errWrongArgs
		}
		p := args[0]
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.st.dir, p)
		}
		p = filepath.Clean(p)
		fi, err := os.Stat(p)
		if err != nil {
			return strerror(err)
		}
		if !fi.IsDir() {
			return strerror(syscall.ENOTDIR)
		}
		if err := syscall.Access(p, 1); err != nil {
			return strerror(err)
		}
		c.st.dir = p
		return ""
	},
	get: func(c *Config) string { return c.st.dir },
	rewrite: func(c *Config, d *directive, rw *rewriter) {
		rw.line(d.name, d.name+" "+repr(c.st.dir), true)
	},
	isDefault: func(c *Config) bool { return false },
}

func validHostname(_ *Config, s string) string {
	if len(s) >= 256 {
		return errHostnameLen
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			return errHostnameChars
		}
	}
	return ""
}

func validDBFilename(_ *Config, s string) string {
	if strings.Contains(s, "/") {
		return errDBFilename
	}
	return ""
}

func validAOFFilename(_ *Config, s string) string {
	if s == "" {
		return errAOFNameEmpty
	}
	if strings.Contains(s, "/") {
		return errAOFNamePath
	}
	return ""
}

func validAOFDirname(_ *Config, s string) string {
	if s == "" {
		return errAOFDirEmpty
	}
	if strings.Contains(s, "/") {
		return errAOFDirPath
	}
	return ""
}

// DefaultProcTitleTemplate is proc-title-template's default.
const DefaultProcTitleTemplate = "{title} {listen-addr} {server-mode}"

// ExpandProcTitle fills a proc-title-template the way Redis does: "{{" is a
// literal brace, unknown variables or an unclosed "{" fail, and the result
// is trimmed of spaces. vars maps variable names (title, listen-addr,
// server-mode, port, tls-port, unixsocket, config-file) to their values.
func ExpandProcTitle(tmpl string, vars map[string]string) (string, bool) {
	var b strings.Builder
	p := tmpl
	for p != "" {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		p = p[i+1:]
		if p == "" {
			return "", false
		}
		if p[0] == '{' {
			b.WriteByte('{')
			p = p[1:]
			continue
		}
		j := strings.IndexByte(p, '}')
		if j < 0 {
			return "", false
		}
		v, ok := vars[p[:j]]
		if !ok {
			return "", false
		}
		b.WriteString(v)
		p = p[j+1:]
	}
	return strings.Trim(b.String(), " "), true
}

// validProcTitle expands the template as Redis does at CONFIG SET time, with
// an empty title, and refuses it when the result is empty.
func validProcTitle(c *Config, s string) string {
	mode := ""
	if c.boolByName("cluster-enabled") {
		mode = "[cluster]"
	}
	port := strconv.FormatInt(c.intByName("port"), 10)
	vars := map[string]string{
		"title":       "",
		"listen-addr": "*:" + port,
		"server-mode": mode,
		"port":        port,
		"tls-port":    strconv.FormatInt(c.intByName("tls-port"), 10),
		"unixsocket":  c.strByName("unixsocket"),
		"config-file": c.file,
	}
	if out, ok := ExpandProcTitle(s, vars); !ok || out == "" {
		return errProcTitle
	}
	return ""
}
