package keyspace

import "testing"

// TestEntriesForSnapshots checks what a snapshot relies on: indexes stay with their key
// across Rename, deleted indexes read as free and are reused, and the insert hook sees
// every new entry, reused or not, but not overwrites.
func TestEntriesForSnapshots(t *testing.T) {
	db := New(Options{})
	var created []Ref
	db.SetInsertHook(func(r Ref) { created = append(created, r) })
	a, _ := db.SetString([]byte("a"), 0, []byte("1"), 0, false)
	b, _ := db.SetString([]byte("b"), 0, []byte("2"), 0, false)
	db.SetString([]byte("a"), 0, []byte("3"), 0, false) // overwrite: no new entry
	if len(created) != 2 || db.EntryCount() != 2 {
		t.Fatalf("created %v, entry count %d", created, db.EntryCount())
	}
	if r := db.Rename(a, []byte("c"), 0); r != a {
		t.Fatalf("rename moved the entry: %d -> %d", a, r)
	}
	if r, ok := db.RefAt(uint32(a)); !ok || string(db.Key(r)) != "c" {
		t.Fatalf("RefAt after rename: %d %v", r, ok)
	}
	db.DeleteRef(b)
	if _, ok := db.RefAt(uint32(b)); ok {
		t.Fatal("deleted entry still live")
	}
	d, _ := db.SetString([]byte("d"), 0, []byte("4"), 0, false)
	if d != b || len(created) != 3 || created[2] != d {
		t.Fatalf("reuse: new entry %d, hook saw %v", d, created)
	}
	if _, ok := db.RefAt(db.EntryCount()); ok {
		t.Fatal("RefAt past the end")
	}
	db.SetInsertHook(nil)
	db.SetString([]byte("e"), 0, nil, 0, false)
	if len(created) != 3 {
		t.Fatal("hook called after removal")
	}
}
