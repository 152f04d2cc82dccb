package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ferryhq/ferry/internal/testimap"
)

// smallMailboxes is the fleet of BenchmarkManySmallMailboxes: 200
// mailboxes of 20 messages (1 to 16 KiB, INBOX and 3 folders), 40 with
// FERRY_BENCH_QUICK, or FERRY_BENCH_SMALL_MAILBOXES of them.
func smallMailboxes(b *testing.B) int {
	if v := os.Getenv("FERRY_BENCH_SMALL_MAILBOXES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("FERRY_BENCH_SMALL_MAILBOXES=%q: want a number of mailboxes", v)
		}
		return n
	}
	if quick() {
		return 40
	}
	return 200
}

// BenchmarkManySmallMailboxes copies a fleet of small mailboxes, Dovecot to
// Dovecot on loopback, fleetParallel mailboxes at a time, three ways, each
// into a fresh destination: `ferry migrate --csv --parallel 10`, `doveadm
// backup` run 10 at a time (one process per mailbox) and mbsync run 10 at a
// time. It prints the ratios, and where Ferry's time went per mailbox
// (connect, plan, copy, state store), from its JSON summary.
func BenchmarkManySmallMailboxes(b *testing.B) {
	n, per := smallMailboxes(b), 20
	f := startFleetSource(b, n, per)
	bs := buildBins(b)
	fmt.Printf("ManySmallMailboxes: %d mailboxes, %d messages, %.1f MB in all; %d mailboxes at a time\n", n, f.messages, float64(f.bytes)/1e6, fleetParallel)

	// FERRY_BENCH_ONE_WAY (e.g. 10ms) puts every tool's IMAP connections
	// through latency proxies adding that much in each direction (doveadm
	// writes the destination's files itself: only its source crosses one).
	var oneWay time.Duration
	if v := os.Getenv("FERRY_BENCH_ONE_WAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			b.Fatalf("FERRY_BENCH_ONE_WAY=%q: want a duration like 10ms", v)
		}
		oneWay = d
	}
	reach := func(d *testimap.Dovecot) endpoint {
		if oneWay == 0 {
			return direct(d)
		}
		return startLatencyProxy(b, d.Addr, d.Addr, oneWay)
	}
	srcEP := reach(f.src)
	if oneWay > 0 {
		fmt.Printf("ManySmallMailboxes: every IMAP connection through a proxy adding %v each way\n", oneWay)
	}
	var ferry, baseline, doveadm, mbsync result
	var timings, baseTimings []jsonTimingRow
	runDoveadm := func(dst *testimap.Dovecot) result {
		// doveadm writes the destination's files itself: its work there
		// is in its own CPU time.
		return f.eachAtOnce(b, "doveadm backup", func(u string) *exec.Cmd {
			args := []string{"-c", dst.Config, "-o", "log_path=/dev/stderr", "-o", "info_log_path=/dev/stderr"}
			args = append(args, f.src.ImapcArgs(u, benchPass, "imapc_features=rfc822.size fetch-headers",
				"imapc_host="+srcEP.Host, "imapc_port="+strconv.Itoa(srcEP.Port))...)
			cmd := exec.Command(testimap.DoveadmBin, append(args, "backup", "-R", "-u", u, "imapc:")...)
			cmd.Dir = dst.Dir
			return cmd
		})
	}
	runMbsync := func(dst *testimap.Dovecot) result {
		rcDir := b.TempDir()
		dstEP := reach(dst)
		return f.eachAtOnce(b, "mbsync", func(u string) *exec.Cmd {
			dir := filepath.Join(rcDir, u)
			state := filepath.Join(dir, "state")
			if err := os.MkdirAll(state, 0o700); err != nil {
				b.Fatal(err)
			}
			rc := strings.ReplaceAll(mbsyncConfig(srcEP, dstEP, state), "User "+benchUser+"\n", "User "+u+"\n")
			if err := os.WriteFile(filepath.Join(dir, "mbsyncrc"), []byte(rc), 0o600); err != nil {
				b.Fatal(err)
			}
			return exec.Command(mbsyncBin, "-c", filepath.Join(dir, "mbsyncrc"), "-a")
		})
	}
	// once copies the fleet into a fresh destination with one tool and
	// returns its result with both servers' CPU.
	once := func(run func(dst *testimap.Dovecot) result) result {
		dst := f.freshDest(b)
		r := withServerCPU(b, f.src, dst, func() result { return run(dst) })
		f.checkFleetCopied(b, dst)
		dst.Stop()
		return r
	}
	ferryWith := func(bin string, into *[]jsonTimingRow) func(dst *testimap.Dovecot) result {
		return func(dst *testimap.Dovecot) result {
			r, t := f.runFerryCSV(b, bs, bin, srcEP, reach(dst), fleetParallel)
			*into = t
			return r
		}
	}

	// The source Dovecot was filled by APPEND and never read: the first
	// reader meets it cold and pays for its cache file (0.55 to 0.97 s
	// more source CPU at 200 mailboxes, whichever tool or build it was).
	// A production source has been read by its users' clients, so every
	// tool reads the fleet once, untimed, before the timed round:
	// FERRY_BENCH_COLD=1 leaves that out (the first tool then meets the
	// cold source; FERRY_BENCH_BASELINE_FIRST=1 runs the baseline first).
	if os.Getenv("FERRY_BENCH_COLD") == "" {
		start := time.Now()
		var discard []jsonTimingRow
		once(ferryWith(bs.ferry, &discard))
		once(runDoveadm)
		once(runMbsync)
		fmt.Printf("ManySmallMailboxes: every tool read the source once to warm it (%.1f s, not counted)\n", time.Since(start).Seconds())
	}
	baselineFirst := os.Getenv("FERRY_BENCH_BASELINE_FIRST") != ""
	for i := 0; i < b.N; i++ {
		if bs.baseline != "" && baselineFirst {
			baseline = once(ferryWith(bs.baseline, &baseTimings))
		}
		ferry = once(ferryWith(bs.ferry, &timings))
		if bs.baseline != "" && !baselineFirst {
			baseline = once(ferryWith(bs.baseline, &baseTimings))
		}
		doveadm = once(runDoveadm)
		mbsync = once(runMbsync)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ferry.wall.Seconds(), "ferry_s")
	b.ReportMetric(doveadm.wall.Seconds(), "doveadm_s")
	b.ReportMetric(mbsync.wall.Seconds(), "mbsync_s")
	b.ReportMetric(ratio(ferry, doveadm), "ferry/doveadm")
	b.ReportMetric(ratio(ferry, mbsync), "ferry/mbsync")

	var sb strings.Builder
	network := "loopback"
	if oneWay > 0 {
		network = fmt.Sprintf("%v RTT", 2*oneWay)
	}
	fmt.Fprintf(&sb, "ManySmallMailboxes, %d mailboxes of %d messages, %s, %d at a time (ferry/x < 1: Ferry is faster):\n", n, per, network, fleetParallel)
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "tool\tsettings\ttime\tmailboxes/s\tferry/tool\tCPU\tsource CPU\tdest CPU\tsource logins\tdest logins")
	rows := []struct {
		tool, settings string
		d              result
	}{
		{"ferry", fmt.Sprintf("ferry migrate --csv --parallel %d (--connections 4)", fleetParallel), ferry},
		{"doveadm backup", fmt.Sprintf("doveadm backup -R imapc:, one process per mailbox, %d at a time", fleetParallel), doveadm},
		{"mbsync", fmt.Sprintf("mbsync -a, one process per mailbox, %d at a time", fleetParallel), mbsync},
	}
	if bs.baseline != "" {
		rows = slices.Insert(rows, 1, rows[0])
		rows[1].tool, rows[1].d = "ferry "+bs.baselineRev, baseline
		b.ReportMetric(baseline.wall.Seconds(), "baseline_s")
		b.ReportMetric(ratio(baseline, doveadm), "baseline/doveadm")
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%.2f s\t%.1f\t%.2f\t%.2f s\t%.2f s\t%.2f s\t%d\t%d\n", r.tool, r.settings, r.d.wall.Seconds(), float64(n)/r.d.wall.Seconds(),
			ratio(ferry, r.d), r.d.cpu.Seconds(), r.d.srcCPU.Seconds(), r.d.dstCPU.Seconds(), r.d.srcLogins, r.d.dstLogins)
	}
	w.Flush()
	sb.WriteString("CPU: the tool's own user+system time (all its processes); source/dest CPU: all processes of that Dovecot instance during the run.\n")
	sb.WriteString(timingTable(timings))
	if bs.baseline != "" {
		sb.WriteString("ferry " + bs.baselineRev + " (baseline), ")
		sb.WriteString(timingTable(baseTimings))
	}
	fmt.Print(sb.String())
}

