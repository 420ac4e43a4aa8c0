package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// memResult is what memory mode measures on one server.
type memResult struct {
	rssStart, rssLoaded, rssSettled int64
	items                           int64
	usedMemory                      int64 // INFO used_memory, -1 if unavailable
}

func (r memResult) perItem(rss int64) float64 {
	if r.items <= 0 {
		return 0
	}
	return float64(rss-r.rssStart) / float64(r.items)
}

// memLoadArgs builds the redis-benchmark line that fills a server.
func memLoadArgs(cfg *config, port int) []string {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", strconv.Itoa(cfg.run.Clients),
		"-n", strconv.Itoa(cfg.memN), "-P", "16", "-r", strconv.Itoa(cfg.memR), "--csv"}
	args = append(args, cfg.run.Extra...)
	if cfg.memCmd != nil {
		return append(args, cfg.memCmd...)
	}
	return append(args, "-d", "16", "-t", "set")
}

// runMem is the memory mode: each server in turn, fresh, is filled with the
// same load and measured.
func runMem(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	if err := checkTools(cfg); err != nil {
		return err
	}
	sides := cfg.sides()
	defer func() {
		for _, s := range sides {
			if s.srv != nil {
				s.srv.stop()
			}
		}
	}()
	start := time.Now()
	var res [2]memResult
	var m meta
	for i, s := range sides {
		srv, err := startServer(s.name, s.bin, s.args)
		if err != nil {
			return err
		}
		s.srv = srv
		fmt.Fprintf(stderr, "started %s: %s (pid %d, port %d)\n", s.name, srv.bin, srv.pid(), srv.port)
		if i == 0 {
			m = collectMeta(cfg, sides[:1])
		} else {
			m2 := collectMeta(cfg, sides[1:])
			m.redisVersion, m.redisBin = m2.redisVersion, m2.redisBin
		}
		r, err := measureMem(ctx, cfg, srv, stderr)
		if err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		res[i] = r
		srv.stop()
		s.srv = nil
	}
	m.elapsed = time.Since(start)
	load := cfg.benchBin + " " + shellJoin(memLoadArgs(cfg, 0))
	load = strings.Replace(load, "-p 0 ", "-p PORT ", 1)
	writeMem(stdout, cfg, m, load, res)
	return nil
}

