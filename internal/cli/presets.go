package cli

import (
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/presets"
)

// presetFlags name the mail system of each side (--from-type gmail,
// --to-type m365): its host, port, limits and folder names become the
// defaults, and any other flag overrides them.
type presetFlags struct {
	fromType, toType string
	dailyLimit       string
	spamAndTrash     bool
	firstLabelOnly   bool
	flags            *pflag.FlagSet
}

func (p *presetFlags) register(fl *pflag.FlagSet) {
	p.flags = fl
	fl.StringVar(&p.fromType, "from-type", "", "the source's mail `SYSTEM` ("+presets.Names()+", or m365, google): its host, limits and folder names become the defaults")
	fl.StringVar(&p.toType, "to-type", "", "the destination's mail `SYSTEM`, as --from-type")
	fl.BoolVar(&p.spamAndTrash, "with-spam-and-trash", false, "from Gmail: copy [Gmail]/Spam and [Gmail]/Trash too (skipped by default)")
	fl.BoolVar(&p.firstLabelOnly, "first-label-only", false, "from Gmail: a message with several labels goes only to the folder of its first label (default: to each)")
	fl.StringVar(&p.dailyLimit, "daily-limit", "", "most message `SIZE` a run moves per mailbox (e.g. 500MB; 0 for none); default: the smaller of the source's daily download and the destination's daily upload limit")
}

// system is the preset of a side (0 source, 1 destination), if one is named.
func (p *presetFlags) system(i int) (presets.System, bool, error) {
	name, flag := p.fromType, "--from-type"
	if i == 1 {
		name, flag = p.toType, "--to-type"
	}
	if name == "" {
		return presets.System{}, false, nil
	}
	s, ok := presets.Lookup(name)
	if !ok {
		return s, false, usageErr("%s: unknown mail system %q; use one of %s (or m365, google)", flag, name, presets.Names())
	}
	return s, true, nil
}

// url completes a side's --from/--to with its system's host: with a
// preset that has one, --from alice@example.com is enough.
func (p *presetFlags) url(i int, raw string) (string, error) {
	s, ok, err := p.system(i)
	if err != nil || !ok || raw == "" || strings.Contains(raw, "://") {
		return raw, err
	}
	if s.Host == "" {
		flag := [2]string{"--from", "--to"}[i]
		return raw, usageErr("%s: %s has no fixed host: write %s imaps://%s@your-server", flag, s.Label, flag, raw)
	}
	scheme := "imaps"
	if s.Security == "starttls" {
		scheme = "imap"
	}
	return scheme + "://" + raw + "@" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), nil
}

// apply sets the run's defaults from the systems: the destination's
// message size limit, the connections both accept, the daily transfer
// budget, and whether the source has Gmail's labels. Flags the user gave
// win.
func (p *presetFlags) apply(opts *engine.Options) error {
	src, hasSrc, err := p.system(0)
	if err != nil {
		return err
	}
	dst, hasDst, err := p.system(1)
	if err != nil {
		return err
	}
	if !p.flags.Changed("max-message-size") && hasDst && dst.MaxMessageSize > 0 {
		opts.MaxMessageSize = dst.MaxMessageSize
	}
	if !p.flags.Changed("connections") {
		for _, s := range []presets.System{src, dst} {
			if n := s.Connections(); n > 0 && n < opts.Connections {
				opts.Connections = n
			}
		}
	}
	budget := src.DailyDownload
	if dst.DailyUpload > 0 && (budget == 0 || dst.DailyUpload < budget) {
		budget = dst.DailyUpload
	}
	if p.dailyLimit != "" {
		if budget, err = parseSize(p.dailyLimit); err != nil {
			return usageErr("--daily-limit: %v", err)
		}
	}
	opts.ByteBudget = budget
	opts.ThrottleBackoff = max(src.Backoff, dst.Backoff)
	opts.SourceLabels = hasSrc && src.Labels
	opts.DestLabels = hasDst && dst.Labels
	opts.Labels = engine.LabelOptions{SpamAndTrash: p.spamAndTrash, FirstLabelOnly: p.firstLabelOnly}
	if hasDst && dst.Folders != nil {
		opts.RoleFolders = dst.Folders
	}
	return nil
}
