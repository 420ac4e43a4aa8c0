// Package hll implements Redis's HyperLogLog string format byte for byte (the
// "HYLL" header with its cached cardinality, the sparse opcodes and the dense
// 6-bit registers) and Redis 7.0's cardinality estimator.
//
// A HyperLogLog is an ordinary byte slice, the value of a string key. The
// functions that change one take the slice and return the (possibly
// reallocated, possibly shorter or longer) result; a slice whose capacity
// equals its length is never written past its end, so callers may pass a view
// of the keyspace's storage.
package hll

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// Layout constants, as Redis defines them.
const (
	P         = 14     // bits of the hash that select a register
	Registers = 1 << P // 16384 registers
	Q         = 64 - P // bits left to count the run of zeros in
	regBits   = 6      // width of a dense register
	regMax    = 1<<regBits - 1
	HdrSize   = 16 // "HYLL", encoding, 3 unused bytes, 8 bytes of cached cardinality
	DenseSize = HdrSize + (Registers*regBits+7)/8

	// Encodings stored in byte 4 of the header.
	Dense  = 0
	Sparse = 1

	sparseValMaxValue = 32
	sparseValMaxLen   = 4
	sparseZeroMaxLen  = 64
	sparseXZeroMaxLen = 16384

	seed = 0xadc83b19
	// alphaInf is 1/(2 ln 2), the constant of Ertl's estimator.
	alphaInf = 0.721347520444481703680
)

// ErrCorrupt reports a sparse representation whose opcodes do not cover
// exactly the 16384 registers (Redis's INVALIDOBJ).
var ErrCorrupt = errors.New("corrupted HLL")

// New returns an empty HyperLogLog as Redis creates it: sparse, one XZERO
// opcode covering every register, cached cardinality 0 and valid.
func New() []byte {
	b := make([]byte, HdrSize+2)
	copy(b, "HYLL")
	b[4] = Sparse
	setXZero(b[HdrSize:], Registers)
	return b
}

// Valid reports whether b passes Redis's checks for a HyperLogLog value: the
// magic, a known encoding and, for dense ones, the exact length. Sparse
// opcodes are checked only when they are read.
func Valid(b []byte) bool {
	if len(b) < HdrSize || string(b[:4]) != "HYLL" || b[4] > Sparse {
		return false
	}
	return b[4] != Dense || len(b) == DenseSize
}

// IsDense reports whether a valid HyperLogLog uses the dense encoding.
func IsDense(b []byte) bool { return b[4] == Dense }

// CachedCard returns the cached cardinality and whether the cache is valid
// (the top bit of the last header byte clear).
func CachedCard(b []byte) (uint64, bool) {
	if b[15]&0x80 != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:16]), true
}

// SetCachedCard stores a freshly computed cardinality in the header.
func SetCachedCard(b []byte, card uint64) { binary.LittleEndian.PutUint64(b[8:16], card) }

// Invalidate marks the cached cardinality stale. Only the flag bit changes:
// the other cache bytes keep the old value, as they do in Redis.
func Invalidate(b []byte) { b[15] |= 0x80 }

// Hash returns the register an element goes to and the value it proposes: one
// more than the number of trailing zeros of the remaining hash bits, 1..Q+1.
func Hash(ele []byte) (index int, count uint8) {
	h := murmurHash64A(ele, seed)
	index = int(h & (Registers - 1))
	h >>= P
	h |= 1 << Q // bounds the count at Q+1
	return index, uint8(bits.TrailingZeros64(h) + 1)
}

