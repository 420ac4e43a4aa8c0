// Package diff runs scripts of commands against sard and a real redis-server
// and compares their replies byte for byte; see README.md for the script format.
package diff

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// Mode says how the two replies to a command are compared.
type Mode int

const (
	Exact  Mode = iota // byte for byte
	Ignore             // sent to both, replies read and dropped
	Sorted             // aggregates sorted at every level, then byte for byte
	Type               // only the first byte (the RESP type) must agree
	Match              // each reply must match Pattern in full
)

var modeNames = map[string]Mode{"@ignore": Ignore, "@sorted": Sorted, "@type": Type, "@match": Match}

// Kind says what a step does.
type Kind int

const (
	Command   Kind = iota // send Args as a RESP array, compare one reply
	Sleep                 // !sleep: pause for Pause
	Reset                 // !reset: FLUSHALL and SELECT 0 on both servers
	Reconnect             // !reconnect: new connections, HELLO 3 again on RESP3
	Raw                   // !raw: send Bytes, compare one reply
	Send                  // !send: send Bytes, read nothing
	Read                  // !read: compare one more reply
	Conn                  // !conn N: send the following lines on connection N
)

// Step is one line of a script that does something.
type Step struct {
	File  string
	Line  int
	Kind  Kind
	Args  []string      // Command
	Bytes []byte        // Raw and Send
	Pause time.Duration // Sleep
	Mode  Mode
	// Pattern is set for Match; anchored at both ends.
	Pattern *regexp.Regexp
	// Proto restricts the step to one protocol version (2 or 3); 0 runs it on both.
	Proto int
	// Conn is the connection number of a !conn step.
	Conn int
}

// Where returns file:line for messages.
func (s Step) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Command returns what the step sends in the script's own quoting, for messages.
func (s Step) Command() string {
	switch s.Kind {
	case Raw, Send:
		return fmt.Sprintf("(raw) %s", QuoteArg(string(s.Bytes)))
	case Read:
		return "(reading one more reply)"
	case Conn:
		return fmt.Sprintf("(switching to connection %d)", s.Conn)
	}
	out := make([]string, len(s.Args))
	for i, a := range s.Args {
		out[i] = QuoteArg(a)
	}
	return strings.Join(out, " ")
}

// ParseScript turns a script into steps. Errors name the file and line.
func ParseScript(file string, data []byte) ([]Step, error) {
	var steps []Step
	block := 0 // protocol of the enclosing !resp2only/!resp3only block
	for i, line := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) ([]Step, error) {
			return nil, fmt.Errorf("%s:%d: %s", file, lineNo, fmt.Sprintf(format, args...))
		}
		if trimmed[0] == '!' {
			st, err := parseDirective(trimmed, &block)
			if err != nil {
				return fail("%v", err)
			}
			if st != nil {
				st.File, st.Line, st.Proto = file, lineNo, block
				steps = append(steps, *st)
			}
			continue
		}
		args, err := SplitArgs(line)
		if err != nil {
			return fail("%v", err)
		}
		st := Step{File: file, Line: lineNo, Proto: block}
		modeSet := false
		for len(args) > 0 && strings.HasPrefix(args[0], "@") {
			p := args[0]
			args = args[1:]
			switch p {
			case "@resp2", "@resp3":
				if block != 0 {
					return fail("%s inside a !resp%donly block", p, block)
				}
				st.Proto = int(p[5] - '0')
				continue
			}
			m, ok := modeNames[p]
			if !ok {
				return fail("unknown prefix %q", p)
			}
			if modeSet {
				return fail("more than one comparison prefix")
			}
			modeSet = true
			st.Mode = m
			if m == Match {
				if len(args) == 0 {
					return fail("@match wants a pattern")
				}
				re, err := regexp.Compile(`^(?:` + args[0] + `)$`)
				if err != nil {
					return fail("@match pattern: %v", err)
				}
				st.Pattern = re
				args = args[1:]
			}
		}
		if len(args) == 0 {
			return fail("no command after the prefixes")
		}
		st.Args = args
		steps = append(steps, st)
	}
	if block != 0 {
		return nil, fmt.Errorf("%s: !resp%donly block not closed with !end", file, block)
	}
	return steps, nil
}

