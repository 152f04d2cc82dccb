package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/emersion/go-imap/v2"
	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

const (
	benchUser = "alice"
	benchPass = "bench-secret-1"

	// toolTimeout bounds one run of one tool. The longest, Ferry copying
	// 100,000 messages, takes about half an hour, nearly all of it spent by
	// the destination Dovecot (see docs/benchmarks.md).
	toolTimeout = 60 * time.Minute
	// loadTimeout bounds loading a corpus into the source.
	loadTimeout = 15 * time.Minute

	mbsyncBin = "/usr/bin/mbsync"
)

func benchUsers() []testimap.User {
	return []testimap.User{{Name: benchUser, Password: benchPass}}
}

// startDovecot starts an empty fs-layout Dovecot with the benchmark user.
func startDovecot(tb testing.TB) *testimap.Dovecot {
	tb.Helper()
	return testimap.StartDovecot(tb, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: benchUsers()})
}

// endpoint is where a tool reaches an IMAP server: the server itself or a
// latency proxy in front of it.
type endpoint struct {
	Host string
	Port int
}

func (e endpoint) addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

func direct(d *testimap.Dovecot) endpoint { return endpoint{Host: d.Host, Port: d.Port} }

// result is one run of one tool.
type result struct {
	tool   string
	wall   time.Duration
	maxRSS int64         // peak resident set size in KiB (getrusage ru_maxrss)
	cpu    time.Duration // user + system CPU time of the process
	srcCPU time.Duration // CPU time the source Dovecot used during the run
	dstCPU time.Duration // CPU time the destination Dovecot used during the run
	// srcLogins, dstLogins: IMAP logins each Dovecot logged during the run
	// (withServerCPU)
	srcLogins, dstLogins int
	exact                string // how the copy differs from the source (Snapshot.Diff), "" if exact
}

func (r result) rssMB() float64 { return float64(r.maxRSS) / 1024 }

// bins are the programs the benchmarks build: Ferry, and peakrss, through
// which every measured tool runs.
type bins struct {
	ferry, peakrss string
	// baseline is Ferry built from FERRY_BENCH_BASELINE (a commit), run
	// beside ferry where a benchmark supports it: before and after in
	// the same run; "" when not asked for.
	baseline, baselineRev string
}

// buildBins builds cmd/ferry and bench/internal/peakrss with `go build -o`
// into the benchmark's temporary directory.
func buildBins(tb testing.TB) bins {
	tb.Helper()
	dir := tb.TempDir()
	// go test puts $GOROOT/bin first in PATH: this is the toolchain that
	// builds the benchmark itself.
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/ferryhq/ferry/cmd/ferry", "github.com/ferryhq/ferry/bench/internal/peakrss").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build ./cmd/ferry ./bench/internal/peakrss: %v\n%s", err, out)
	}
	fmt.Printf("%s: ferry built from %s\n", tb.Name(), sourceVersion())
	bs := bins{ferry: filepath.Join(dir, "ferry"), peakrss: filepath.Join(dir, "peakrss")}
	if rev := os.Getenv("FERRY_BENCH_BASELINE"); rev != "" {
		bs.baseline, bs.baselineRev = buildBaseline(tb, rev), rev
	}
	return bs
}

// buildBaseline builds cmd/ferry as of commit rev (git archive into a
// temporary directory), for a before/after comparison in one run.
func buildBaseline(tb testing.TB, rev string) string {
	tb.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		tb.Fatalf("FERRY_BENCH_BASELINE needs git: %v", err)
	}
	dir := tb.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o700); err != nil {
		tb.Fatal(err)
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", strings.TrimSpace(string(top)), rev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		tb.Fatalf("FERRY_BENCH_BASELINE=%s: git archive: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(dir, "ferry-baseline")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("FERRY_BENCH_BASELINE=%s: go build: %v\n%s", rev, err, out)
	}
	fmt.Printf("%s: baseline ferry built from commit %s\n", tb.Name(), rev)
	return bin
}