func measureMem(ctx context.Context, cfg *config, srv *server, stderr io.Writer) (memResult, error) {
	r := memResult{usedMemory: -1}
	var err error
	if r.rssStart, err = srv.rssBytes(); err != nil {
		return r, err
	}
	t0 := time.Now()
	if _, err := runBenchmark(ctx, cfg.benchBin, memLoadArgs(cfg, srv.port), cfg.run.Timeout); err != nil {
		if !srv.alive() {
			return r, srv.deadErr()
		}
		return r, err
	}
	fmt.Fprintf(stderr, "%s: loaded in %v\n", srv.name, time.Since(t0).Round(time.Millisecond))
	if err := sleepCtx(ctx, time.Second); err != nil {
		return r, err
	}
	reply, err := srv.do(30*time.Second, cfg.memCount...)
	if err != nil {
		return r, fmt.Errorf("%s: %v", strings.Join(cfg.memCount, " "), err)
	}
	if r.items, err = strconv.ParseInt(reply, 10, 64); err != nil {
		return r, fmt.Errorf("%s replied %q, not an integer", strings.Join(cfg.memCount, " "), reply)
	}
	if r.rssLoaded, err = srv.rssBytes(); err != nil {
		return r, err
	}
	if err := sleepCtx(ctx, cfg.memSettle); err != nil {
		return r, err
	}
	if r.rssSettled, err = srv.rssBytes(); err != nil {
		return r, err
	}
	if info, err := srv.do(10*time.Second, "INFO", "memory"); err == nil {
		if v, err := strconv.ParseInt(infoField(info, "used_memory"), 10, 64); err == nil {
			r.usedMemory = v
		}
	}
	fmt.Fprintf(stderr, "%s: %d items, RSS %s -> %s -> %s\n", srv.name, r.items,
		fmtMiB(r.rssStart), fmtMiB(r.rssLoaded), fmtMiB(r.rssSettled))
	return r, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func fmtMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ratioCell(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmtRatio(a / b)
}

func writeMem(w io.Writer, cfg *config, m meta, load string, res [2]memResult) {
	settle := cfg.memSettle.String()
	type line struct {
		label string
		a, b  string
		ratio string
	}
	used := func(r memResult) string {
		if r.usedMemory < 0 {
			return "n/a"
		}
		return fmtMiB(r.usedMemory)
	}
	usedRatio := "n/a"
	if res[0].usedMemory > 0 && res[1].usedMemory > 0 {
		usedRatio = ratioCell(float64(res[0].usedMemory), float64(res[1].usedMemory))
	}
	lines := []line{
		{"RSS at start", fmtMiB(res[0].rssStart), fmtMiB(res[1].rssStart), ratioCell(float64(res[0].rssStart), float64(res[1].rssStart))},
		{"RSS 1s after load", fmtMiB(res[0].rssLoaded), fmtMiB(res[1].rssLoaded), ratioCell(float64(res[0].rssLoaded), float64(res[1].rssLoaded))},
		{"RSS after another " + settle, fmtMiB(res[0].rssSettled), fmtMiB(res[1].rssSettled), ratioCell(float64(res[0].rssSettled), float64(res[1].rssSettled))},
		{"RSS delta (settled)", fmtMiB(res[0].rssSettled - res[0].rssStart), fmtMiB(res[1].rssSettled - res[1].rssStart),
			ratioCell(float64(res[0].rssSettled-res[0].rssStart), float64(res[1].rssSettled-res[1].rssStart))},
		{strings.Join(cfg.memCount, " "), strconv.FormatInt(res[0].items, 10), strconv.FormatInt(res[1].items, 10), ""},
		{"bytes/item (1s)", fmt.Sprintf("%.1f", res[0].perItem(res[0].rssLoaded)), fmt.Sprintf("%.1f", res[1].perItem(res[1].rssLoaded)),
			ratioCell(res[0].perItem(res[0].rssLoaded), res[1].perItem(res[1].rssLoaded))},
		{"bytes/item (settled)", fmt.Sprintf("%.1f", res[0].perItem(res[0].rssSettled)), fmt.Sprintf("%.1f", res[1].perItem(res[1].rssSettled)),
			ratioCell(res[0].perItem(res[0].rssSettled), res[1].perItem(res[1].rssSettled))},
		{"INFO used_memory", used(res[0]), used(res[1]), usedRatio},
	}
	if cfg.markdown {
		fmt.Fprintf(w, "### Memory, sard vs redis-server, %s\n\n", m.date.Format("2006-01-02 15:04 MST"))
		fmt.Fprintf(w, "- Command: `%s`\n", m.commandLine)
		fmt.Fprintf(w, "- Load: `%s` (each server fresh, one at a time)\n", load)
		fmt.Fprintf(w, "- Machine: %s, nproc %d, load average %s before; harness built with %s\n", m.cpu, m.nproc, m.loadBefore, m.goVersion)
		fmt.Fprintf(w, "- sard: `%s` (%s); redis: `%s` (%s)\n\n", m.sardBin, m.sardVersion, m.redisBin, m.redisVersion)
		fmt.Fprintln(w, "| | sard | redis | sard/redis |")
		fmt.Fprintln(w, "|---|--:|--:|--:|")
		for _, l := range lines {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", l.label, l.a, l.b, l.ratio)
		}
		return
	}
	fmt.Fprintf(w, "\nsard : %s (%s)\nredis: %s (%s)\nload : %s\n%s; nproc %d; took %v\n\n",
		m.sardBin, m.sardVersion, m.redisBin, m.redisVersion, load, m.cpu, m.nproc, m.elapsed.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tsard\tredis\tsard/redis\t")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", l.label, l.a, l.b, l.ratio)
	}
	tw.Flush()
}
