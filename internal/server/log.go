package server

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Log levels, in Redis's order.
const (
	LogDebug = iota
	LogVerbose
	LogNotice
	LogWarning
	LogNothing
)

var levelChar = [...]byte{'.', '-', '*', '#'}

// Logger writes lines in Redis's format: "pid:role dd Mon yyyy hh:mm:ss.mmm <level> message".
type Logger struct {
	mu    sync.Mutex
	out   io.Writer
	file  *os.File // non-nil when logging to a file we opened
	level int
	role  byte // 'M' master, 'S' replica, 'C' before the server is set up
	pid   string
	buf   []byte
}

// NewLogger logs to path (stdout when empty) at the given level.
func NewLogger(path string, level int) (*Logger, error) {
	l := &Logger{out: os.Stdout, level: level, role: 'C', pid: strconv.Itoa(os.Getpid())}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		l.out, l.file = f, f
	}
	return l, nil
}

// ParseLogLevel maps the loglevel directive to a level.
func ParseLogLevel(s string) int {
	switch s {
	case "debug":
		return LogDebug
	case "verbose":
		return LogVerbose
	case "warning":
		return LogWarning
	case "nothing":
		return LogNothing
	}
	return LogNotice
}

// SetLevel changes the level (CONFIG SET loglevel).
func (l *Logger) SetLevel(level int) { l.mu.Lock(); l.level = level; l.mu.Unlock() }

// SetRole sets the role letter shown after the pid.
func (l *Logger) SetRole(r byte) { l.mu.Lock(); l.role = r; l.mu.Unlock() }

// Logf writes one line at the given level.
func (l *Logger) Logf(level int, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if level < l.level || level >= LogNothing {
		return
	}
	now := time.Now()
	b := l.buf[:0]
	b = append(b, l.pid...)
	b = append(b, ':', l.role, ' ')
	b = now.AppendFormat(b, "02 Jan 2006 15:04:05.000")
	b = append(b, ' ', levelChar[level], ' ')
	b = fmt.Appendf(b, format, args...)
	b = append(b, '\n')
	l.out.Write(b)
	l.buf = b
}

// Raw writes text as is (the start-up banner).
func (l *Logger) Raw(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.out, s)
}

func (l *Logger) Debugf(f string, a ...any)   { l.Logf(LogDebug, f, a...) }
func (l *Logger) Verbosef(f string, a ...any) { l.Logf(LogVerbose, f, a...) }
func (l *Logger) Noticef(f string, a ...any)  { l.Logf(LogNotice, f, a...) }
func (l *Logger) Warningf(f string, a ...any) { l.Logf(LogWarning, f, a...) }

// Close closes the log file, if any.
func (l *Logger) Close() {
	if l.file != nil {
		l.file.Close()
	}
}
