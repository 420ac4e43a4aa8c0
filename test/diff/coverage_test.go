package diff

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestCorpusCoversEveryCommand fails when sard implements a command (or subcommand) that no
// script exercises with a compared reply: adding a command means adding its corpus lines.
func TestCorpusCoversEveryCommand(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	covered := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := ParseScript(filepath.Base(f), data)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			if st.Kind != Command || st.Mode == Ignore || len(st.Args) == 0 {
				continue
			}
			name := strings.ToLower(st.Args[0])
			covered[name] = true
			if len(st.Args) > 1 {
				covered[name+"|"+strings.ToLower(st.Args[1])] = true
			}
		}
	}

	sard := testutil.StartSard(t)
	conn := testutil.DialRaw(t, sard.Addr)
	reply, err := conn.Do("COMMAND", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, name := range bulkStrings(t, reply) {
		// Containers are covered through their subcommands; COMMAND DOCS of each subcommand
		// is not needed, COMMAND INFO lists them.
		info, err := conn.Do("COMMAND", "INFO", name)
		if err != nil {
			t.Fatal(err)
		}
		subs := dedupe(subcommandNames(info))
		if len(subs) == 0 {
			if !covered[name] {
				missing = append(missing, name)
			}
			continue
		}
		for _, sub := range subs {
			if !covered[sub] && !strings.HasSuffix(sub, "|help") {
				missing = append(missing, sub)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d implemented commands have no compared line in test/diff/testdata: %s", len(missing), strings.Join(missing, " "))
	}
}

// bulkStrings returns the bulk strings of a flat array reply.
func bulkStrings(t *testing.T, reply []byte) []string {
	_, parts, err := testutil.SplitReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range parts {
		if s, ok := bulkText(p); ok {
			out = append(out, s)
		}
	}
	return out
}

func bulkText(p []byte) (string, bool) {
	if len(p) < 4 || p[0] != '$' {
		return "", false
	}
	i := strings.Index(string(p), "\r\n")
	return string(p[i+2 : len(p)-2]), true
}

// subcommandNames finds the "container|sub" names inside a COMMAND INFO reply.
func subcommandNames(info []byte) []string {
	var out []string
	s := string(info)
	for {
		i := strings.Index(s, "|")
		if i < 0 {
			return out
		}
		// walk back to the bulk header's CRLF and forward to the end of the name
		start := strings.LastIndex(s[:i], "\n") + 1
		end := strings.Index(s[i:], "\r")
		if end < 0 {
			return out
		}
		name := s[start : i+end]
		if !strings.Contains(name, " ") && !strings.HasPrefix(name, "$") {
			out = append(out, name)
		}
		s = s[i+end:]
	}
}

func dedupe(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
