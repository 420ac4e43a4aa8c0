package aof

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// The expected reasons and lines are what redis-server 7.0.15 logs for the same manifests.
func TestParseManifestErrors(t *testing.T) {
	cases := []struct {
		in, reason string
		line       int
	}{
		{"", ErrEmptyManifest, 0},
		{"file a seq 1 type i", ErrLineTooLong, 0},
		{"file " + strings.Repeat("a", 1100) + " seq 1 type i\n", ErrLineTooLong, 0},
		{"file a seq 1 type i\n\n", ErrInvalidManifest, 2},
		{"file a seq 1 type x\n", ErrUnknownType, 1},
		{"file a seq 0 type i\n", ErrInvalidManifest, 1},
		{"file a seq abc type i\n", ErrInvalidManifest, 1},
		{"file a/b seq 1 type i\n", ErrPathName, 1},
		{"file a\\b seq 1 type i\n", ErrPathName, 1},
		{"file a seq 1 type b\nfile b seq 1 type b\n", ErrDuplicateBase, 2},
		{"file a seq 2 type i\nfile b seq 2 type i\n", ErrNonMonotonic, 2},
		{"file a seq -1 type i\n", ErrNonMonotonic, 1},
		{"file \"a seq 1 type i\n", ErrInvalidManifest, 1},
		{"file a seq 1 type i x\n", ErrInvalidManifest, 1},
		{"file a seq 1\n", ErrInvalidManifest, 1},
		{"seq 1 type i foo bar\n", ErrInvalidManifest, 1},
		{"file \"a\"b seq 1 type i\n", ErrInvalidManifest, 1},
	}
	for _, tc := range cases {
		_, err := ParseManifest([]byte(tc.in))
		var me *ManifestError
		if !errors.As(err, &me) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.reason)
			continue
		}
		if me.Reason != tc.reason || me.Line != tc.line {
			t.Errorf("%q: got line %d %q, want line %d %q", tc.in, me.Line, me.Reason, tc.line, tc.reason)
		}
	}
}

func TestParseManifestAccepts(t *testing.T) {
	in := "# comment\nFILE appendonly.aof.2.base.rdb SEQ 2 TYPE b future x\n" +
		"file appendonly.aof.1.base.aof seq 1 type h\n" +
		"file appendonly.aof.1.incr.aof seq 1 type hist\n" +
		"  file \"app end\\x41.aof.3.incr.aof\" seq 3 type incr  \r\n" +
		"file 'q\\'s' seq 4 type i\n"
	m, err := ParseManifest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if m.Base == nil || m.Base.Name != "appendonly.aof.2.base.rdb" || m.BaseSeq != 2 {
		t.Fatalf("base %+v", m.Base)
	}
	if len(m.History) != 2 || len(m.Incr) != 2 || m.Incr[0].Name != "app endA.aof.3.incr.aof" || m.Incr[1].Name != "q's" || m.IncrSeq != 4 {
		t.Fatalf("history %+v incr %+v", m.History, m.Incr)
	}
	// Marshal then parse gives the same manifest, names with spaces quoted.
	again, err := ParseManifest(m.Marshal())
	if err != nil {
		t.Fatalf("%v\n%s", err, m.Marshal())
	}
	if !bytes.Equal(again.Marshal(), m.Marshal()) {
		t.Fatalf("round trip:\n%s\n%s", m.Marshal(), again.Marshal())
	}
	if !strings.Contains(string(m.Marshal()), `file "app endA.aof.3.incr.aof" seq 3 type i`) {
		t.Fatalf("quoting: %s", m.Marshal())
	}
}