// sourceVersion names the commit the benchmark runs on and the files of
// Ferry's own code that differ from it ("unknown" without git).
func sourceVersion() string {
	head, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown revision (no git)"
	}
	v := "commit " + strings.TrimSpace(string(head))
	st, err := exec.Command("git", "status", "--porcelain", "--", "../cmd", "../internal", "../go.mod").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		var files []string
		for _, l := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
			if len(l) > 3 {
				files = append(files, l[3:])
			}
		}
		v += " + uncommitted changes to " + strings.Join(files, ", ")
	}
	return v
}

// run runs bin with args (in dir, if set) under peakrss, bounded by
// toolTimeout, and measures its wall time, peak RSS and CPU time. It fails
// the benchmark with the tool's output when the tool fails.
func (bs bins) run(tb testing.TB, tool, bin string, args []string, dir string) (result, []byte) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	usageFile := filepath.Join(tb.TempDir(), "usage.json")
	cmd := exec.CommandContext(ctx, bs.peakrss, append([]string{usageFile, bin}, args...)...)
	cmd.Dir = dir
	// On timeout, kill peakrss and the tool (its own process group).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", tool, err)
	}
	// Watch the tool while it runs: its peak RSS so far (in case it is
	// killed before peakrss can report), and a progress line every minute
	// for long runs.
	stop := make(chan struct{})
	watched := make(chan int64, 1)
	go func() {
		var hwm int64
		defer func() { watched <- hwm }()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := start
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if pid := childOf(cmd.Process.Pid); pid > 0 {
				hwm = max(hwm, vmHWM(pid))
			}
			if time.Since(last) >= time.Minute {
				last = time.Now()
				fmt.Printf("%s: %s running for %v, peak RSS so far %.1f MB\n", tb.Name(), tool, time.Since(start).Round(time.Second), float64(hwm)/1024)
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(stop)
	hwm := <-watched
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %v)", err, toolTimeout)
		}
		tb.Fatalf("%s failed after %v (peak RSS seen: %.1f MB): %v\n--- command ---\n%s %s\n--- stdout ---\n%s\n--- stderr ---\n%s",
			tool, wall.Round(time.Millisecond), float64(hwm)/1024, err, bin, strings.Join(redact(args), " "), tail(stdout.String(), 4000), tail(stderr.String(), 8000))
	}
	var u struct {
		MaxRSSKiB int64   `json:"maxrss_kib"`
		UserSec   float64 `json:"user_s"`
		SysSec    float64 `json:"sys_s"`
	}
	data, err := os.ReadFile(usageFile)
	if err == nil {
		err = json.Unmarshal(data, &u)
	}
	if err != nil {
		tb.Fatalf("%s: reading its resource usage: %v", tool, err)
	}
	return result{tool: tool, wall: wall, maxRSS: u.MaxRSSKiB, cpu: time.Duration((u.UserSec + u.SysSec) * float64(time.Second))}, stdout.Bytes()
}

