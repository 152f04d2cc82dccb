package waves

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/mailboxcsv"
)

// ScheduleColumns are FastTrack's migration schedule columns, in order.
var ScheduleColumns = []string{"Migration Date(MM/dd/yyyy)", "Migration Window", "Migration Group", "PrimarySMTPAddress", "SuggestedBatch", "MailboxSize(MB)", "Notes"}

// WriteBatches writes Batches.csv: Batch,User, one row per mailbox.
func (p *Plan) WriteBatches(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"Batch", "User"})
	for _, b := range p.Batches {
		for _, m := range b.Mailboxes {
			cw.Write([]string{b.Name, mailboxcsv.SafeCell(m)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// Window is a wave's migration window: its cutover time, and when the
// Full pass should end at the measured rate.
func (w Wave) Window() string {
	if w.Cutover.IsZero() {
		return ""
	}
	s := w.Cutover.Format("15:04")
	if w.Estimate > 0 {
		end := w.Cutover.Add(w.Estimate)
		s += "-" + end.Format("15:04")
		if days := int(end.Sub(w.Cutover).Hours() / 24); days > 0 || end.Day() != w.Cutover.Day() {
			s += " (" + end.Format("Mon 01/02") + ")"
		}
	}
	return s
}

// Notes is what Schedule.csv says of one mailbox of the wave.
func (w Wave) notes(m WaveMailbox) string {
	var n []string
	if w.OverLimit != "" {
		n = append(n, "wave over its limit: "+w.OverLimit)
	}
	if m.SizeUnknown {
		n = append(n, "size unknown")
	}
	n = append(n, w.EstimateNote)
	return strings.Join(n, "; ")
}

// WriteSchedule writes Schedule.csv with FastTrack's columns, one row per mailbox.
func (p *Plan) WriteSchedule(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(ScheduleColumns)
	for _, wave := range p.Waves {
		date := ""
		if !wave.Cutover.IsZero() {
			date = wave.Cutover.Format("01/02/2006")
		}
		for _, m := range wave.Mailboxes {
			size := ""
			if !m.SizeUnknown {
				size = strconv.FormatFloat(m.SizeMB, 'f', -1, 64)
			}
			cw.Write([]string{date, wave.Window(), wave.Name, mailboxcsv.SafeCell(m.Address), m.Batch, size, mailboxcsv.SafeCell(wave.notes(m))})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSummary says in a few lines what the plan is and what it could not do.
func (p *Plan) WriteSummary(w io.Writer) {
	mailboxes := 0
	for _, wave := range p.Waves {
		mailboxes += len(wave.Mailboxes)
	}
	fmt.Fprintf(w, "%d mailboxes, %d permissions tie %d batches; %d waves\n", mailboxes, len(p.Ties), len(p.Batches), len(p.Waves))
	for _, wave := range p.Waves {
		when := "no date"
		if !wave.Cutover.IsZero() {
			when = wave.Cutover.Format("Mon 2006-01-02 15:04 MST")
		}
		fmt.Fprintf(w, "  %-8s %s  %4d mailboxes  %9.1f MB  %s", wave.Name, when, len(wave.Mailboxes), wave.SizeMB, wave.EstimateNote)
		if wave.OverLimit != "" {
			fmt.Fprintf(w, "  OVER LIMIT: %s", wave.OverLimit)
		}
		fmt.Fprintln(w)
	}
	const listed = 20
	for _, o := range p.Oversized {
		how := "the fewest, weakest first"
		if !o.Exact {
			how = "keeping the strongest that fit; fewer may do"
		}
		fmt.Fprintf(w, "%s is larger than a wave (%s): it moves whole in a wave of its own. Removing these %d permissions (%s) would split it into parts of %s mailboxes:\n",
			o.Batch, o.Why, len(o.Cuts), how, joinInts(o.Parts))
		for i, c := range o.Cuts {
			if i == listed {
				fmt.Fprintf(w, "  and %d more (all of them in the JSON output, --json)\n", len(o.Cuts)-listed)
				break
			}
			fmt.Fprintf(w, "  %s between %s and %s (line %s)\n", c.Right, c.A, c.B, joinInts(c.Lines))
		}
	}
	ig := p.Ignored
	fmt.Fprintf(w, "Rows that tie nothing: %d self, %d not a mailbox of the plan (SIDs, groups, system accounts", ig.Self, ig.NotMailbox)
	if len(ig.NotMailboxes) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(ig.NotMailboxes, ", "))
	}
	fmt.Fprintf(w, "), %d rights without a dependency", ig.NoTie)
	if ig.UnknownOwner > 0 {
		fmt.Fprintf(w, ", %d on mailboxes not in the list (%s)", ig.UnknownOwner, strings.Join(ig.UnknownOwners, ", "))
	}
	fmt.Fprintln(w)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
