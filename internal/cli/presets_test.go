package cli

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/engine"
)

func TestPresetFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		args             []string
		from, to         string
		wantFrom, wantTo string
		wantSize, budget int64
		wantConns        int
		labels           bool
	}{
		{name: "gmail to m365", args: []string{"--from-type", "gmail", "--to-type", "m365"}, from: "alice@example.com", to: "alice@contoso.com",
			wantFrom: "imaps://alice@example.com@imap.gmail.com:993", wantTo: "imaps://alice@contoso.com@outlook.office365.com:993",
			wantSize: 35 << 20, budget: 2500 << 20, wantConns: 3, labels: true},
		{name: "overrides win", args: []string{"--from-type", "google", "--to-type", "office365", "--max-message-size", "10MiB", "--connections", "2", "--daily-limit", "0"},
			from: "imaps://alice@proxy.example:1993", to: "alice@contoso.com",
			wantFrom: "imaps://alice@proxy.example:1993", wantTo: "imaps://alice@contoso.com@outlook.office365.com:993",
			wantSize: 10 << 20, budget: 0, wantConns: 2, labels: true},
		{name: "into gmail: its upload limit", args: []string{"--to-type", "gmail"}, from: "imaps://bob@old.example", to: "bob@example.com",
			wantFrom: "imaps://bob@old.example", wantTo: "imaps://bob@example.com@imap.gmail.com:993",
			wantSize: 25 << 20, budget: 500 << 20, wantConns: 3},
		{name: "no presets", from: "imaps://bob@old.example", to: "imaps://bob@new.example",
			wantFrom: "imaps://bob@old.example", wantTo: "imaps://bob@new.example", wantConns: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f connFlags
			cmd := &cobra.Command{Use: "migrate"}
			f.register(cmd)
			fl := cmd.Flags()
			var maxSize string
			fl.StringVar(&maxSize, "max-message-size", "", "")
			if err := fl.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			from, err := f.presets.url(0, tc.from)
			if err != nil || from != tc.wantFrom {
				t.Fatalf("source URL = %q, %v; want %q", from, err, tc.wantFrom)
			}
			to, err := f.presets.url(1, tc.to)
			if err != nil || to != tc.wantTo {
				t.Fatalf("destination URL = %q, %v; want %q", to, err, tc.wantTo)
			}
			opts := f.engineOptions()
			if maxSize != "" {
				opts.MaxMessageSize, _ = parseSize(maxSize)
			}
			if err := f.presets.apply(&opts); err != nil {
				t.Fatal(err)
			}
			got := engine.Options{MaxMessageSize: opts.MaxMessageSize, ByteBudget: opts.ByteBudget, Connections: opts.Connections, SourceLabels: opts.SourceLabels}
			want := engine.Options{MaxMessageSize: tc.wantSize, ByteBudget: tc.budget, Connections: tc.wantConns, SourceLabels: tc.labels}
			if got.MaxMessageSize != want.MaxMessageSize || got.ByteBudget != want.ByteBudget || got.Connections != want.Connections || got.SourceLabels != want.SourceLabels {
				t.Errorf("options = size %d budget %d connections %d labels %v; want size %d budget %d connections %d labels %v",
					got.MaxMessageSize, got.ByteBudget, got.Connections, got.SourceLabels, want.MaxMessageSize, want.ByteBudget, want.Connections, want.SourceLabels)
			}
		})
	}
}

func TestPresetFlagsRefuseUnknownSystemAndMissingHost(t *testing.T) {
	t.Parallel()
	p := presetFlags{fromType: "lotus"}
	if _, err := p.url(0, "alice"); err == nil {
		t.Error("an unknown --from-type was accepted")
	}
	p = presetFlags{toType: "dovecot"}
	if _, err := p.url(1, "alice"); err == nil {
		t.Error("--to alice with a system without a fixed host was accepted")
	}
}
