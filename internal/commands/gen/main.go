// Command gen regenerates the command table of package commands (table_*.go) from a live
// redis-server 7.0: it reads COMMAND INFO and COMMAND DOCS over RESP3 and writes Go struct
// literals, adding the flags Redis hides and our own summaries from summaries.txt.
//
// Usage, from internal/commands:  go run ./gen -addr 127.0.0.1:6379
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// value is a decoded RESP3 reply; maps keep their order as pairs.
type value struct {
	kind  byte // '+', '-', ':', '$', '*', '~', '%', '_'
	str   string
	num   int64
	elems []value // arrays and sets; maps as key, value, key, value...
}

func (v value) get(key string) (value, bool) {
	if v.kind != '%' {
		return value{}, false
	}
	for i := 0; i+1 < len(v.elems); i += 2 {
		if v.elems[i].str == key {
			return v.elems[i+1], true
		}
	}
	return value{}, false
}

func read(r *bufio.Reader) (value, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return value{}, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return value{}, fmt.Errorf("bad line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-':
		return value{kind: kind, str: body}, nil
	case '_':
		return value{kind: kind}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		return value{kind: kind, num: n}, err
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return value{kind: '_'}, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return value{}, err
		}
		return value{kind: kind, str: string(buf[:n])}, nil
	case '*', '~', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return value{}, err
		}
		if kind == '%' {
			n *= 2
		}
		v := value{kind: kind}
		for i := 0; i < n; i++ {
			e, err := read(r)
			if err != nil {
				return value{}, err
			}
			v.elems = append(v.elems, e)
		}
		return v, nil
	}
	return value{}, fmt.Errorf("unexpected reply type %q", kind)
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

func (c *conn) do(args ...string) (value, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write(b.Bytes()); err != nil {
		return value{}, err
	}
	v, err := read(c.r)
	if err == nil && v.kind == '-' {
		err = errors.New(v.str)
	}
	return v, err
}

// Facts Redis keeps out of COMMAND INFO.
var hidden = map[string][]string{
	"eval":          {"FlagMayReplicate"},
	"evalsha":       {"FlagMayReplicate"},
	"fcall":         {"FlagMayReplicate"},
	"publish":       {"FlagMayReplicate"},
	"spublish":      {"FlagMayReplicate"},
	"pfcount":       {"FlagMayReplicate"},
	"script|flush":  {"FlagMayReplicate"},
	"script|load":   {"FlagMayReplicate"},
	"debug":         {"FlagProtected"},
	"module|load":   {"FlagProtected"},
	"module|loadex": {"FlagProtected"},
	"module|unload": {"FlagProtected"},
}

var flagIdents = map[string]string{
	"write": "FlagWrite", "readonly": "FlagReadOnly", "denyoom": "FlagDenyOOM", "module": "FlagModule",
	"admin": "FlagAdmin", "pubsub": "FlagPubSub", "noscript": "FlagNoScript", "blocking": "FlagBlocking",
	"loading": "FlagLoading", "stale": "FlagStale", "skip_monitor": "FlagSkipMonitor",
	"skip_slowlog": "FlagSkipSlowlog", "asking": "FlagAsking", "fast": "FlagFast", "no_auth": "FlagNoAuth",
	"no_mandatory_keys": "FlagNoMandatoryKeys", "no_async_loading": "FlagNoAsyncLoading",
	"no_multi": "FlagNoMulti", "allow_busy": "FlagAllowBusy",
	"movablekeys": "", // derived by the package from the key specs
}

var catIdents = map[string]string{
	"keyspace": "CatKeyspace", "read": "CatRead", "write": "CatWrite", "set": "CatSet",
	"sortedset": "CatSortedSet", "list": "CatList", "hash": "CatHash", "string": "CatString",
	"bitmap": "CatBitmap", "hyperloglog": "CatHyperLogLog", "geo": "CatGeo", "stream": "CatStream",
	"pubsub": "CatPubSub", "admin": "CatAdmin", "fast": "CatFast", "slow": "CatSlow",
	"blocking": "CatBlocking", "dangerous": "CatDangerous", "connection": "CatConnection",
	"transaction": "CatTransaction", "scripting": "CatScripting",
}

var keyFlagIdents = map[string]string{
	"RO": "KeyRO", "RW": "KeyRW", "OW": "KeyOW", "RM": "KeyRM", "access": "KeyAccess",
	"update": "KeyUpdate", "insert": "KeyInsert", "delete": "KeyDelete", "not_key": "KeyNotKey",
	"incomplete": "KeyIncomplete", "variable_flags": "KeyVariableFlags",
}

