package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
)

// display draws progress: redrawn bars on a terminal, a line every few
// seconds otherwise (logs, CI).
type display struct {
	w     io.Writer
	jobs  []engine.Job
	progs []*engine.Progress
	tty   bool
	mu    sync.Mutex
	done  []bool
	lines int
	quit  chan struct{}
	wg    sync.WaitGroup
	begun time.Time
	// phase is the last phase logged per mailbox (not a terminal).
	phase []string
}

func newDisplay(w io.Writer, jobs []engine.Job, progs []*engine.Progress) *display {
	return &display{w: w, jobs: jobs, progs: progs, tty: isTerminal(w), done: make([]bool, len(jobs)), quit: make(chan struct{}), begun: time.Now(), phase: make([]string, len(jobs))}
}

func (d *display) start() {
	every := time.Second // not a terminal: how soon a mailbox's new phase is logged
	if d.tty {
		every = 250 * time.Millisecond
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-d.quit:
				d.draw(true)
				return
			case <-t.C:
				d.draw(false)
			}
		}
	}()
}

func (d *display) stop() {
	close(d.quit)
	d.wg.Wait()
}

func (d *display) finished(i int, r *engine.Result) {
	d.mu.Lock()
	defer d.mu.Unlock() // mailboxes finish at once: one line at a time
	d.done[i] = true
	if !d.tty {
		fmt.Fprintf(d.w, "%s → %s: %s, %d copied, %d failed\n", r.Job.Source.Mailbox(), r.Job.Dest.Mailbox(), r.Run.Status, r.Run.Copied, r.Run.Failed)
	}
}

func bar(done, total int64, width int) string {
	if total <= 0 {
		total = 1
	}
	n := int(float64(width) * float64(min(done, total)) / float64(total))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// draw redraws the progress bars on a terminal. Elsewhere (a log file, a
// pipe) it writes one line per mailbox event instead: a mailbox entering a
// new phase (connecting, planning, copying, retrying...); finished writes
// the last one.
func (d *display) draw(final bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.tty {
		d.logEvents()
		return
	}
	var b strings.Builder
	var tMsgs, tDone, tBytes, tDoneBytes int64
	var rows []string
	for i, p := range d.progs {
		msgs, done := p.ToCopy.Load(), p.Copied.Load()
		bytes, doneBytes := p.ToCopyBytes.Load(), p.CopiedBytes.Load()
		tMsgs, tDone, tBytes, tDoneBytes = tMsgs+msgs, tDone+done, tBytes+bytes, tDoneBytes+doneBytes
		if len(d.progs) <= 12 || !d.done[i] {
			rows = append(rows, fmt.Sprintf("%-28.28s %s %6d/%-6d msgs %9s/%-9s %s", d.jobs[i].Source.Mailbox(), bar(doneBytes, bytes, 20), done, msgs,
				human(doneBytes), human(bytes), p.PhaseName()))
		}
	}
	elapsed := time.Since(d.begun)
	rate := float64(tDoneBytes) / max(elapsed.Seconds(), 0.001)
	overall := fmt.Sprintf("%-28s %s %6d/%-6d msgs %9s/%-9s %s/s", "overall", bar(tDoneBytes, tBytes, 20), tDone, tMsgs, human(tDoneBytes), human(tBytes), human(int64(rate)))
	if len(rows) > 12 {
		rows = rows[:12]
	}
	if d.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines)
	}
	for _, r := range append(rows, overall) {
		b.WriteString("\x1b[2K" + r + "\n")
	}
	d.lines = len(rows) + 1
	io.WriteString(d.w, b.String())
}

