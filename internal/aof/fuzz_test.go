package aof

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzAOFLoad feeds arbitrary bytes to both parsers of the AOF loader: the manifest parser
// and the command-file reader. Neither may panic; a parsed manifest must survive a
// Marshal/parse round trip; the reader must end with EOF, truncation or a format error.
func FuzzAOFLoad(f *testing.F) {
	f.Add([]byte("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"))
	f.Add([]byte("# x\nfile \"a b\\x00\" seq 3 type h\n"))
	f.Add([]byte(sample))
	f.Add([]byte("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$2\r\nab"))
	f.Add([]byte("*2147483647\r\n$1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseManifest(b); err == nil {
			again, err := ParseManifest(m.Marshal())
			if err != nil && !m.Empty() {
				t.Fatalf("round trip of %q: %v", m.Marshal(), err)
			}
			if err == nil && !bytes.Equal(again.Marshal(), m.Marshal()) {
				t.Fatalf("round trip changed %q into %q", m.Marshal(), again.Marshal())
			}
		} else {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error of type %T", err)
			}
		}
		r := NewReader(bytes.NewReader(b), int64(len(b)))
		for {
			argv, err := r.Next()
			if err == io.EOF || err == ErrTruncated || err == ErrFormat {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(argv) == 0 || r.Offset() > int64(len(b)) {
				t.Fatalf("bad command %q at %d", argv, r.Offset())
			}
		}
	})
}
