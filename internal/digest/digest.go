// Package digest computes Redis 7.0's DEBUG DIGEST and DEBUG DIGEST-VALUE
// checksums from data the caller iterates, so that sard and a real Redis holding
// the same dataset print the same 40 hex characters.
//
// The scheme, as Redis defines it, is built from two operations on a 20-byte
// SHA-1 state d:
//
//	xor(d, b): d ^= SHA1(b)            order-independent, for set-like contents
//	mix(d, b): d = SHA1(d ^ SHA1(b))   order-dependent, for sequences
//
// One key's digest starts from zero, mixes the key name (DEBUG DIGEST only, not
// DIGEST-VALUE), mixes the value's type code as a 4-byte big-endian integer, then
// the contents (see the builders in value.go), and finally xors the string
// "!!expire!!" if the key has any expiry: the expiry time itself is not part of
// it. A dataset digest starts from zero and, for every non-empty database in
// ascending id order, mixes the id as a 4-byte big-endian integer and then
// applies xor with every key digest of that database (so the 20-byte key
// digest is hashed once more; the same goes for hash and sorted set element
// digests). An empty dataset, and a missing key in DIGEST-VALUE, give twenty
// zero bytes.
package digest

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// Digest is a 20-byte SHA-1 state; Redis prints it as 40 lowercase hex digits.
type Digest [20]byte

// Hex returns the digest as Redis prints it.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// String implements fmt.Stringer with the same text as Hex.
func (d Digest) String() string { return d.Hex() }

// IsZero reports whether d is all zeros, Redis's digest of nothing.
func (d Digest) IsZero() bool { return d == Digest{} }

// NoExpire is the expireAtMs value meaning "this key has no expiry", as Redis's
// getExpire reports it.
const NoExpire int64 = -1

// Type codes Redis mixes into every key digest (its OBJ_* constants).
const (
	typeString = 0
	typeList   = 1
	typeSet    = 2
	typeZSet   = 3
	typeHash   = 4
	typeStream = 6
)

var (
	// typeHashes[t] is SHA1 of the big-endian type code, computed once because
	// every key mixes one.
	typeHashes [7]Digest
	// expireHash is what any key with an expiry xors in, whatever the time.
	expireHash = Digest(sha1.Sum([]byte("!!expire!!")))
)

func init() {
	for t := range typeHashes {
		typeHashes[t] = hashUint32(uint32(t))
	}
}

func hashUint32(v uint32) Digest {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return sha1.Sum(b[:])
}

// xorDigest folds an already computed hash into d.
func xorDigest(d *Digest, h *Digest) {
	for i := range d {
		d[i] ^= h[i]
	}
}

// xorBytes is Redis's xorDigest: d ^= SHA1(b).
func xorBytes(d *Digest, b []byte) {
	h := Digest(sha1.Sum(b))
	xorDigest(d, &h)
}

// mixHash is Redis's mixDigest with SHA1(b) already computed as h.
func mixHash(d *Digest, h *Digest) {
	xorDigest(d, h)
	*d = sha1.Sum(d[:])
}

// mixBytes is Redis's mixDigest: d = SHA1(d ^ SHA1(b)).
func mixBytes(d *Digest, b []byte) {
	h := Digest(sha1.Sum(b))
	mixHash(d, &h)
}

// Dataset accumulates DEBUG DIGEST over a whole keyspace. Keys may be added in
// any order and from several Datasets merged later; the zero value is empty and
// ready to use. It is not safe for concurrent use: give each goroutine its own
// and Merge them.
type Dataset struct {
	dbs    map[int]*dbSum
	lastID int
	last   *dbSum
}

type dbSum struct {
	keys uint64 // a database counts once it has a key, even if the xor is zero
	sum  Digest
}

func (ds *Dataset) db(id int) *dbSum {
	if ds.last != nil && ds.lastID == id {
		return ds.last
	}
	s := ds.dbs[id]
	if s == nil {
		if ds.dbs == nil {
			ds.dbs = make(map[int]*dbSum)
		}
		s = &dbSum{}
		ds.dbs[id] = s
	}
	ds.lastID, ds.last = id, s
	return s
}

// Add records one key of database db. key must be a digest started with ForKey
// (the key name included); a ForValue digest would give a different total.
func (ds *Dataset) Add(db int, key Digest) {
	s := ds.db(db)
	s.keys++
	xorBytes(&s.sum, key[:])
}

// Merge adds every key recorded in o to ds, as if they had been added to ds.
func (ds *Dataset) Merge(o *Dataset) {
	for id, os := range o.dbs {
		if os.keys == 0 {
			continue
		}
		s := ds.db(id)
		s.keys += os.keys
		xorDigest(&s.sum, &os.sum)
	}
}

// Keys returns how many keys have been added.
func (ds *Dataset) Keys() uint64 {
	var n uint64
	for _, s := range ds.dbs {
		n += s.keys
	}
	return n
}

// Sum returns the DEBUG DIGEST of everything added so far.
func (ds *Dataset) Sum() Digest {
	ids := make([]int, 0, len(ds.dbs))
	for id, s := range ds.dbs {
		if s.keys > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var final Digest
	for _, id := range ids {
		// Redis mixes each db id into the running total before xoring that
		// db's keys, so the same keys in another database digest differently.
		h := hashUint32(uint32(id))
		mixHash(&final, &h)
		xorDigest(&final, &ds.dbs[id].sum)
	}
	return final
}
