package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

const maxIncludeDepth = 16

// Load builds a Config from Redis-style startup arguments: path is the
// config file ("" for none, "-" for standard input) and args are the words
// after it, in "--name value [value ...]" form, applied after the file.
func Load(path string, args []string) (*Config, error) {
	c := New()
	if err := c.Load(path, args); err != nil {
		return nil, err
	}
	return c, nil
}

// source is one stream of config lines being loaded.
type source struct {
	desc  string // for error messages
	lines []string
}

// Load reads the config file (if any) and then args into c; see the
// package-level Load. On error c may be partly updated; the server is
// expected to exit.
func (c *Config) Load(path string, args []string) error {
	c.loading = true
	defer func() { c.loading = false }()
	switch path {
	case "":
	case "-":
		in := c.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return &LoadError{Reason: "Fatal error, can't read config from stdin: " + strerror(err)}
		}
		if err := c.loadText("the configuration file <stdin>", string(data), 0); err != nil {
			return err
		}
	default:
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		c.file = abs
		if err := c.loadFile(abs, 0); err != nil {
			return err
		}
	}
	if err := c.loadArgs(args); err != nil {
		return err
	}
	return c.finishLoad()
}

func (c *Config) loadFile(path string, depth int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &LoadError{Reason: "Fatal error, can't open config file '" + path + "': " + strerror(err)}
	}
	return c.loadText("the configuration file "+path, string(data), depth)
}

// loadText applies a whole file's worth of lines.
func (c *Config) loadText(desc, text string, depth int) error {
	for i, raw := range strings.Split(text, "\n") {
		line := trimLine(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		argv, ok := splitArgs(line)
		if !ok {
			return &LoadError{Source: desc, Line: i + 1, Text: line, Reason: errUnbalanced}
		}
		if len(argv) == 0 {
			continue
		}
		if reason := c.applyLine(argv, depth); reason != nil {
			if le, ok := reason.(*LoadError); ok {
				return le
			}
			return &LoadError{Source: desc, Line: i + 1, Text: line, Reason: reason.Error()}
		}
	}
	return nil
}

// loadArgs turns command-line words into directive lines the way
// redis-server does: "--name" starts a line, following words are its
// arguments, taken verbatim (no re-tokenizing).
func (c *Config) loadArgs(args []string) error {
	var lines [][]string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			name := a[2:]
			// A bare "--save" means `save ""`, as in redis-server.
			if lowerASCII(name) == "save" && (i+1 == len(args) || strings.HasPrefix(args[i+1], "--")) {
				lines = append(lines, []string{name, ""})
				continue
			}
			lines = append(lines, []string{name})
			continue
		}
		if len(lines) == 0 {
			lines = append(lines, nil)
		}
		lines[len(lines)-1] = append(lines[len(lines)-1], a)
	}
	for i, argv := range lines {
		if reason := c.applyLine(argv, 0); reason != nil {
			if le, ok := reason.(*LoadError); ok {
				return le
			}
			return &LoadError{Source: "the command line arguments", Line: i + 1, Text: argsLine(argv), Reason: reason.Error()}
		}
	}
	return nil
}

// argsLine echoes a command-line directive the way redis-server shows it in
// errors: the name, then each argument quoted.
func argsLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 {
			b.WriteString(a)
		} else {
			b.WriteString(repr(a))
		}
	}
	return b.String()
}

type reasonError string

func (r reasonError) Error() string { return string(r) }

// applyLine applies one tokenized directive; the result is nil, a
// reasonError for Redis's per-line message, or a *LoadError from an
// included file.
func (c *Config) applyLine(argv []string, depth int) error {
	name := lowerASCII(argv[0])
	if e, ok := c.byName[name]; ok {
		d := e.d
		c.warnPending(d, name)
		if !d.has(fMulti) && len(argv) != 2 {
			return reasonError(errWrongArgs)
		}
		if reason := c.apply(d, argv[1:]); reason != "" {
			return reasonError(reason)
		}
		return nil
	}
	if n, ok := deprecatedDirectives[name]; ok && len(argv) == n {
		return nil
	}
	switch {
	case name == "include" && len(argv) == 2:
		return c.include(argv[1], depth)
	case name == "rename-command" && len(argv) == 3:
		if c.CommandExists != nil && !c.CommandExists(argv[1]) {
			return reasonError(errNoSuchCommand)
		}
		c.renames = append(c.renames, [2]string{argv[1], argv[2]})
		return nil
	case name == "user" && len(argv) >= 2:
		c.warnPendingName("user")
		c.users = append(c.users, append([]string(nil), argv[1:]...))
		return nil
	case name == "loadmodule" && len(argv) >= 2:
		return reasonError(errLoadModule)
	case strings.Contains(name, "."):
		if len(argv) != 2 {
			return reasonError(errModuleNoValue)
		}
		return reasonError(errModuleConfig)
	case name == "sentinel":
		if len(argv) != 1 {
			return reasonError(errSentinelMode)
		}
		return reasonError(errSentinelNotImpl)
	}
	return reasonError(errBadDirective)
}

// warnPendingName warns about pending directives that are not in the table.
func (c *Config) warnPendingName(name string) {
	for _, p := range Pending {
		if p == name && !c.warnedNames[name] {
			if c.warnedNames == nil {
				c.warnedNames = map[string]bool{}
			}
			c.warnedNames[name] = true
			c.warnings = append(c.warnings, "WARNING: directive '"+name+"' is accepted but not yet effective in sard")
		}
	}
}

// include loads another file in place. Like Redis, a relative path is taken
// from the working directory, which an earlier "dir" line has changed; a
// pattern with glob characters may match nothing.
func (c *Config) include(path string, depth int) error {
	if depth >= maxIncludeDepth {
		return reasonError(errIncludeDepth)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.st.dir, path)
	}
	if strings.ContainsAny(path, "*?[") {
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil
		}
		for _, m := range matches {
			if err := c.loadFile(m, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return c.loadFile(path, depth+1)
}

// finishLoad runs the checks Redis makes once every line is read.
func (c *Config) finishLoad() error {
	if lf := c.strByName("logfile"); lf != "" {
		p := lf
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.st.dir, p)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return &LoadError{Reason: "Can't open the log file: " + strerror(err)}
		}
		f.Close()
	}
	if c.boolByName("cluster-enabled") && c.st.masterHost != "" {
		return &LoadError{Reason: errReplicaofCluster}
	}
	c.clampHz()
	c.sync()
	return nil
}
