package bench

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

// Run with `make bench`, i.e.
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 90m ./bench/
//
// FERRY_BENCH_QUICK=1 shrinks the corpora (2,000 messages; 1k and 10k for the
// memory benchmark) to try changes to the benchmarks themselves quickly.

// oneMailboxSpec is the corpus of BenchmarkOneMailbox: 20,000 messages,
// 520 MB, with heavy-tailed sizes from 1 KiB to 4 MiB (median about 5 KiB,
// 1% of messages between 512 KiB and 4 MiB), INBOX plus 20 nested,
// international and special-use folders. It is big enough for each tool
// to take 10 to 40 s on loopback on the reference machine (with 3,000
// messages every run took under 4 s).
var oneMailboxSpec = corpus.Spec{Seed: 1, Messages: 20000, Folders: 20, MaxSize: 4 << 20}

// ferryConnections is what Ferry gets in BenchmarkOneMailbox: its default.
const ferryConnections = 4

func quick() bool { return os.Getenv("FERRY_BENCH_QUICK") != "" }

// network is how the tools reach the servers.
type network struct {
	name   string
	label  string
	oneWay time.Duration // latency added in each direction by a proxy; 0 = plain loopback
}

var networks = []network{
	{name: "loopback", label: "loopback"},
	{name: "rtt_20ms", label: "20 ms RTT", oneWay: 10 * time.Millisecond},
}

// comparison is one run of the three tools on one network.
type comparison struct {
	net                    network
	rtt                    time.Duration // measured IMAP NOOP round trip to the source, as the tools see it
	ferry, mbsync, doveadm result
}

func ratio(a, b result) float64 { return a.wall.Seconds() / b.wall.Seconds() }

// BenchmarkOneMailbox copies one mailbox (oneMailboxSpec, loaded once into
// a source Dovecot) with Ferry, mbsync and doveadm backup, each into a
// fresh, empty destination Dovecot, first on loopback and then with every
// tool's IMAP connections going through latency proxies that add 10 ms in
// each direction (20 ms RTT) in front of both servers. (doveadm backup
// writes the destination's files itself: only its source connection goes
// through a proxy.)
func BenchmarkOneMailbox(b *testing.B) {
	spec := oneMailboxSpec
	if quick() {
		spec.Messages = 2000
	}
	c := corpus.Generate(spec)
	bs := buildBins(b)
	fmt.Printf("peak RSS figures are ru_maxrss of each tool, measured by bench/internal/peakrss (its floor: %.1f MB)\n", bs.rssFloor(b))
	src := startDovecot(b)
	loadCorpus(b, src, c, 2)
	want := testimap.TakeSnapshot(b, src.Addr, benchUser, benchPass)
	wantCounts, total := countMessages(b, src.Addr)
	if want.Count() != len(c.Messages) || total != len(c.Messages) {
		b.Fatalf("source holds %d messages (snapshot %d), want %d", total, want.Count(), len(c.Messages))
	}
	fmt.Println(describeCorpus(spec, c))

	var done []comparison
	for _, nw := range networks {
		b.Run(nw.name, func(b *testing.B) {
			var cmp comparison
			for i := 0; i < b.N; i++ {
				cmp = compareTools(b, bs, src, nw, want, wantCounts)
			}
			b.ReportMetric(0, "ns/op") // the figures below say what was timed
			b.ReportMetric(cmp.ferry.wall.Seconds(), "ferry_s")
			b.ReportMetric(cmp.mbsync.wall.Seconds(), "mbsync_s")
			b.ReportMetric(cmp.doveadm.wall.Seconds(), "doveadm_s")
			b.ReportMetric(ratio(cmp.ferry, cmp.mbsync), "ferry/mbsync")
			b.ReportMetric(ratio(cmp.ferry, cmp.doveadm), "ferry/doveadm")
			b.ReportMetric(cmp.ferry.rssMB(), "ferry_peak_rss_MB")
			b.Log("\n" + toolTable(cmp, len(c.Messages), c.TotalBytes()))
			done = append(done, cmp)
		})
	}
	if len(done) > 0 {
		fmt.Print(summaryTable(done))
	}
}