// childOf returns the pid of a child of process pid (peakrss has exactly
// one: the tool), or 0.
func childOf(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		if f := strings.Fields(string(data)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	return 0
}

// vmHWM returns the peak RSS in KiB of process pid's address space so far
// (VmHWM in /proc/PID/status), or 0.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// rssFloor is the peak RSS peakrss reports for /bin/true: the lowest figure
// it can report (its own size).
func (bs bins) rssFloor(tb testing.TB) float64 {
	r, _ := bs.run(tb, "true", "/bin/true", nil, "")
	return r.rssMB()
}

func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if k, _, ok := strings.Cut(a, "="); ok && strings.HasSuffix(k, "password") {
			out[i] = k + "=***"
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// runFerry copies the benchmark user's mailbox with `ferry migrate` (a
// fresh state file, the full pass) and checks that its JSON summary reports
// want messages copied and none failed.
func (bs bins) runFerry(tb testing.TB, src, dst endpoint, connections, want int) result {
	tb.Helper()
	dir := tb.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(benchPass+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	args := []string{"migrate",
		"--from", fmt.Sprintf("imap://%s@%s", benchUser, src.addr()),
		"--to", fmt.Sprintf("imap://%s@%s", benchUser, dst.addr()),
		"--from-password-file", pw, "--to-password-file", pw,
		"--allow-plaintext",
		"--state", filepath.Join(dir, "state.db"),
		"--connections", strconv.Itoa(connections),
		"--json",
	}
	r, stdout := bs.run(tb, "ferry", bs.ferry, args, dir)
	var sum struct {
		Mailboxes []struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Copied int64  `json:"copied"`
			Failed int64  `json:"failed"`
		} `json:"mailboxes"`
	}
	if err := json.Unmarshal(stdout, &sum); err != nil {
		tb.Fatalf("ferry: cannot parse its JSON summary: %v\n%s", err, tail(string(stdout), 4000))
	}
	if len(sum.Mailboxes) != 1 {
		tb.Fatalf("ferry: summary has %d mailboxes, want 1:\n%s", len(sum.Mailboxes), stdout)
	}
	if m := sum.Mailboxes[0]; m.Error != "" || m.Failed != 0 || m.Copied != int64(want) {
		tb.Fatalf("ferry: status %s, copied %d of %d, failed %d, error %q:\n%s", m.Status, m.Copied, want, m.Failed, m.Error, tail(string(stdout), 4000))
	}
	return r
}

// mbsyncConfig is an mbsyncrc pulling everything from the far store to the
// near one, with mbsync's defaults otherwise.
func mbsyncConfig(src, dst endpoint, stateDir string) string {
	var b strings.Builder
	for _, s := range []struct {
		name string
		ep   endpoint
	}{{"far", src}, {"near", dst}} {
		fmt.Fprintf(&b, "IMAPAccount %s\nHost %s\nPort %d\nUser %s\nPass %s\nSSLType None\nAuthMechs LOGIN\n\n", s.name, s.ep.Host, s.ep.Port, benchUser, benchPass)
		fmt.Fprintf(&b, "IMAPStore %s\nAccount %s\n\n", s.name, s.name)
	}
	fmt.Fprintf(&b, "Channel bench\nFar :far:\nNear :near:\nPatterns *\nCreate Near\nSync Pull\nSyncState %s/\n", stateDir)
	return b.String()
}

// runMbsync copies the mailbox with `mbsync -c rc -a`.
func (bs bins) runMbsync(tb testing.TB, src, dst endpoint) result {
	tb.Helper()
	dir := tb.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		tb.Fatal(err)
	}
	rc := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(rc, []byte(mbsyncConfig(src, dst, state)), 0o600); err != nil {
		tb.Fatal(err)
	}
	r, _ := bs.run(tb, "mbsync", mbsyncBin, []string{"-c", rc, "-a"}, dir)
	return r
}

// doveadmBackupArgs are the arguments of `doveadm backup -R ... imapc:`
// run against the destination instance dst, pulling from src over IMAP at
// srcEP (the source itself or a proxy in front of it).
func doveadmBackupArgs(src *testimap.Dovecot, srcEP endpoint, dst *testimap.Dovecot) []string {
	args := []string{"-c", dst.Config, "-o", "log_path=/dev/stderr", "-o", "info_log_path=/dev/stderr"}
	args = append(args, src.ImapcArgs(benchUser, benchPass,
		"imapc_host="+srcEP.Host,
		"imapc_port="+strconv.Itoa(srcEP.Port),
		"imapc_features=rfc822.size fetch-headers",
	)...)
	return append(args, "backup", "-R", "-u", benchUser, "imapc:")
}

// runDoveadm copies the mailbox with dsync: `doveadm backup -R` on the
// destination's own config, its imapc backend reading the source over IMAP.
func (bs bins) runDoveadm(tb testing.TB, src *testimap.Dovecot, srcEP endpoint, dst *testimap.Dovecot) result {
	tb.Helper()
	r, _ := bs.run(tb, "doveadm", testimap.DoveadmBin, doveadmBackupArgs(src, srcEP, dst), dst.Dir)
	return r
}

// countMessages returns the number of messages in every selectable folder
// of the benchmark user's mailbox at addr, and the total.
func countMessages(tb testing.TB, addr string) (map[string]int, int) {
	tb.Helper()
	c := testimap.Dial(tb, addr, benchUser, benchPass)
	defer func() { c.Logout().Wait() }()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		tb.Fatalf("LIST at %s: %v", addr, err)
	}
	per := map[string]int{}
	total := 0
	for _, l := range list {
		skip := false
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				skip = true
			}
		}
		if skip {
			continue
		}
		st, err := c.Status(l.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			tb.Fatalf("STATUS %q at %s: %v", l.Mailbox, addr, err)
		}
		per[l.Mailbox] = int(*st.NumMessages)
		total += int(*st.NumMessages)
	}
	return per, total
}