// parseDirective reads a ! line. Block switches update block and return no step.
func parseDirective(line string, block *int) (*Step, error) {
	name, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	noArgs := func(k Kind) (*Step, error) {
		if rest != "" {
			return nil, fmt.Errorf("%s takes no arguments", name)
		}
		return &Step{Kind: k}, nil
	}
	switch name {
	case "!sleep":
		ms, err := strconv.Atoi(rest)
		if err != nil || ms <= 0 || ms > 10000 {
			return nil, fmt.Errorf("!sleep wants milliseconds between 1 and 10000, got %q", rest)
		}
		return &Step{Kind: Sleep, Pause: time.Duration(ms) * time.Millisecond}, nil
	case "!reset":
		return noArgs(Reset)
	case "!reconnect":
		return noArgs(Reconnect)
	case "!conn":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > 8 {
			return nil, fmt.Errorf("!conn wants a connection number between 1 and 8, got %q", rest)
		}
		return &Step{Kind: Conn, Conn: n}, nil
	case "!read":
		return noArgs(Read)
	case "!raw", "!send":
		args, err := SplitArgs(rest)
		if err != nil {
			return nil, err
		}
		if len(args) != 1 || args[0] == "" {
			return nil, fmt.Errorf("%s wants one non-empty quoted argument", name)
		}
		k := Raw
		if name == "!send" {
			k = Send
		}
		return &Step{Kind: k, Bytes: []byte(args[0])}, nil
	case "!resp2only", "!resp3only", "!end":
		if rest != "" {
			return nil, fmt.Errorf("%s takes no arguments", name)
		}
		switch {
		case name == "!end":
			*block = 0
		case *block != 0:
			return nil, fmt.Errorf("%s inside a !resp%donly block", name, *block)
		default:
			*block = int(name[5] - '0')
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown directive %q", line)
}

// SplitArgs splits a line into arguments the way redis-cli does: blanks
// separate, "double quotes" understand \n \r \t \b \a \\ \" and \xHH,
// 'single quotes' understand only \', and a closing quote must be followed by
// a blank or the end of the line.
func SplitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var cur []byte
		inDouble, inSingle := false, false
		for ; ; i++ {
			if i == len(line) {
				if inDouble || inSingle {
					return nil, fmt.Errorf("unbalanced quotes in %q", line)
				}
				break
			}
			c := line[i]
			switch {
			case inDouble:
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					b, _ := strconv.ParseUint(line[i+2:i+4], 16, 8)
					cur = append(cur, byte(b))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					cur = append(cur, unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isBlank(line[i+1]) {
						return nil, fmt.Errorf("closing quote must be followed by a space in %q", line)
					}
					inDouble = false
					i++
					goto done
				default:
					cur = append(cur, c)
				}
			case inSingle:
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isBlank(line[i+1]) {
						return nil, fmt.Errorf("closing quote must be followed by a space in %q", line)
					}
					inSingle = false
					i++
					goto done
				default:
					cur = append(cur, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', '\v', '\f':
					goto done
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					cur = append(cur, c)
				}
			}
		}
	done:
		args = append(args, string(cur))
	}
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// QuoteArg renders an argument so that SplitArgs gives it back.
func QuoteArg(a string) string {
	plain := a != ""
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch c := a[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < ' ' || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Compare reports whether two raw replies agree under the step's mode, and if
// not, why. want is the oracle's reply, got the server under test's.
func Compare(st Step, want, got []byte) (bool, string) {
	switch st.Mode {
	case Ignore:
		return true, ""
	case Type:
		if len(want) > 0 && len(got) > 0 && want[0] == got[0] {
			return true, ""
		}
		return false, "reply types differ"
	case Match:
		okW, okG := st.Pattern.Match(want), st.Pattern.Match(got)
		switch {
		case okW && okG:
			return true, ""
		case !okW && !okG:
			return false, "neither reply matches the pattern"
		case !okW:
			return false, "the oracle's reply does not match the pattern (fix the script)"
		}
		return false, "reply does not match the pattern"
	case Sorted:
		sw, errW := sortedReply(want)
		sg, errG := sortedReply(got)
		if errW != nil || errG != nil {
			return bytes.Equal(want, got), "replies differ (and could not be parsed to sort)"
		}
		if bytes.Equal(sw, sg) {
			return true, ""
		}
		return false, "replies differ after sorting"
	}
	if bytes.Equal(want, got) {
		return true, ""
	}
	return false, "replies differ"
}

// sortedReply puts the elements of every aggregate into byte order (map
// entries as key/value pairs), so that replies whose order is unspecified
// compare equal when they hold the same things.
func sortedReply(raw []byte) ([]byte, error) {
	header, elems, err := testutil.SplitReply(raw)
	if err != nil || elems == nil {
		return raw, err
	}
	for i, e := range elems {
		if elems[i], err = sortedReply(e); err != nil {
			return nil, err
		}
	}
	items := elems
	switch header[0] {
	case '|', '>':
		// Attributes and pushes have positional meaning; keep their order.
	case '%':
		items = nil
		for i := 0; i+1 < len(elems); i += 2 {
			items = append(items, append(append([]byte{}, elems[i]...), elems[i+1]...))
		}
		sortBytes(items)
	default:
		sortBytes(items)
	}
	out := append([]byte{}, header...)
	for _, it := range items {
		out = append(out, it...)
	}
	return out, nil
}

func sortBytes(items [][]byte) {
	sort.Slice(items, func(a, b int) bool { return bytes.Compare(items[a], items[b]) < 0 })
}
