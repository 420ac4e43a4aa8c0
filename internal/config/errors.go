package config

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// RedisVersion is the Redis release whose configuration behaviour this
// package reproduces; it appears in the fatal config error banner.
const RedisVersion = "7.0.15"

// Reason texts, byte for byte as Redis 7.0 prints them.
const (
	errBadDirective     = "Bad directive or wrong number of arguments"
	errWrongArgs        = "wrong number of arguments"
	errUnbalanced       = "Unbalanced quotes in configuration line"
	errYesNo            = "argument must be 'yes' or 'no'"
	errNotInteger       = "argument couldn't be parsed into an integer"
	errNotMemory        = "argument must be a memory value"
	errNotMemoryPercent = "argument must be a memory or percent value"
	errNotOctal         = "argument couldn't be parsed as an octal number"
	errSaveParams       = "Invalid save parameters"
	errNotifyClass      = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
	errMasterPort       = "Invalid master port"
	errOOMValues        = "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
	errObufArgs         = "Wrong number of arguments in buffer limit configuration."
	errObufClass        = "Invalid client class specified in buffer limit configuration."
	errObufValues       = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
	errTooManyBind      = "Too many bind addresses specified."
	errPercentileParse  = "Invalid latency-tracking-info-percentiles parameters"
	errPercentileRange  = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
	errShutdownFlags    = "shutdown options SAVE and NOSAVE can't be used simultaneously"
	errDBFilename       = "dbfilename can't be a path, just a filename"
	errAOFNameEmpty     = "appendfilename can't be empty"
	errAOFNamePath      = "appendfilename can't be a path, just a filename"
	errAOFDirEmpty      = "appenddirname can't be empty"
	errAOFDirPath       = "appenddirname can't be a path, just a dirname"
	errHostnameLen      = "Hostnames must be less than 256 characters"
	errHostnameChars    = "Hostnames may only contain alphanumeric characters, hyphens or dots"
	errProcTitle        = "template format is invalid or contains unknown variables"
	errReplicaofCluster = "replicaof directive not allowed in cluster mode"
	errNoSuchCommand    = "No such command in rename-command"
	errModuleNoValue    = "Module config specified without value"
	errSentinelMode     = "sentinel directive while not in sentinel mode"

	errImmutable = "can't set immutable config"
	errProtected = "can't set protected config"
	errDuplicate = "duplicate parameter"

	// sard's own texts for what it refuses on purpose.
	errLoadModule      = "loadmodule is not supported: sard cannot load Redis modules"
	errModuleConfig    = "module configs are not supported: sard cannot load Redis modules"
	errSentinelNotImpl = "sentinel mode is not supported by sard"
	errIncludeDepth    = "include nesting is too deep (is a file including itself?)"
)

// ErrNoConfigFile is what CONFIG REWRITE answers when the server started
// without a configuration file.
var ErrNoConfigFile = errors.New("ERR The server is running without a config file")

// LoadError is a fatal configuration error. Its Error text is the block
// redis-server prints before exiting with status 1, plus the file name.
type LoadError struct {
	Source string // "the configuration file /abs/path", "the command line arguments", or ""
	Line   int    // 1-based line within Source; 0 when not tied to a line
	Text   string // the offending line, trimmed
	Reason string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "*** FATAL CONFIG FILE ERROR (sard %s) ***\n", RedisVersion)
	if e.Line > 0 {
		fmt.Fprintf(&b, "Reading %s, at line %d\n", e.Source, e.Line)
		fmt.Fprintf(&b, ">>> '%s'\n", e.Text)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// setError builds CONFIG SET's "possibly related to argument" error.
func setError(name, reason string) error {
	if reason == "" {
		return fmt.Errorf("ERR CONFIG SET failed (possibly related to argument '%s')", name)
	}
	return fmt.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, reason)
}

func unknownOptionError(name string) error {
	return fmt.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", name)
}

// strerror renders an OS error the way C's strerror does (Go's errno texts
// are glibc's with a lower-cased first letter).
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
