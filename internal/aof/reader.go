package aof

import (
	"bufio"
	"errors"
	"io"
)

// lineMax is the buffer Redis reads each header line into (AOF_ANNOTATION_LINE_MAX_LEN):
// fgets stops one byte short of it.
const lineMax = 1024

// ErrTruncated means the file ends inside a command: what Redis calls an unexpected end of
// file, which aof-load-truncated can cut off.
var ErrTruncated = errors.New("unexpected end of file")

// ErrFormat means the bytes are not a command where one must start, or a header is invalid.
var ErrFormat = errors.New("bad file format")

// Reader reads the commands of a RESP command file (the tail after an RDB preamble, an
// incremental file, a RESP base) the way Redis's AOF loader does, tracking the offset of the
// end of the last complete command so a truncated tail can be cut.
type Reader struct {
	r      *bufio.Reader
	off    int64 // bytes consumed so far
	remain int64 // bytes known to be left, bounding allocations; -1 when unknown
	line   []byte
}

// NewReader reads commands from r. size is how many bytes r holds (the file size minus what
// was consumed before), or -1 if unknown; it keeps a corrupt length from allocating more than
// the file could hold.
func NewReader(r io.Reader, size int64) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64*1024)
	}
	return &Reader{r: br, remain: size}
}

// SetOffset sets the offset reported for the reader's first byte (after an RDB preamble).
func (r *Reader) SetOffset(off int64) { r.off = off }

// Offset is the position just past the last byte consumed: after Next returns a command, the
// end of that command.
func (r *Reader) Offset() int64 { return r.off }

// readLine is fgets into a lineMax buffer: up to lineMax-1 bytes, stopping after a newline.
// It returns nil at the end of the input.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for len(r.line) < lineMax-1 {
		c, err := r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				if len(r.line) == 0 {
					return nil, nil
				}
				return r.line, nil
			}
			return nil, err
		}
		r.consume(1)
		r.line = append(r.line, c)
		if c == '\n' {
			break
		}
	}
	return r.line, nil
}

func (r *Reader) consume(n int64) {
	r.off += n
	if r.remain >= 0 {
		r.remain -= n
	}
}

// Next returns the next command. At a clean end it returns io.EOF; when the input ends
// inside a command, ErrTruncated (Offset then is where the last complete command ended only
// if the caller saved it before calling Next); ErrFormat for bytes Redis would refuse. The
// argument slices are fresh and owned by the caller.
func (r *Reader) Next() ([][]byte, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if line == nil {
			return nil, io.EOF
		}
		if line[0] == '#' {
			continue // annotations (#TS:...) carry no command
		}
		if line[0] != '*' {
			return nil, ErrFormat
		}
		if len(line) == 1 {
			return nil, ErrTruncated // "*" and then the end of the file
		}
		argc := int32(strtol(line[1:])) // atoi: wraps like a C int
		if argc < 1 {
			return nil, ErrFormat
		}
		var argv [][]byte
		for j := int32(0); j < argc; j++ {
			line, err := r.readLine()
			if err != nil {
				return nil, err
			}
			if line == nil {
				return nil, ErrTruncated
			}
			if line[0] != '$' {
				return nil, ErrFormat
			}
			n := strtol(line[1:])
			if n < 0 {
				return nil, ErrFormat // Redis would try to allocate it and abort
			}
			if r.remain >= 0 && n+2 > r.remain {
				return nil, ErrTruncated
			}
			arg, err := readN(r.r, n)
			if err != nil {
				return nil, readErr(err)
			}
			r.consume(n)
			// Redis discards the two bytes after the argument without checking them.
			var crlf [2]byte
			if _, err := io.ReadFull(r.r, crlf[:]); err != nil {
				return nil, readErr(err)
			}
			r.consume(2)
			argv = append(argv, arg)
		}
		return argv, nil
	}
}

func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

// strtol parses like C's strtol base 10 on a line: spaces, a sign, digits, saturating.
func strtol(b []byte) int64 { return atoll(string(b)) }

// readChunk bounds what readN allocates ahead of the data it has actually read.
const readChunk = 1 << 20

// readN reads exactly n bytes, growing its buffer as the data arrives, so a corrupt length
// (up to 2^63) ends in a truncation error instead of a huge allocation.
func readN(r io.Reader, n int64) ([]byte, error) {
	if n <= readChunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var b []byte
	for int64(len(b)) < n {
		step := min(n-int64(len(b)), readChunk)
		start := len(b)
		b = append(b, make([]byte, step)...)
		if _, err := io.ReadFull(r, b[start:]); err != nil {
			return nil, err
		}
	}
	return b, nil
}
