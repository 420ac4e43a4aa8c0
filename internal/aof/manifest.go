// Package aof reads and writes the files of Redis 7.0's multi-part append-only file: the
// manifest that lists the base, incremental and history files, and the RESP command files,
// with the same parsing rules and error texts as Redis.
package aof

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/sard-kv/sard/internal/resp"
)

// File types as the manifest spells them.
const (
	TypeBase    byte = 'b'
	TypeHistory byte = 'h'
	TypeIncr    byte = 'i'
)

// File name parts (Redis 7.0's suffixes).
const (
	BaseSuffix     = ".base"
	IncrSuffix     = ".incr"
	RDBFormat      = ".rdb"
	AOFFormat      = ".aof"
	ManifestSuffix = ".manifest"
	TempPrefix     = "temp-"
)

// manifestMaxLine is the longest manifest line Redis reads, newline included.
const manifestMaxLine = 1024

// Info is one file of the manifest.
type Info struct {
	Name string
	Seq  int64
	Type byte
}

// Manifest is the parsed manifest: at most one base, the history files waiting to be deleted
// and the incremental files in load order.
type Manifest struct {
	Base    *Info
	History []Info
	Incr    []Info
	BaseSeq int64 // sequence of the current base (curr_base_file_seq)
	IncrSeq int64 // sequence of the newest incremental file (curr_incr_file_seq)
}

// ManifestError is a manifest Redis would refuse to start with. Line is 0 when the error is
// not about one line (an empty file, a line too long); Text is the offending line.
type ManifestError struct {
	Line   int
	Text   string
	Reason string
}

func (e *ManifestError) Error() string {
	if e.Line == 0 {
		return e.Reason
	}
	return fmt.Sprintf("at line %d ('%s'): %s", e.Line, e.Text, e.Reason)
}

// Manifest error reasons, Redis 7.0's texts.
const (
	ErrEmptyManifest   = "Found an empty AOF manifest"
	ErrLineTooLong     = "The AOF manifest file contains too long line"
	ErrInvalidManifest = "Invalid AOF manifest file format"
	ErrPathName        = "File can't be a path, just a filename"
	ErrDuplicateBase   = "Found duplicate base file information"
	ErrNonMonotonic    = "Found a non-monotonic sequence number"
	ErrUnknownType     = "Unknown AOF file type"
)

// ParseManifest parses a manifest file's contents as Redis's aofLoadManifestFromFile does.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	var maxSeq int64
	lineNum := 0
	for len(data) > 0 {
		// Redis reads with fgets into a 1024-byte buffer: a longer line comes in pieces and
		// the first piece, lacking its newline, is refused (unless it is a comment).
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 || n > manifestMaxLine {
			n = min(len(data), manifestMaxLine)
		}
		chunk := data[:n]
		data = data[n:]
		lineNum++
		if chunk[0] == '#' {
			continue
		}
		if chunk[len(chunk)-1] != '\n' {
			return nil, &ManifestError{Reason: ErrLineTooLong}
		}
		line := strings.Trim(string(cString(chunk)), " \t\r\n")
		fail := func(reason string) error { return &ManifestError{Line: lineNum, Text: line, Reason: reason} }
		if line == "" {
			return nil, fail(ErrInvalidManifest)
		}
		args, ok := SplitArgs(line)
		// fewer than 6 words or an odd count is refused; more pairs are allowed for forward compatibility
		if !ok || len(args) < 6 || len(args)%2 != 0 {
			return nil, fail(ErrInvalidManifest)
		}
		var ai Info
		haveName := false
		for i := 0; i < len(args); i += 2 {
			switch strings.ToLower(args[i]) {
			case "file":
				ai.Name = args[i+1]
				haveName = true
				if strings.ContainsAny(ai.Name, "/\\") {
					return nil, fail(ErrPathName)
				}
			case "seq":
				ai.Seq = atoll(args[i+1])
			case "type":
				if v := args[i+1]; v != "" {
					ai.Type = v[0]
				} else {
					ai.Type = 0
				}
			}
		}
		// Redis tests the C string, so an empty name, a zero seq or an empty type are missing.
		if !haveName || ai.Name == "" || ai.Seq == 0 || ai.Type == 0 {
			return nil, fail(ErrInvalidManifest)
		}
		switch ai.Type {
		case TypeBase:
			if m.Base != nil {
				return nil, fail(ErrDuplicateBase)
			}
			b := ai
			m.Base = &b
			m.BaseSeq = ai.Seq
		case TypeHistory:
			m.History = append(m.History, ai)
		case TypeIncr:
			if ai.Seq <= maxSeq {
				return nil, fail(ErrNonMonotonic)
			}
			m.Incr = append(m.Incr, ai)
			m.IncrSeq = ai.Seq
			maxSeq = ai.Seq
		default:
			return nil, fail(ErrUnknownType)
		}
	}
	if lineNum == 0 {
		return nil, &ManifestError{Reason: ErrEmptyManifest}
	}
	return m, nil
}