// compareTools runs Ferry, mbsync and doveadm backup once each, each into a
// new empty destination, and checks every copy.
func compareTools(b *testing.B, bs bins, src *testimap.Dovecot, nw network, want testimap.Snapshot, wantCounts map[string]int) comparison {
	b.Helper()
	cmp := comparison{net: nw}
	srcEP := direct(src)
	if nw.oneWay > 0 {
		srcEP = startLatencyProxy(b, "source", src.Addr, nw.oneWay)
	}
	cmp.rtt = imapRTT(b, srcEP)
	if nw.oneWay > 0 && cmp.rtt < 2*nw.oneWay {
		b.Fatalf("the latency proxy is not working: NOOP round trip %v, want at least %v", cmp.rtt, 2*nw.oneWay)
	}
	dstEP := func(dst *testimap.Dovecot) endpoint {
		if nw.oneWay > 0 {
			return startLatencyProxy(b, "destination", dst.Addr, nw.oneWay)
		}
		return direct(dst)
	}
	n := want.Count()

	dst := startDovecot(b)
	ep := dstEP(dst)
	cmp.ferry = withServerCPU(b, src, dst, func() result { return bs.runFerry(b, srcEP, ep, ferryConnections, n) })
	checkCount(b, "ferry", wantCounts, dst)
	if d := want.Diff(testimap.TakeSnapshot(b, dst.Addr, benchUser, benchPass)); d != "" {
		b.Fatalf("ferry: the destination is not an exact copy of the source:\n%s", d)
	}
	dst.Stop()

	dst = startDovecot(b)
	ep = dstEP(dst)
	cmp.mbsync = withServerCPU(b, src, dst, func() result { return bs.runMbsync(b, srcEP, ep) })
	checkCount(b, "mbsync", wantCounts, dst)
	cmp.mbsync.exact = want.Diff(testimap.TakeSnapshot(b, dst.Addr, benchUser, benchPass))
	dst.Stop()

	dst = startDovecot(b)
	// doveadm writes the destination's files itself: its work there is in
	// its own CPU time, not the destination server's.
	cmp.doveadm = withServerCPU(b, src, dst, func() result { return bs.runDoveadm(b, src, srcEP, dst) })
	checkCount(b, "doveadm backup", wantCounts, dst)
	cmp.doveadm.exact = want.Diff(testimap.TakeSnapshot(b, dst.Addr, benchUser, benchPass))
	dst.Stop()
	return cmp
}

func describeCorpus(spec corpus.Spec, c *corpus.Corpus) string {
	sizes := make([]int64, len(c.Messages))
	var over512K int
	for i, m := range c.Messages {
		sizes[i] = m.Size
		if m.Size >= 512<<10 {
			over512K++
		}
	}
	slices.Sort(sizes)
	if len(sizes) == 0 {
		return "empty corpus"
	}
	return fmt.Sprintf("corpus: Seed %d, %d messages, %.1f MB, INBOX + %d folders; sizes min %s, median %s, p99 %s, max %s; %d messages >= 512 KiB",
		spec.Seed, len(c.Messages), float64(c.TotalBytes())/1e6, len(c.Folders)-1,
		kib(sizes[0]), kib(sizes[len(sizes)/2]), kib(sizes[len(sizes)*99/100]), kib(sizes[len(sizes)-1]), over512K)
}

func kib(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

func exactness(r result) string {
	if r.exact == "" {
		return "yes"
	}
	// Snapshot.Diff lists up to 30 differences, then "… N more differences".
	lines := strings.Split(r.exact, "\n")
	n := len(lines)
	var more int
	if _, err := fmt.Sscanf(lines[n-1], "… %d more differences", &more); err == nil {
		n = n - 1 + more
	}
	return fmt.Sprintf("no: %d differences, e.g. %s", n, lines[0])
}

func toolTable(cmp comparison, messages int, bytes int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "OneMailbox over %s (measured NOOP round trip to the source: %.1f ms), %d messages, %.1f MB:\n",
		cmp.net.label, float64(cmp.rtt.Microseconds())/1000, messages, float64(bytes)/1e6)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "tool\tsettings\ttime\tferry/tool\tpeak RSS\tCPU\tsource CPU\tdest CPU\tmsg/s\texact copy")
	for _, row := range []struct {
		r        result
		settings string
	}{
		{cmp.ferry, fmt.Sprintf("ferry migrate --connections %d", ferryConnections)},
		{cmp.mbsync, "mbsync -a, defaults (Sync Pull, Create Near)"},
		{cmp.doveadm, "doveadm backup -R imapc: (mail_prefetch_count=20; destination local)"},
	} {
		fmt.Fprintf(w, "%s\t%s\t%.2f s\t%.2f\t%.1f MB\t%.2f s\t%.2f s\t%.2f s\t%.0f\t%s\n", row.r.tool, row.settings, row.r.wall.Seconds(),
			ratio(cmp.ferry, row.r), row.r.rssMB(), row.r.cpu.Seconds(), row.r.srcCPU.Seconds(), row.r.dstCPU.Seconds(),
			float64(messages)/row.r.wall.Seconds(), exactness(row.r))
	}
	w.Flush()
	b.WriteString("CPU: the tool's own user+system time; source/dest CPU: all processes of that Dovecot instance during the run.\n")
	return b.String()
}

