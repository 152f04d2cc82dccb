package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runEngagementRecords: an engagement's success plan, go/no-go decisions
// and ticked responsibilities.
func runEngagementRecords(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("EngagementRecords", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := store.Customer{Name: "Tailspin", Domain: "tailspin.com"}
		s.CreateCustomer(ctx, &c)
		e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Playbook: "default"}
		if err := s.CreateEngagement(ctx, &e, nil); err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)

		if _, err := s.SuccessPlan(ctx, e.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no plan yet: %v", err)
		}
		p := store.SuccessPlan{EngagementID: e.ID, Goals: "mail in Exchange Online", Outcomes: "all mailboxes moved", OwnerID: 4, Owner: "carl@tailspin.com", Agreed: day, UpdatedBy: "ana"}
		if err := s.SaveSuccessPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Goals, p.UpdatedBy = "mail and calendars in Exchange Online", "ben"
		if err := s.SaveSuccessPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.SuccessPlan(ctx, e.ID)
		if err != nil || got.Goals != p.Goals || got.UpdatedBy != "ben" || !got.Agreed.Equal(day) || got.OwnerID != 4 || got.Outcomes != p.Outcomes || got.Updated.IsZero() {
			t.Fatalf("plan %+v %v", got, err)
		}

		ev := store.ScheduledEvent{EngagementID: e.ID, Kind: "go-no-go", Title: "Wave 1 go/no-go", Starts: day, Ends: day.Add(time.Hour), TimeZone: "UTC"}
		if err := s.SaveEvent(ctx, &ev); err != nil {
			t.Fatal(err)
		}
		for _, d := range []store.GoNoGoDecision{
			{EngagementID: e.ID, EventID: ev.ID, Decision: "no-go", Who: "fiona@x", WhoID: 2, At: day, Evidence: `{"failed":3}`, Notes: "three failures"},
			{EngagementID: e.ID, EventID: ev.ID, Decision: "go", Who: "fiona@x", WhoID: 2, At: day.Add(time.Hour), Evidence: `{"failed":0}`},
		} {
			if err := s.AddGoNoGo(ctx, &d); err != nil || d.ID == 0 {
				t.Fatalf("add %+v: %v", d, err)
			}
		}
		ds, err := s.GoNoGoDecisions(ctx, e.ID)
		if err != nil || len(ds) != 2 || ds[0].Decision != "no-go" || ds[0].Evidence != `{"failed":3}` || ds[0].Notes != "three failures" || !ds[1].At.Equal(day.Add(time.Hour)) || ds[1].WhoID != 2 {
			t.Fatalf("decisions %+v %v", ds, err)
		}
		if ds, _ := s.GoNoGoDecisions(ctx, e.ID+100); len(ds) != 0 {
			t.Fatalf("another engagement's decisions: %+v", ds)
		}

		for _, r := range []store.Responsibility{
			{EngagementID: e.ID, Key: "Initiate:a", Done: true, Who: "carl", At: day},
			{EngagementID: e.ID, Key: "Initiate:b", Done: true, Who: "carl", At: day},
			{EngagementID: e.ID, Key: "Initiate:a", Done: false, Who: "cleo", At: day.Add(time.Hour)},
		} {
			if err := s.SetResponsibility(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := s.Responsibilities(ctx, e.ID)
		if err != nil || len(rs) != 2 || rs[0].Key != "Initiate:a" || rs[0].Done || rs[0].Who != "cleo" || !rs[1].Done {
			t.Fatalf("responsibilities %+v %v", rs, err)
		}
	})
}