// cString cuts at the first NUL: Redis handles each line as a C string.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// atoll is C's atoll: leading spaces, an optional sign, digits up to the first other byte,
// saturating on overflow as glibc's strtoll does.
func atoll(s string) int64 {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > (1<<63)/10 {
			over = true
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<63 {
			over = true
		}
	}
	switch {
	case over && neg:
		return -1 << 63
	case over:
		return 1<<63 - 1
	case neg:
		return -int64(v)
	case v == 1<<63:
		return 1<<63 - 1
	}
	return int64(v)
}

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// SplitArgs splits a manifest line into words as Redis's sdssplitargs does (the same
// splitter inline requests use). ok is false for unbalanced quotes.
func SplitArgs(line string) (args []string, ok bool) {
	words, ok := resp.SplitArgs([]byte(line), nil)
	if !ok {
		return nil, false
	}
	args = make([]string, len(words))
	for i, w := range words {
		args[i] = string(w)
	}
	return args, true
}

// Marshal renders the manifest as Redis writes it: the base, the history files, then the
// incremental files, one line each.
func (m *Manifest) Marshal() []byte {
	var b []byte
	line := func(ai Info) {
		b = append(b, "file "...)
		b = append(b, quoteName(ai.Name)...)
		b = append(b, " seq "...)
		b = strconv.AppendInt(b, ai.Seq, 10)
		b = append(b, " type "...)
		b = append(b, ai.Type, '\n')
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, ai := range m.History {
		line(ai)
	}
	for _, ai := range m.Incr {
		line(ai)
	}
	return b
}

// quoteName quotes a file name that has spaces, quotes or unprintable bytes, as Redis's
// sdscatrepr does, so the manifest parses back to the same name.
func quoteName(name string) string {
	plain := name != ""
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '\'' {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	b := []byte{'"'}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		default:
			if c < ' ' || c >= 0x7f {
				b = fmt.Appendf(b, `\x%02x`, c)
			} else {
				b = append(b, c)
			}
		}
	}
	return string(append(b, '"'))
}

// Clone returns a deep copy, so a change can be prepared and thrown away if persisting fails.
func (m *Manifest) Clone() *Manifest {
	c := &Manifest{BaseSeq: m.BaseSeq, IncrSeq: m.IncrSeq}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	c.History = append([]Info(nil), m.History...)
	c.Incr = append([]Info(nil), m.Incr...)
	return c
}

// BaseName is the name of base file seq: appendonly.aof.1.base.rdb or .base.aof.
func BaseName(prefix string, seq int64, rdb bool) string {
	format := AOFFormat
	if rdb {
		format = RDBFormat
	}
	return prefix + "." + strconv.FormatInt(seq, 10) + BaseSuffix + format
}

// IncrName is the name of incremental file seq: appendonly.aof.1.incr.aof.
func IncrName(prefix string, seq int64) string {
	return prefix + "." + strconv.FormatInt(seq, 10) + IncrSuffix + AOFFormat
}

// ManifestName is the manifest's name for appendfilename prefix.
func ManifestName(prefix string) string { return prefix + ManifestSuffix }

// TempManifestName is where a new manifest is written before it is renamed into place.
func TempManifestName(prefix string) string { return TempPrefix + prefix + ManifestSuffix }

// NewBase starts a new base file: the current base and every incremental file but the
// newest (the one opened when the rewrite began) become history. It returns the new name.
func (m *Manifest) NewBase(prefix string, rdb bool) string {
	if m.Base != nil {
		h := *m.Base
		h.Type = TypeHistory
		m.History = append(m.History, h)
	}
	m.BaseSeq++
	m.Base = &Info{Name: BaseName(prefix, m.BaseSeq, rdb), Seq: m.BaseSeq, Type: TypeBase}
	return m.Base.Name
}

// MarkRewrittenIncrAsHistory moves every incremental file but the newest to history, which
// is what a finished rewrite covers.
func (m *Manifest) MarkRewrittenIncrAsHistory() {
	if len(m.Incr) <= 1 {
		return
	}
	for _, ai := range m.Incr[:len(m.Incr)-1] {
		ai.Type = TypeHistory
		m.History = append(m.History, ai)
	}
	m.Incr = append(m.Incr[:0], m.Incr[len(m.Incr)-1])
}

// NewIncr appends a new incremental file and returns its name.
func (m *Manifest) NewIncr(prefix string) string {
	m.IncrSeq++
	ai := Info{Name: IncrName(prefix, m.IncrSeq), Seq: m.IncrSeq, Type: TypeIncr}
	m.Incr = append(m.Incr, ai)
	return ai.Name
}

// Empty reports a manifest with nothing to load.
func (m *Manifest) Empty() bool { return m.Base == nil && len(m.Incr) == 0 }

// Files lists the files to load, base first.
func (m *Manifest) Files() []Info {
	var out []Info
	if m.Base != nil {
		out = append(out, *m.Base)
	}
	return append(out, m.Incr...)
}

// LegacyUpgrade reports whether a legacy single-file AOF (appendfilename in dir) must be
// moved into the AOF directory, in Redis 7.0's three cases: the directory is missing, the
// manifest lists nothing, or it lists only that file as base and the file is not yet in the
// directory. m may be nil when there is no manifest.
func LegacyUpgrade(legacyExists, dirExists bool, m *Manifest, prefix string, inDir bool) bool {
	if !legacyExists {
		return false
	}
	if !dirExists || m == nil || m.Empty() {
		return true
	}
	return m.Base != nil && len(m.Incr) == 0 && m.Base.Name == prefix && !inDir
}

// UpgradedManifest is the manifest a legacy upgrade starts with: the old file as base 1.
func UpgradedManifest(prefix string) *Manifest {
	return &Manifest{Base: &Info{Name: prefix, Seq: 1, Type: TypeBase}, BaseSeq: 1}
}