func summaryTable(cmps []comparison) string {
	var b strings.Builder
	b.WriteString("OneMailbox summary (time of a full copy; ferry/x < 1 means Ferry is faster):\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "network\tferry\tmbsync\tdoveadm backup\tferry/mbsync\tferry/doveadm\tferry peak RSS")
	for _, c := range cmps {
		fmt.Fprintf(w, "%s\t%.2f s\t%.2f s\t%.2f s\t%.2f\t%.2f\t%.1f MB\n", c.net.label, c.ferry.wall.Seconds(), c.mbsync.wall.Seconds(),
			c.doveadm.wall.Seconds(), ratio(c.ferry, c.mbsync), ratio(c.ferry, c.doveadm), c.ferry.rssMB())
	}
	w.Flush()
	return b.String()
}

// largeFolderCorpus is n small messages (1 to 3 KiB) in INBOX, Sent and
// Drafts, with 4 of every 5 Sent and Drafts messages moved to INBOX so that
// INBOX holds about 94% of them.
func largeFolderCorpus(n int) *corpus.Corpus {
	c := corpus.Generate(corpus.Spec{Seed: 2, Messages: n, Folders: 2, MinSize: 1 << 10, MaxSize: 3 << 10})
	for i := range c.Messages {
		if c.Messages[i].Folder != 0 && i%5 != 0 {
			c.Messages[i].Folder = 0
		}
	}
	return c
}

// BenchmarkLargeFolderMemory measures Ferry's peak RSS and time copying a
// mailbox of 1,000, 10,000 and 100,000 small messages (about 94% of them
// in INBOX) between two Dovecots on loopback: Ferry's memory should not
// grow with the size of a folder. The source is written as maildir files
// (see writeMaildir); the destination receives Ferry's APPENDs.
func BenchmarkLargeFolderMemory(b *testing.B) {
	bs := buildBins(b)
	fmt.Printf("peak RSS figures are ru_maxrss of each tool, measured by bench/internal/peakrss (its floor: %.1f MB)\n", bs.rssFloor(b))
	type size struct {
		name string
		n    int
	}
	sizes := []size{{"1k", 1000}, {"10k", 10000}, {"100k", 100000}}
	if quick() {
		sizes = []size{{"1k", 1000}, {"10k", 10000}}
	}
	type row struct {
		n     int
		inbox int
		bytes int64
		r     result
	}
	var rows []row
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			c := largeFolderCorpus(s.n)
			src := startDovecot(b)
			writeMaildir(b, src, c)
			want := testimap.TakeSnapshot(b, src.Addr, benchUser, benchPass)
			wantCounts, total := countMessages(b, src.Addr)
			if total != s.n || want.Count() != s.n {
				b.Fatalf("source holds %d messages (snapshot: %d), want %d", total, want.Count(), s.n)
			}
			var r result
			for i := 0; i < b.N; i++ {
				dst := startDovecot(b)
				r = withServerCPU(b, src, dst, func() result { return bs.runFerry(b, direct(src), direct(dst), ferryConnections, s.n) })
				checkCount(b, "ferry", wantCounts, dst)
				if d := want.Diff(testimap.TakeSnapshot(b, dst.Addr, benchUser, benchPass)); d != "" {
					b.Fatalf("ferry: the destination is not an exact copy of the source:\n%s", d)
				}
				dst.Stop()
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.rssMB(), "ferry_peak_rss_MB")
			b.ReportMetric(r.wall.Seconds(), "ferry_s")
			b.ReportMetric(float64(s.n)/r.wall.Seconds(), "msg/s")
			rows = append(rows, row{n: s.n, inbox: wantCounts["INBOX"], bytes: c.TotalBytes(), r: r})
		})
	}
	var sb strings.Builder
	sb.WriteString("LargeFolderMemory (Ferry, loopback, --connections 4):\n")
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "messages\tin INBOX\tsize\ttime\tmsg/s\tferry CPU\tsource CPU\tdest CPU\tpeak RSS")
	for _, r := range rows {
		fmt.Fprintf(w, "%d\t%d\t%.1f MB\t%.2f s\t%.0f\t%.2f s\t%.2f s\t%.2f s\t%.1f MB\n", r.n, r.inbox, float64(r.bytes)/1e6, r.r.wall.Seconds(),
			float64(r.n)/r.r.wall.Seconds(), r.r.cpu.Seconds(), r.r.srcCPU.Seconds(), r.r.dstCPU.Seconds(), r.r.rssMB())
	}
	w.Flush()
	if len(rows) > 1 {
		first, last := rows[0], rows[len(rows)-1]
		fmt.Fprintf(&sb, "peak RSS grows %.2fx for %dx the messages (target: under 150 MB at 100,000 messages)\n",
			last.r.rssMB()/first.r.rssMB(), last.n/first.n)
	}
	fmt.Print(sb.String())
}