func TestManifestLifecycle(t *testing.T) {
	m := &Manifest{}
	base := m.NewBase("appendonly.aof", true)
	incr := m.NewIncr("appendonly.aof")
	if base != "appendonly.aof.1.base.rdb" || incr != "appendonly.aof.1.incr.aof" {
		t.Fatal(base, incr)
	}
	if got := string(m.Marshal()); got != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("%q", got)
	}
	// a rewrite: new incr at start, then new base and history at the end
	m.NewIncr("appendonly.aof")
	m.NewBase("appendonly.aof", false)
	m.MarkRewrittenIncrAsHistory()
	want := "file appendonly.aof.2.base.aof seq 2 type b\n" +
		"file appendonly.aof.1.base.rdb seq 1 type h\n" +
		"file appendonly.aof.1.incr.aof seq 1 type h\n" +
		"file appendonly.aof.2.incr.aof seq 2 type i\n"
	if got := string(m.Marshal()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLegacyUpgrade(t *testing.T) {
	up := UpgradedManifest("appendonly.aof")
	cases := []struct {
		name                    string
		legacy, dir, inDir, yes bool
		m                       *Manifest
	}{
		{"no legacy file", false, false, false, false, nil},
		{"no directory", true, false, false, true, nil},
		{"no manifest", true, true, false, true, nil},
		{"empty manifest", true, true, false, true, &Manifest{}},
		{"interrupted upgrade", true, true, false, true, up},
		{"upgrade done", true, true, true, false, up},
		{"real multi-part", true, true, false, false, func() *Manifest {
			m := &Manifest{}
			m.NewBase("appendonly.aof", true)
			m.NewIncr("appendonly.aof")
			return m
		}()},
	}
	for _, tc := range cases {
		if got := LegacyUpgrade(tc.legacy, tc.dir, tc.m, "appendonly.aof", tc.inDir); got != tc.yes {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

const sample = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1700000000\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$5\r\nMULTI\r\n"

func readAll(b []byte) (cmds [][][]byte, validUpTo int64, err error) {
	r := NewReader(bytes.NewReader(b), int64(len(b)))
	for {
		argv, err := r.Next()
		if err != nil {
			return cmds, validUpTo, err
		}
		cmds = append(cmds, argv)
		validUpTo = r.Offset()
	}
}

func TestReaderCommands(t *testing.T) {
	cmds, end, err := readAll([]byte(sample))
	if err != io.EOF || len(cmds) != 3 || end != int64(len(sample)) {
		t.Fatalf("cmds %q end %d err %v", cmds, end, err)
	}
	if string(cmds[1][2]) != "hello" {
		t.Fatalf("%q", cmds[1])
	}
}

// Every prefix of a valid file reads as complete commands then a clean end or a truncated
// tail, never a format error, and the valid offset is a command boundary.
func TestReaderTruncatedAtEveryOffset(t *testing.T) {
	bounds := map[int64]bool{0: true}
	r := NewReader(bytes.NewReader([]byte(sample)), int64(len(sample)))
	for _, err := r.Next(); err == nil; _, err = r.Next() {
		bounds[r.Offset()] = true
	}
	for n := 0; n <= len(sample); n++ {
		cmds, end, err := readAll([]byte(sample[:n]))
		if err != io.EOF && err != ErrTruncated {
			t.Fatalf("prefix %d: %v", n, err)
		}
		if !bounds[end] {
			t.Fatalf("prefix %d: valid up to %d, not a boundary (%d cmds)", n, end, len(cmds))
		}
		if err == io.EOF && !bounds[int64(n)] && !strings.HasPrefix(sample[end:n], "#") {
			t.Fatalf("prefix %d read as complete", n)
		}
	}
}

func TestReaderFormatErrors(t *testing.T) {
	for _, in := range []string{
		"x\r\n", "*0\r\n", "*-1\r\n", "*\r\n", "*1\r\nfoo\r\n", "*1\r\n$-2\r\n",
	} {
		if _, _, err := readAll([]byte(in)); err != ErrFormat {
			t.Errorf("%q: %v", in, err)
		}
	}
	for _, in := range []string{"*", "*2\r\n$3\r\nfoo\r\n", "*1\r\n$999999999\r\nab", "*1\r\n$3\r\nfoo"} {
		if _, _, err := readAll([]byte(in)); err != ErrTruncated {
			t.Errorf("%q: %v", in, err)
		}
	}
}