// logEvents writes a line for each running mailbox whose phase changed.
func (d *display) logEvents() {
	for i, p := range d.progs {
		phase := p.PhaseName()
		if d.done[i] || phase == d.phase[i] || phase == "waiting" {
			continue
		}
		d.phase[i] = phase
		fmt.Fprintf(d.w, "%s → %s: %s (%d/%d messages, %s)\n", d.jobs[i].Source.Mailbox(), d.jobs[i].Dest.Mailbox(), phase,
			p.Copied.Load(), p.ToCopy.Load(), human(p.CopiedBytes.Load()))
	}
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func printSummary(w io.Writer, pass engine.Pass, results []*engine.Result) {
	fmt.Fprintf(w, "\n%s pass, %d mailbox(es)\n\n", pass.Label(), len(results))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tDESTINATION\tSTATUS\tCOPIED\tSKIPPED\tFAILED\tBYTES\tDURATION\tMB/HR\tITEMS/HR\t")
	var tot store.Run
	for _, r := range results {
		run := r.Run
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%.0f\t%.0f\t\n", r.Job.Source.Mailbox(), r.Job.Dest.Mailbox(), run.Status,
			run.Copied, run.Skipped, run.Failed, human(run.CopiedBytes), run.Duration().Round(time.Millisecond), run.MBPerHour(), run.ItemsPerHour())
		tot.Copied += run.Copied
		tot.Skipped += run.Skipped
		tot.Failed += run.Failed
		tot.CopiedBytes += run.CopiedBytes
		if tot.Started.IsZero() || run.Started.Before(tot.Started) {
			tot.Started = run.Started
		}
		if run.Ended.After(tot.Ended) {
			tot.Ended = run.Ended
		}
	}
	if len(results) > 1 {
		fmt.Fprintf(tw, "total\t\t\t%d\t%d\t%d\t%s\t%s\t%.0f\t%.0f\t\n", tot.Copied, tot.Skipped, tot.Failed, human(tot.CopiedBytes), tot.Duration().Round(time.Millisecond), tot.MBPerHour(), tot.ItemsPerHour())
	}
	tw.Flush()
	for _, r := range results {
		if r.Check != nil {
			printCheck(w, r)
		}
		if r.Err == nil && len(r.Failures) == 0 && len(r.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s → %s:\n", r.Job.Source.Mailbox(), r.Job.Dest.Mailbox())
		if r.Err != nil {
			fmt.Fprintf(w, "  mailbox failed: %v\n", r.Err)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		for _, f := range r.Failures {
			if f.UID == 0 && f.Folder != "" {
				fmt.Fprintf(w, "  folder %s: %s\n    what to do: %s\n", f.Folder, f.ServerText, f.Hint)
			}
		}
		shown := 0
		for _, f := range r.Failures {
			if f.UID == 0 {
				continue
			}
			if shown == 10 {
				fmt.Fprintf(w, "  … and %d more (see --json)\n", countMsgFailures(r.Failures)-10)
				break
			}
			shown++
			fmt.Fprintf(w, "  folder %s, UID %d, %q, %s: %s\n    what to do: %s\n", f.Folder, f.UID, f.Subject, human(f.Size), f.ServerText, f.Hint)
		}
	}
}

func countMsgFailures(fs []store.Failure) int {
	n := 0
	for _, f := range fs {
		if f.UID != 0 {
			n++
		}
	}
	return n
}

func printCheck(w io.Writer, r *engine.Result) {
	c := r.Check
	fmt.Fprintf(w, "\nVerify credentials for %s → %s: both logins work\n", r.Job.Source.Mailbox(), r.Job.Dest.Mailbox())
	for _, s := range []struct {
		name string
		rep  engine.SideReport
	}{{"source", c.Source}, {"destination", c.Dest}} {
		fmt.Fprintf(w, "  %-11s %s  separator %q prefix %q  capabilities %s\n", s.name, s.rep.Endpoint, s.rep.Separator, s.rep.Prefix, strings.Join(s.rep.Capabilities, " "))
	}
	fmt.Fprintf(w, "  source holds %d folders, %d messages, %s\n", c.Source.Folders, c.Source.Messages, human(c.Source.Bytes))
	fmt.Fprintln(w, "  folder map (source → destination):")
	for _, f := range c.Folders {
		var marks []string
		if f.Create {
			marks = append(marks, "created by the first pass")
		}
		if f.Renamed != "" {
			marks = append(marks, "renamed: "+f.Renamed)
		}
		line := fmt.Sprintf("    %s → %s", f.Source, f.Dest)
		if len(marks) > 0 {
			line += "  (" + strings.Join(marks, "; ") + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "  note: %s\n", warn)
	}
}

type jsonMailbox struct {
	Source       string              `json:"source"`
	Destination  string              `json:"destination"`
	Pass         string              `json:"pass"`
	Status       string              `json:"status"`
	Error        string              `json:"error,omitempty"`
	Copied       int64               `json:"copied"`
	CopiedBytes  int64               `json:"copied_bytes"`
	Skipped      int64               `json:"skipped"`
	Failed       int64               `json:"failed"`
	FlagsUpdated int64               `json:"flags_updated"`
	Started      time.Time           `json:"started"`
	Ended        time.Time           `json:"ended"`
	Seconds      float64             `json:"duration_seconds"`
	MBPerHour    float64             `json:"mb_per_hour"`
	ItemsPerHour float64             `json:"items_per_hour"`
	Failures     []store.Failure     `json:"failures,omitempty"`
	Notes        []string            `json:"notes,omitempty"`
	Check        *engine.CheckReport `json:"verify_credentials,omitempty"`
	Timing       jsonTiming          `json:"timing"`
}

// jsonTiming is engine.Timing in milliseconds: where a mailbox's time went.
type jsonTiming struct {
	ConnectMS float64 `json:"connect_ms"`
	PlanMS    float64 `json:"plan_ms"`
	CopyMS    float64 `json:"copy_ms"`
	StateMS   float64 `json:"state_ms"`
	TotalMS   float64 `json:"total_ms"`
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func writeJSON(w io.Writer, pass engine.Pass, results []*engine.Result) error {
	out := struct {
		Pass      string        `json:"pass"`
		Mailboxes []jsonMailbox `json:"mailboxes"`
	}{Pass: string(pass)}
	for _, r := range results {
		m := jsonMailbox{Source: r.Job.Source.String(), Destination: r.Job.Dest.String(), Pass: r.Run.Pass, Status: r.Run.Status,
			Copied: r.Run.Copied, CopiedBytes: r.Run.CopiedBytes, Skipped: r.Run.Skipped, Failed: r.Run.Failed, FlagsUpdated: r.Run.FlagsUpdated,
			Started: r.Run.Started, Ended: r.Run.Ended, Seconds: r.Run.Duration().Seconds(), MBPerHour: r.Run.MBPerHour(), ItemsPerHour: r.Run.ItemsPerHour(),
			Failures: r.Failures, Notes: r.Notes, Check: r.Check,
			Timing: jsonTiming{ConnectMS: millis(r.Timing.Connect), PlanMS: millis(r.Timing.Plan), CopyMS: millis(r.Timing.Copy),
				StateMS: millis(r.Timing.State), TotalMS: millis(r.Timing.Total)}}
		if r.Err != nil {
			m.Error = r.Err.Error()
		}
		out.Mailboxes = append(out.Mailboxes, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