// BenchmarkSmallMailboxesParallel sizes --parallel: the fleet of
// BenchmarkManySmallMailboxes copied by `ferry migrate --csv` alone with
// --parallel 1, 5, 10 and 20 (FERRY_BENCH_PARALLEL="1,5" for others),
// each into a fresh destination, with the tool's and both servers' CPU.
func BenchmarkSmallMailboxesParallel(b *testing.B) {
	n, per := smallMailboxes(b), 20
	levels := []int{1, 5, 10, 20}
	if v := os.Getenv("FERRY_BENCH_PARALLEL"); v != "" {
		levels = nil
		for _, f := range strings.Split(v, ",") {
			p, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || p < 1 {
				b.Fatalf("FERRY_BENCH_PARALLEL=%q: want numbers like 1,5,10", v)
			}
			levels = append(levels, p)
		}
	}
	f := startFleetSource(b, n, per)
	bs := buildBins(b)
	var sb strings.Builder
	fmt.Fprintf(&sb, "SmallMailboxesParallel, %d mailboxes of %d messages, loopback, ferry migrate --csv:\n", n, per)
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "--parallel\ttime\tmailboxes/s\tCPU\tsource CPU\tdest CPU\tmedian mailbox\tmedian connect")
	for _, p := range levels {
		dst := f.freshDest(b)
		var timings []jsonTimingRow
		r := withServerCPU(b, f.src, dst, func() (r result) {
			r, timings = f.runFerryCSV(b, bs, bs.ferry, direct(f.src), direct(dst), p)
			return r
		})
		f.checkFleetCopied(b, dst)
		dst.Stop()
		median := func(get func(jsonTimingRow) float64) float64 {
			v := make([]float64, len(timings))
			for i, t := range timings {
				v[i] = get(t)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		fmt.Fprintf(w, "%d\t%.2f s\t%.1f\t%.2f s\t%.2f s\t%.2f s\t%.0f ms\t%.0f ms\n", p, r.wall.Seconds(), float64(n)/r.wall.Seconds(), r.cpu.Seconds(), r.srcCPU.Seconds(), r.dstCPU.Seconds(),
			median(func(t jsonTimingRow) float64 { return t.TotalMS }), median(func(t jsonTimingRow) float64 { return t.ConnectMS }))
		b.ReportMetric(r.wall.Seconds(), fmt.Sprintf("ferry_s_parallel%d", p))
	}
	w.Flush()
	fmt.Print(sb.String())
	b.ReportMetric(0, "ns/op")
}

// jsonTimingRow is the timing of one mailbox in `ferry migrate --json`.
type jsonTimingRow struct {
	ConnectMS float64 `json:"connect_ms"`
	PlanMS    float64 `json:"plan_ms"`
	CopyMS    float64 `json:"copy_ms"`
	StateMS   float64 `json:"state_ms"`
	TotalMS   float64 `json:"total_ms"`
}

// runFerryCSV runs `ferry migrate --csv --parallel N --json` over the
// fleet into dst and returns its wall time and each mailbox's timing.
func (f *fleetBench) runFerryCSV(b *testing.B, bs bins, ferry string, src, dst endpoint, parallel int) (result, []jsonTimingRow) {
	dir := b.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(fleetAdminPass), 0o600); err != nil {
		b.Fatal(err)
	}
	var list strings.Builder
	list.WriteString("source,destination\n")
	for _, u := range f.users {
		list.WriteString(u + "," + u + "\n")
	}
	csvFile := filepath.Join(dir, "fleet.csv")
	if err := os.WriteFile(csvFile, []byte(list.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	r, stdout := bs.run(b, "ferry migrate --csv", ferry, []string{"migrate", "--csv", csvFile,
		"--from", "imap://" + src.addr(), "--to", "imap://" + dst.addr(), "--from-admin", fleetAdmin, "--to-admin", fleetAdmin,
		"--from-password-file", pw, "--to-password-file", pw, "--allow-plaintext", "--parallel", fmt.Sprint(parallel),
		"--state", filepath.Join(dir, "state.db"), "--json"}, dir)
	var sum struct {
		Mailboxes []struct {
			Status string        `json:"status"`
			Error  string        `json:"error"`
			Copied int64         `json:"copied"`
			Timing jsonTimingRow `json:"timing"`
		} `json:"mailboxes"`
	}
	if err := json.Unmarshal(stdout, &sum); err != nil {
		b.Fatalf("ferry: cannot parse its JSON summary: %v\n%s", err, tail(string(stdout), 4000))
	}
	var rows []jsonTimingRow
	for _, m := range sum.Mailboxes {
		if m.Error != "" {
			b.Fatalf("ferry: a mailbox ended %s: %s", m.Status, m.Error)
		}
		rows = append(rows, m.Timing)
	}
	return r, rows
}

// eachAtOnce runs one command per mailbox, fleetParallel at a time, and
// returns the wall time of the whole fleet and the CPU time of the commands.
func (f *fleetBench) eachAtOnce(b *testing.B, tool string, command func(user string) *exec.Cmd) result {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmds := make([]*exec.Cmd, len(f.users))
	for i, u := range f.users {
		cmds[i] = command(u)
	}
	sem := make(chan struct{}, fleetParallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	var cpu time.Duration
	start := time.Now()
	for i, cmd := range cmds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState != nil {
				mu.Lock()
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s for %s: %v\n%s", tool, f.users[i], err, tail(string(out), 2000)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if len(failures) > 0 {
		b.Fatalf("%d of %d runs failed; the first: %s", len(failures), len(cmds), failures[0])
	}
	return result{tool: tool, wall: d, cpu: cpu}
}

// timingTable sums up where Ferry's time went per mailbox: the median and
// the slowest tenth of each part.
func timingTable(rows []jsonTimingRow) string {
	if len(rows) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("ferry, per mailbox (ms; state is time in the state store, counted within the other parts):\n")
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "part\tmedian\tp90\tmax")
	for _, part := range []struct {
		name string
		get  func(jsonTimingRow) float64
	}{
		{"connect + login", func(r jsonTimingRow) float64 { return r.ConnectMS }},
		{"plan (list, create folders)", func(r jsonTimingRow) float64 { return r.PlanMS }},
		{"copy (folders)", func(r jsonTimingRow) float64 { return r.CopyMS }},
		{"state store", func(r jsonTimingRow) float64 { return r.StateMS }},
		{"total", func(r jsonTimingRow) float64 { return r.TotalMS }},
	} {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = part.get(r)
		}
		slices.Sort(v)
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.1f\n", part.name, v[len(v)/2], v[len(v)*9/10], v[len(v)-1])
	}
	w.Flush()
	return sb.String()
}