// checkCount fails unless the destination holds as many messages as the
// source, folder by folder.
func checkCount(tb testing.TB, tool string, want map[string]int, dst *testimap.Dovecot) {
	tb.Helper()
	got, total := countMessages(tb, dst.Addr)
	var diffs []string
	for name, n := range want {
		if got[name] != n {
			diffs = append(diffs, fmt.Sprintf("%q: %d of %d", name, got[name], n))
		}
	}
	for name, n := range got {
		if _, ok := want[name]; !ok && n > 0 {
			diffs = append(diffs, fmt.Sprintf("%q: %d messages not in the source", name, n))
		}
	}
	if len(diffs) > 0 {
		tb.Fatalf("%s: destination has %d messages and differs from the source:\n%s\n--- destination dovecot log ---\n%s",
			tool, total, strings.Join(diffs, "\n"), dst.LogTail())
	}
}

// loadCorpus appends c into the benchmark user's mailbox at d, folder by
// folder over conns connections at once. Each connection SELECTs the folder
// it appends to: Dovecot then keeps the folder open between APPENDs, where
// an APPEND to another folder reopens it and re-reads its maildir
// dovecot-uidlist each time (so slower and slower as the folder grows).
func loadCorpus(tb testing.TB, d *testimap.Dovecot, c *corpus.Corpus, conns int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	start := time.Now()
	first := testimap.Dial(tb, d.Addr, benchUser, benchPass)
	if err := corpus.Load(ctx, first, &corpus.Corpus{Folders: c.Folders}); err != nil {
		tb.Fatalf("creating folders: %v", err)
	}
	delim, prefix, err := corpus.ServerNaming(first)
	if err != nil {
		tb.Fatal(err)
	}
	// One part per folder, biggest first; each is a one-folder corpus.
	byFolder := make([][]corpus.Message, len(c.Folders))
	for _, m := range c.Messages {
		i := m.Folder
		m.Folder = 0
		byFolder[i] = append(byFolder[i], m)
	}
	order := make([]int, len(c.Folders))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(byFolder[b]) - len(byFolder[a]) })
	work := make(chan int, len(order))
	for _, i := range order {
		if len(byFolder[i]) > 0 {
			work <- i
		}
	}
	close(work)

	conns = max(1, min(conns, len(work)))
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for k := range conns {
		cl := first
		if k > 0 {
			cl = testimap.Dial(tb, d.Addr, benchUser, benchPass)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f := c.Folders[i]
				name := corpus.MailboxName(f, delim, prefix)
				if _, err := cl.Select(name, nil).Wait(); err != nil {
					errs[k] = fmt.Errorf("SELECT %q: %w", name, err)
					return
				}
				if err := corpus.Load(ctx, cl, &corpus.Corpus{Folders: []corpus.Folder{f}, Messages: byFolder[i]}); err != nil {
					errs[k] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			tb.Fatalf("loading the corpus (connection %d): %v", k, err)
		}
	}
	fmt.Printf("%s: loaded %d messages (%.1f MB) in %d folders in %v over %d connections\n",
		tb.Name(), len(c.Messages), float64(c.TotalBytes())/1e6, len(c.Folders), time.Since(start).Round(100*time.Millisecond), conns)
}