func idents(names []value, m map[string]string, prefix string) (string, error) {
	var out []string
	for _, n := range names {
		name := strings.TrimPrefix(n.str, prefix)
		id, ok := m[name]
		if !ok {
			return "", fmt.Errorf("unknown name %q", n.str)
		}
		if id != "" {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return "0", nil
	}
	return strings.Join(out, " | "), nil
}

type emitter struct {
	b         bytes.Buffer
	docs      map[string]value // full name -> docs map
	summaries map[string]string
	missing   []string
}

func (e *emitter) str(s string) string { return strconv.Quote(s) }

func (e *emitter) spec(info value, indent string) error {
	if info.kind != '*' || len(info.elems) != 10 {
		return fmt.Errorf("unexpected COMMAND INFO entry")
	}
	el := info.elems
	name := el[0].str
	doc := e.docs[name]
	fmt.Fprintf(&e.b, "%s{\n", indent)
	in := indent + "\t"
	fmt.Fprintf(&e.b, "%sName: %s, Arity: %d,\n", in, e.str(name), el[1].num)
	flags, err := idents(el[2].elems, flagIdents, "")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, h := range hidden[name] {
		if flags == "0" {
			flags = h
		} else {
			flags += " | " + h
		}
	}
	if flags != "0" {
		fmt.Fprintf(&e.b, "%sFlags: %s,\n", in, flags)
	}
	cats, err := idents(el[6].elems, catIdents, "@")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cats != "0" {
		fmt.Fprintf(&e.b, "%sACL: %s,\n", in, cats)
	}
	if len(el[7].elems) > 0 {
		var tips []string
		for _, t := range el[7].elems {
			tips = append(tips, e.str(t.str))
		}
		fmt.Fprintf(&e.b, "%sTips: []string{%s},\n", in, strings.Join(tips, ", "))
	}
	for _, field := range []struct{ key, field string }{{"group", "Group"}, {"since", "Since"}, {"complexity", "Complexity"}} {
		if v, ok := doc.get(field.key); ok {
			fmt.Fprintf(&e.b, "%s%s: %s,\n", in, field.field, e.str(v.str))
		}
	}
	if s, ok := e.summaries[name]; ok {
		fmt.Fprintf(&e.b, "%sSummary: %s,\n", in, e.str(s))
	} else {
		e.missing = append(e.missing, name)
	}
	if v, ok := doc.get("doc_flags"); ok {
		var fl []string
		for _, f := range v.elems {
			switch f.str {
			case "deprecated":
				fl = append(fl, "DocDeprecated")
			case "syscmd":
				fl = append(fl, "DocSyscmd")
			default:
				return fmt.Errorf("%s: unknown doc flag %q", name, f.str)
			}
		}
		fmt.Fprintf(&e.b, "%sDocFlags: %s,\n", in, strings.Join(fl, " | "))
	}
	if v, ok := doc.get("deprecated_since"); ok {
		fmt.Fprintf(&e.b, "%sDeprecatedSince: %s,\n", in, e.str(v.str))
	}
	if v, ok := doc.get("replaced_by"); ok {
		fmt.Fprintf(&e.b, "%sReplacedBy: %s,\n", in, e.str(v.str))
	}
	if len(el[8].elems) > 0 {
		fmt.Fprintf(&e.b, "%sKeySpecs: []KeySpec{\n", in)
		for _, ks := range el[8].elems {
			line, err := keySpec(ks)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(&e.b, "%s\t%s,\n", in, line)
		}
		fmt.Fprintf(&e.b, "%s},\n", in)
	}
	if len(el[9].elems) > 0 {
		subs := append([]value(nil), el[9].elems...)
		sort.Slice(subs, func(i, j int) bool { return subs[i].elems[0].str < subs[j].elems[0].str })
		fmt.Fprintf(&e.b, "%sSubcommands: []*Spec{\n", in)
		for _, sub := range subs {
			if err := e.spec(sub, in+"\t"); err != nil {
				return err
			}
		}
		fmt.Fprintf(&e.b, "%s},\n", in)
	}
	fmt.Fprintf(&e.b, "%s},\n", indent)
	return nil
}

func keySpec(ks value) (string, error) {
	var parts []string
	if v, ok := ks.get("notes"); ok {
		parts = append(parts, "Notes: "+strconv.Quote(v.str))
	}
	fv, _ := ks.get("flags")
	fl, err := idents(fv.elems, keyFlagIdents, "")
	if err != nil {
		return "", err
	}
	parts = append(parts, "Flags: "+fl)
	bs, _ := ks.get("begin_search")
	bt, _ := bs.get("type")
	bspec, _ := bs.get("spec")
	switch bt.str {
	case "index":
		p, _ := bspec.get("index")
		parts = append(parts, fmt.Sprintf("BS: Index(%d)", p.num))
	case "keyword":
		kw, _ := bspec.get("keyword")
		sf, _ := bspec.get("startfrom")
		parts = append(parts, fmt.Sprintf("BS: Keyword(%q, %d)", kw.str, sf.num))
	case "unknown":
	default:
		return "", fmt.Errorf("unknown begin_search %q", bt.str)
	}
	fk, _ := ks.get("find_keys")
	ft, _ := fk.get("type")
	fspec, _ := fk.get("spec")
	switch ft.str {
	case "range":
		l, _ := fspec.get("lastkey")
		s, _ := fspec.get("keystep")
		m, _ := fspec.get("limit")
		parts = append(parts, fmt.Sprintf("FK: Range(%d, %d, %d)", l.num, s.num, m.num))
	case "keynum":
		i, _ := fspec.get("keynumidx")
		f, _ := fspec.get("firstkey")
		s, _ := fspec.get("keystep")
		parts = append(parts, fmt.Sprintf("FK: KeyNum(%d, %d, %d)", i.num, f.num, s.num))
	case "unknown":
	default:
		return "", fmt.Errorf("unknown find_keys %q", ft.str)
	}
	return "{" + strings.Join(parts, ", ") + "}", nil
}

func loadSummaries(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, text, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want name<TAB>summary", path, i+1)
		}
		m[name] = strings.TrimSpace(text)
	}
	return m, nil
}