// murmurHash64A is Austin Appleby's 64-bit MurmurHash2, the variant Redis
// uses, reading 8-byte blocks little-endian.
func murmurHash64A(data []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(data)) * m)
	for len(data) >= 8 {
		k := binary.LittleEndian.Uint64(data)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		data = data[8:]
	}
	if len(data) > 0 {
		for i := len(data) - 1; i >= 0; i-- {
			h ^= uint64(data[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// Add adds ele, returning the updated HyperLogLog and whether a register
// changed. It fails only on a corrupt sparse representation. sparseMax is
// hll-sparse-max-bytes: a sparse value that would grow past it becomes dense.
func Add(b, ele []byte, sparseMax int) ([]byte, bool, error) {
	index, count := Hash(ele)
	return Set(b, index, count, sparseMax)
}

// Set raises register index to count if it is lower.
func Set(b []byte, index int, count uint8, sparseMax int) ([]byte, bool, error) {
	if b[4] == Dense {
		return b, denseSet(b[HdrSize:], index, count), nil
	}
	return sparseSet(b, index, count, sparseMax)
}

// --- dense registers ---

// denseGet reads register i. The last register's second byte lies past the
// end: Redis reads the string's terminating zero there, and so do we.
func denseGet(regs []byte, i int) uint8 {
	pos := i * regBits
	by, fb := pos>>3, uint(pos&7)
	b0 := uint(regs[by])
	var b1 uint
	if by+1 < len(regs) {
		b1 = uint(regs[by+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & regMax)
}

func denseStore(regs []byte, i int, v uint8) {
	pos := i * regBits
	by, fb := pos>>3, uint(pos&7)
	val := uint(v)
	regs[by] = byte(uint(regs[by])&^(regMax<<fb) | val<<fb)
	if by+1 < len(regs) {
		regs[by+1] = byte(uint(regs[by+1])&^(regMax>>(8-fb)) | val>>(8-fb))
	}
}

func denseSet(regs []byte, i int, count uint8) bool {
	if count > denseGet(regs, i) {
		denseStore(regs, i, count)
		return true
	}
	return false
}

// --- sparse opcodes ---
//
//	ZERO   00xxxxxx           xxxxxx+1 zero registers (1..64)
//	XZERO  01xxxxxx yyyyyyyy  xxxxxxyyyyyyyy+1 zero registers (1..16384)
//	VAL    1vvvvvxx           xx+1 registers (1..4) holding vvvvv+1 (1..32)

func isZero(op byte) bool  { return op&0xc0 == 0 }
func isXZero(op byte) bool { return op&0xc0 == 0x40 }
func isVal(op byte) bool   { return op&0x80 != 0 }
func zeroLen(op byte) int  { return int(op&0x3f) + 1 }
func valValue(op byte) int { return int(op>>2&0x1f) + 1 }
func valLen(op byte) int   { return int(op&3) + 1 }

// xzeroLen reads an XZERO at b[p]; a truncated one reads the string's
// terminating zero as its second byte, as Redis does.
func xzeroLen(b []byte, p int) int {
	var lo byte
	if p+1 < len(b) {
		lo = b[p+1]
	}
	return (int(b[p]&0x3f)<<8 | int(lo)) + 1
}

func valOp(val, n int) byte { return byte((val-1)<<2|(n-1)) | 0x80 }
func zeroOp(n int) byte     { return byte(n - 1) }
func setXZero(b []byte, n int) {
	n--
	b[0] = byte(n>>8) | 0x40
	b[1] = byte(n)
}

// opLen is the size in bytes of the opcode at b[p].
func opLen(op byte) int {
	if isXZero(op) {
		return 2
	}
	return 1
}

// opSpan is the number of registers the opcode at b[p] covers.
func opSpan(b []byte, p int) int {
	switch op := b[p]; {
	case isZero(op):
		return zeroLen(op)
	case isVal(op):
		return valLen(op)
	default:
		return xzeroLen(b, p)
	}
}

// sparseSet updates a sparse HyperLogLog the way Redis does, in place where it
// can, so the resulting bytes are the ones Redis would produce.
func sparseSet(b []byte, index int, count uint8, sparseMax int) ([]byte, bool, error) {
	if count > sparseValMaxValue {
		return promote(b, index, count)
	}
	// Step 1: find the opcode covering index.
	end := len(b)
	p, first, span, prev := HdrSize, 0, 0, -1
	for p < end {
		span = opSpan(b, p)
		if index <= first+span-1 {
			break
		}
		prev = p
		p += opLen(b[p])
		first += span
	}
	if span == 0 || p >= end {
		return b, false, ErrCorrupt
	}
	op := b[p]
	runlen := span
	// Step 2: the cases that need no split.
	switch {
	case isVal(op):
		old := valValue(op)
		if old >= int(count) {
			return b, false, nil
		}
		if runlen == 1 {
			b[p] = valOp(int(count), 1)
			return sparseMerge(b, prev), true, nil
		}
	case isZero(op) && runlen == 1:
		b[p] = valOp(int(count), 1)
		return sparseMerge(b, prev), true, nil
	}
	// Step 3: split the opcode into at most three (XZERO VAL XZERO at worst).
	var seq [5]byte
	n := 0
	last := first + span - 1
	if !isVal(op) {
		zeros := func(l int) {
			if l > sparseZeroMaxLen {
				setXZero(seq[n:], l)
				n += 2
			} else {
				seq[n] = zeroOp(l)
				n++
			}
		}
		if index != first {
			zeros(index - first)
		}
		seq[n] = valOp(int(count), 1)
		n++
		if index != last {
			zeros(last - index)
		}
	} else {
		cur := valValue(op)
		if index != first {
			seq[n] = valOp(cur, index-first)
			n++
		}
		seq[n] = valOp(int(count), 1)
		n++
		if index != last {
			seq[n] = valOp(cur, last-index)
			n++
		}
	}
	oldLen := opLen(op)
	delta := n - oldLen
	if delta > 0 && len(b)+delta > sparseMax {
		return promote(b, index, count)
	}
	if delta > 0 {
		if cap(b)-len(b) < delta {
			nb := make([]byte, len(b), len(b)+max(delta, len(b)/4))
			copy(nb, b)
			b = nb
		}
		b = b[:len(b)+delta]
	}
	copy(b[p+n:], b[p+oldLen:end])
	b = b[:end+delta]
	copy(b[p:], seq[:n])
	return sparseMerge(b, prev), true, nil
}

// sparseMerge joins adjacent VAL opcodes with the same value, scanning at most
// five opcodes from the one before the update (Redis's step 4), and
// invalidates the cached cardinality.
func sparseMerge(b []byte, prev int) []byte {
	p := HdrSize
	if prev >= 0 {
		p = prev
	}
	end := len(b)
	for scan := 5; p < end && scan > 0; scan-- {
		op := b[p]
		if isXZero(op) {
			p += 2
			continue
		}
		if isZero(op) {
			p++
			continue
		}
		if p+1 < end && isVal(b[p+1]) {
			v1, v2 := valValue(op), valValue(b[p+1])
			if v1 == v2 {
				if l := valLen(op) + valLen(b[p+1]); l <= sparseValMaxLen {
					b[p+1] = valOp(v1, l)
					copy(b[p:], b[p+1:end])
					end--
					continue // try to merge the result with its right neighbour
				}
			}
		}
		p++
	}
	b = b[:end]
	Invalidate(b)
	return b
}

func promote(b []byte, index int, count uint8) ([]byte, bool, error) {
	d, err := ToDense(b)
	if err != nil {
		return b, false, err
	}
	return d, denseSet(d[HdrSize:], index, count), nil
}

// ToDense converts a sparse HyperLogLog to the dense encoding, keeping the
// header (and so the cached cardinality). A dense one is returned as is.
func ToDense(b []byte) ([]byte, error) {
	if b[4] == Dense {
		return b, nil
	}
	d := make([]byte, DenseSize)
	copy(d, b[:HdrSize])
	d[4] = Dense
	regs := d[HdrSize:]
	err := walkSparse(b, func(i, n, v int) bool {
		if v == 0 {
			return true
		}
		if i+n > Registers {
			return false
		}
		for j := i; j < i+n; j++ {
			denseStore(regs, j, uint8(v))
		}
		return true
	})
	if err != nil {
		return b, err
	}
	return d, nil
}

// walkSparse calls fn(first, n, value) for each opcode of a sparse value,
// stopping early when fn returns false. It returns ErrCorrupt if the opcodes
// do not cover exactly Registers registers.
func walkSparse(b []byte, fn func(first, n, value int) bool) error {
	idx := 0
	for p := HdrSize; p < len(b); {
		op := b[p]
		var n, v int
		switch {
		case isZero(op):
			n = zeroLen(op)
			p++
		case isXZero(op):
			n = xzeroLen(b, p)
			p += 2
		default:
			n, v = valLen(op), valValue(op)
			p++
		}
		if !fn(idx, n, v) {
			return ErrCorrupt
		}
		idx += n
	}
	if idx != Registers {
		return ErrCorrupt
	}
	return nil
}

// Merge raises each entry of regs (one byte per register) to the value of the
// same register in b (Redis's hllMerge).
func Merge(regs *[Registers]uint8, b []byte) error {
	if b[4] == Dense {
		r := b[HdrSize:]
		for i := range regs {
			if v := denseGet(r, i); v > regs[i] {
				regs[i] = v
			}
		}
		return nil
	}
	return walkSparse(b, func(i, n, v int) bool {
		if v == 0 {
			return true
		}
		if i+n > Registers {
			return false
		}
		for j := i; j < i+n; j++ {
			if uint8(v) > regs[j] {
				regs[j] = uint8(v)
			}
		}
		return true
	})
}

// Count estimates the cardinality of b from its registers (not the cache).
func Count(b []byte) (uint64, error) {
	var histo [64]int
	if b[4] == Dense {
		r := b[HdrSize:]
		for i := range Registers {
			histo[denseGet(r, i)]++
		}
		return estimate(&histo), nil
	}
	// Redis counts a sparse value whatever its register total, then rejects
	// it if the total is not 16384; VAL values are at most 32, so the
	// histogram cannot overflow.
	idx := 0
	for p := HdrSize; p < len(b); {
		op := b[p]
		switch {
		case isZero(op):
			n := zeroLen(op)
			histo[0] += n
			idx += n
			p++
		case isXZero(op):
			n := xzeroLen(b, p)
			histo[0] += n
			idx += n
			p += 2
		default:
			n := valLen(op)
			histo[valValue(op)] += n
			idx += n
			p++
		}
	}
	if idx != Registers {
		return 0, ErrCorrupt
	}
	return estimate(&histo), nil
}

// CountRegisters estimates the cardinality of a register array (the union of
// several HyperLogLogs built with Merge).
func CountRegisters(regs *[Registers]uint8) uint64 {
	var histo [64]int
	for _, v := range regs {
		histo[v&63]++
	}
	return estimate(&histo)
}

// estimate is Ertl's improved estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017), which Redis 7.0 uses. The
// explicit float64 conversions keep the compiler from fusing multiply-adds,
// so every step rounds as Redis's does.
func estimate(histo *[64]int) uint64 {
	const m = float64(Registers)
	z := m * tau((m-float64(histo[Q+1]))/m)
	for j := Q; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += float64(m * sigma(float64(histo[0])/m))
	e := float64(float64(alphaInf*m)*m) / z
	return uint64(math.Round(e))
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += float64(x * y)
		y += y
		if zp == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if zp == z {
			return z / 3
		}
	}
}

// DenseRegisters returns the value of every register of a dense HyperLogLog.
func DenseRegisters(b []byte) []uint8 {
	out := make([]uint8, Registers)
	r := b[HdrSize:]
	for i := range out {
		out[i] = denseGet(r, i)
	}
	return out
}

// Decode describes a sparse HyperLogLog's opcodes as PFDEBUG DECODE prints
// them: "z:LEN" for ZERO, "Z:LEN" for XZERO, "v:VALUE,LEN" for VAL.
func Decode(b []byte) string {
	var out []byte
	for p := HdrSize; p < len(b); {
		if len(out) > 0 {
			out = append(out, ' ')
		}
		switch op := b[p]; {
		case isZero(op):
			out = append(out, "z:"...)
			out = strconv.AppendInt(out, int64(zeroLen(op)), 10)
			p++
		case isXZero(op):
			out = append(out, "Z:"...)
			out = strconv.AppendInt(out, int64(xzeroLen(b, p)), 10)
			p += 2
		default:
			out = append(out, "v:"...)
			out = strconv.AppendInt(out, int64(valValue(op)), 10)
			out = append(out, ',')
			out = strconv.AppendInt(out, int64(valLen(op)), 10)
			p++
		}
	}
	return string(out)
}

// SelfTest checks the dense register packing against a plain array and the
// estimator's error on sets of known size in both encodings (PFSELFTEST).
func SelfTest() error {
	regs := make([]byte, DenseSize-HdrSize)
	want := make([]uint8, Registers)
	seed := uint64(0x9e3779b97f4a7c15)
	for i := range want {
		seed = seed*6364136223846793005 + 1442695040888963407
		want[i] = uint8(seed >> 58)
		denseStore(regs, i, want[i])
	}
	for i, v := range want {
		if got := denseGet(regs, i); got != v {
			return errors.New("TESTFAILED Register error at index " + strconv.Itoa(i))
		}
	}
	for _, sparseMax := range []int{3000, HdrSize} {
		b := New()
		var ele [8]byte
		for n := 1; n <= 100000; n++ {
			binary.LittleEndian.PutUint64(ele[:], uint64(n))
			var err error
			if b, _, err = Add(b, ele[:], sparseMax); err != nil {
				return errors.New("TESTFAILED corrupted HLL while adding")
			}
			if n%10000 != 0 {
				continue
			}
			est, err := Count(b)
			if err != nil {
				return errors.New("TESTFAILED corrupted HLL while counting")
			}
			// 1.04/sqrt(m) is the standard error; allow five of them.
			if rel := math.Abs(float64(est)-float64(n)) / float64(n); rel > 5*1.04/math.Sqrt(Registers) {
				return errors.New("TESTFAILED too big error. card:" + strconv.Itoa(n) + " card:" + strconv.FormatUint(est, 10))
			}
		}
	}
	return nil
}