// startLatencyProxy starts an in-process toxiproxy listening on a free
// loopback port and forwarding to upstream, delaying data by oneWay in each
// direction (upstream and downstream), so a round trip through it takes
// 2*oneWay longer. It stops at the end of the benchmark.
func startLatencyProxy(tb testing.TB, name, upstream string, oneWay time.Duration) endpoint {
	tb.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		tb.Fatalf("toxiproxy %s: %v", name, err)
	}
	tb.Cleanup(p.Stop)
	for _, stream := range []string{"upstream", "downstream"} {
		spec := fmt.Sprintf(`{"name":"latency_%s","type":"latency","stream":%q,"toxicity":1,"attributes":{"latency":%d,"jitter":0}}`,
			stream, stream, oneWay.Milliseconds())
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
			tb.Fatalf("toxiproxy %s: adding %s latency: %v", name, stream, err)
		}
	}
	host, port, err := net.SplitHostPort(p.Listen)
	if err != nil {
		tb.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return endpoint{Host: host, Port: n}
}

// imapRTT measures the time of an IMAP NOOP round trip to ep (the best of
// three).
func imapRTT(tb testing.TB, ep endpoint) time.Duration {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", ep.addr(), 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	if _, err := rd.ReadString('\n'); err != nil {
		tb.Fatalf("greeting from %s: %v", ep.addr(), err)
	}
	best := time.Hour
	for i := range 3 {
		start := time.Now()
		fmt.Fprintf(conn, "n%d NOOP\r\n", i)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				tb.Fatalf("NOOP at %s: %v", ep.addr(), err)
			}
			if strings.HasPrefix(line, fmt.Sprintf("n%d ", i)) {
				break
			}
		}
		best = min(best, time.Since(start))
	}
	fmt.Fprintf(conn, "z LOGOUT\r\n")
	return best
}

// clockTick is USER_HZ, the unit of CPU times in /proc/PID/stat (100 on
// every Linux platform Go supports).
const clockTick = 100

// serverCPU returns the CPU time used so far by Dovecot instance d: its
// master process, every process of its process group (StartDovecot makes
// the master a group leader; imap, imap-login, auth, ... stay in it), and
// the children the master has reaped.
func serverCPU(tb testing.TB, d *testimap.Dovecot) time.Duration {
	tb.Helper()
	stats := readProcStats(tb)
	master := -1
	for pid, s := range stats {
		if s.pgrp == int64(pid) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if slices.Contains(strings.Split(string(cmdline), "\x00"), d.Config) {
				master = pid
				break
			}
		}
	}
	if master < 0 {
		tb.Fatalf("no running Dovecot master for %s", d.Config)
	}
	ticks := stats[master].childTicks
	for _, s := range stats {
		if s.pgrp == int64(master) {
			ticks += s.ticks
		}
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// procStat is what /proc/PID/stat says of a process: its parent, its
// process group, its CPU ticks and those of the children it has reaped.
type procStat struct{ ppid, pgrp, ticks, childTicks int64 }

// readProcStats reads /proc/PID/stat of every process.
func readProcStats(tb testing.TB) map[int]procStat {
	tb.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	stats := map[int]procStat{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 15 {
			continue
		}
		num := func(k int) int64 { n, _ := strconv.ParseInt(f[k], 10, 64); return n }
		stats[pid] = procStat{ppid: num(1), pgrp: num(2), ticks: num(11) + num(12), childTicks: num(13) + num(14)}
	}
	return stats
}

// withServerCPU runs fn and adds to its result the CPU time the source and
// destination Dovecots used meanwhile (waiting a moment afterwards for
// their imap processes to exit and be accounted).
func withServerCPU(tb testing.TB, src, dst *testimap.Dovecot, fn func() result) result {
	tb.Helper()
	s0, d0 := serverCPU(tb, src), serverCPU(tb, dst)
	l0, m0 := logins(src), logins(dst)
	r := fn()
	time.Sleep(500 * time.Millisecond)
	r.srcCPU, r.dstCPU = serverCPU(tb, src)-s0, serverCPU(tb, dst)-d0
	r.srcLogins, r.dstLogins = logins(src)-l0, logins(dst)-m0
	return r
}

// logins counts the IMAP logins a Dovecot logged so far.
func logins(d *testimap.Dovecot) int {
	b, err := os.ReadFile(d.LogFile)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(": Login: user=<"))
}