func goName(group string) string {
	var b strings.Builder
	for _, part := range strings.Split(group, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return "table" + b.String()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "redis-server 7.0 to read")
	out := flag.String("out", ".", "directory of package commands")
	flag.Parse()
	log.SetFlags(0)

	nc, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 1<<20)}
	if _, err := c.do("HELLO", "3"); err != nil {
		log.Fatal(err)
	}
	infos, err := c.do("COMMAND", "INFO")
	if err != nil {
		log.Fatal(err)
	}
	docsReply, err := c.do("COMMAND", "DOCS")
	if err != nil {
		log.Fatal(err)
	}
	nc.Close()

	docs := map[string]value{}
	var addDocs func(m value)
	addDocs = func(m value) {
		for i := 0; i+1 < len(m.elems); i += 2 {
			docs[m.elems[i].str] = m.elems[i+1]
			if subs, ok := m.elems[i+1].get("subcommands"); ok {
				addDocs(subs)
			}
		}
	}
	addDocs(docsReply)

	summaries, err := loadSummaries(filepath.Join(*out, "gen", "summaries.txt"))
	if err != nil {
		log.Fatal(err)
	}

	byGroup := map[string][]value{}
	for _, info := range infos.elems {
		name := info.elems[0].str
		g, ok := docs[name].get("group")
		if !ok {
			log.Fatalf("%s: no group in COMMAND DOCS", name)
		}
		byGroup[g.str] = append(byGroup[g.str], info)
	}
	var groups []string
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)

	var missing []string
	var vars []string
	for _, g := range groups {
		list := byGroup[g]
		sort.Slice(list, func(i, j int) bool { return list[i].elems[0].str < list[j].elems[0].str })
		e := &emitter{docs: docs, summaries: summaries}
		fmt.Fprintf(&e.b, "// Code generated by go run ./gen from redis-server 7.0 COMMAND INFO and COMMAND DOCS; DO NOT EDIT.\n\n")
		fmt.Fprintf(&e.b, "package commands\n\n")
		fmt.Fprintf(&e.b, "// %s holds the commands of the %q group.\n", goName(g), g)
		fmt.Fprintf(&e.b, "var %s = []*Spec{\n", goName(g))
		for _, info := range list {
			if err := e.spec(info, "\t"); err != nil {
				log.Fatal(err)
			}
		}
		fmt.Fprintf(&e.b, "}\n")
		missing = append(missing, e.missing...)
		write(filepath.Join(*out, "table_"+strings.ReplaceAll(g, "-", "")+".go"), e.b.Bytes())
		vars = append(vars, goName(g))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./gen from redis-server 7.0 COMMAND INFO and COMMAND DOCS; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package commands\n\n")
	fmt.Fprintf(&b, "// table lists the command groups; each group is sorted by name.\n")
	fmt.Fprintf(&b, "var table = [][]*Spec{\n\t%s,\n}\n", strings.Join(vars, ",\n\t"))
	write(filepath.Join(*out, "table_gen.go"), b.Bytes())
	if len(missing) > 0 {
		log.Printf("%d commands have no summary in gen/summaries.txt:\n%s", len(missing), strings.Join(missing, "\n"))
		os.Exit(1)
	}
}

func write(path string, src []byte) {
	formatted, err := format.Source(src)
	if err != nil {
		log.Fatalf("%s: %v\n%s", path, err, src)
	}
	if err := os.WriteFile(path, formatted, 0o644); err != nil {
		log.Fatal(err)
	}
}
