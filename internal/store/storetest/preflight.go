package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func runPreflight(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("PreflightLimitsAndRuns", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c, p := projectFixture(t, s)
		// Limits set on an endpoint and a project come back; none stays none.
		ep := store.Endpoint{CustomerID: c.ID, Name: "strict", Type: "imap", Host: "imap.contoso.com", Port: 993, Security: "tls",
			Limits: store.Limits{MaxFolderPathLength: 250, MaxFolderDepth: 16}}
		if err := s.CreateEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Endpoint(ctx, ep.ID); got.Limits != ep.Limits {
			t.Fatalf("endpoint limits %+v, want %+v", got.Limits, ep.Limits)
		}
		ep.Limits.MaxFolderItems = 1000
		if err := s.UpdateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Endpoint(ctx, ep.ID); got.Limits != ep.Limits {
			t.Fatalf("endpoint limits after update %+v, want %+v", got.Limits, ep.Limits)
		}
		if got, _ := s.Project(ctx, p.ID); got.Limits != (store.Limits{}) {
			t.Fatalf("project without limits has %+v", got.Limits)
		}
		p.Limits = store.Limits{MaxMessageSize: 10 << 20}
		if err := s.UpdateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Project(ctx, p.ID); got.Limits != p.Limits {
			t.Fatalf("project limits %+v, want %+v", got.Limits, p.Limits)
		}

		// Runs: newest first, updated in place.
		queued := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
		first := store.PreflightRun{ProjectID: p.ID, RequestedBy: "fiona@example.com", Queued: queued}
		second := store.PreflightRun{ProjectID: p.ID}
		for _, r := range []*store.PreflightRun{&first, &second} {
			if err := s.AddPreflightRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if first.ID == 0 || first.State != store.PreflightQueued {
			t.Fatalf("added %+v", first)
		}
		first.JobID, first.State, first.Started, first.Finished = 77, store.PreflightDone, queued.Add(time.Second), queued.Add(2*time.Second)
		first.Heartbeat = queued.Add(1500 * time.Millisecond)
		first.Report = `{"findings":[]}`
		if err := s.UpdatePreflightRun(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := s.PreflightRun(ctx, first.ID)
		if err != nil || got.JobID != 77 || got.State != store.PreflightDone || !got.Finished.Equal(first.Finished) || !got.Heartbeat.Equal(first.Heartbeat) || got.Report != first.Report ||
			got.RequestedBy != "fiona@example.com" || !got.Queued.Equal(queued) {
			t.Fatalf("run %+v, %v", got, err)
		}
		runs, err := s.PreflightRuns(ctx, p.ID, 0)
		if err != nil || len(runs) != 2 || runs[0].ID != second.ID {
			t.Fatalf("runs %+v, %v", runs, err)
		}
		if runs, _ := s.PreflightRuns(ctx, p.ID, 1); len(runs) != 1 || runs[0].ID != second.ID {
			t.Fatalf("latest run %+v", runs)
		}
		if _, err := s.PreflightRun(ctx, second.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing run: %v", err)
		}
		if err := s.UpdatePreflightRun(ctx, store.PreflightRun{ID: second.ID + 100, State: "done"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing run: %v", err)
		}
	})

	t.Run("ChecklistFindings", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c, p := projectFixture(t, s)
		e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Playbook: "default"}
		if err := s.CreateEngagement(ctx, &e, nil); err != nil {
			t.Fatal(err)
		}
		item := store.ChecklistItem{EngagementID: e.ID, Title: "alice@contoso.com: message too large", Severity: "high", State: "open", Source: "preflight",
			ProjectID: p.ID, Mailbox: "alice@contoso.com", Check: "message-size", Found: "INBOX UID 7 (40 MB)", Action: "remove it", Key: "alice|message-size|INBOX|7"}
		if err := s.SaveChecklistItem(ctx, &item); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Truncate(time.Millisecond)
		item.State, item.WaivedBy, item.WaivedAt, item.WaiveReason = "waived", "fiona@example.com", at, "the customer archives it elsewhere"
		item.Found = "INBOX UID 7 (41 MB)"
		if err := s.SaveChecklistItem(ctx, &item); err != nil {
			t.Fatal(err)
		}
		items, err := s.ChecklistItems(ctx, e.ID)
		if err != nil || len(items) != 1 {
			t.Fatalf("items %+v, %v", items, err)
		}
		got := items[0]
		if got.ProjectID != p.ID || got.Mailbox != item.Mailbox || got.Check != item.Check || got.Found != item.Found || got.Action != item.Action ||
			got.Key != item.Key || got.State != "waived" || got.WaivedBy != item.WaivedBy || !got.WaivedAt.Equal(at) || got.WaiveReason != item.WaiveReason {
			t.Fatalf("finding came back as %+v", got)
		}
	})
}
