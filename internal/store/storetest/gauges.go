package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runGauges checks store.Gauges, which every store implements for the metrics.
func runGauges(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("GaugesCountItemsAndLeasesOfOpenProjects", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		g, ok := s.(store.Gauges)
		if !ok {
			t.Fatalf("%T does not implement store.Gauges", s)
		}
		c, p := projectFixture(t, s)
		closed := store.Project{CustomerID: c.ID, Name: "Old", Kind: "mailbox", SourceID: p.SourceID, DestID: p.DestID, MaxConcurrent: 2, ItemTypes: []string{"mail"}}
		if err := s.CreateProject(ctx, &closed); err != nil {
			t.Fatal(err)
		}
		var items []*store.Item
		for i := range 5 {
			items = append(items, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("g%d@a", i), Dest: fmt.Sprintf("g%d@b", i)})
		}
		items = append(items, &store.Item{ProjectID: closed.ID, Source: "gone@a", Dest: "gone@b"})
		if err := s.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		closed.Closed = true
		if err := s.UpdateProject(ctx, closed); err != nil {
			t.Fatal(err)
		}
		s.SetItemStatus(ctx, items[0].ID, store.StatusCompleted, "full", 0)
		s.SetItemStatus(ctx, items[1].ID, store.StatusCompleted, "full", 0)
		s.SetItemStatus(ctx, items[2].ID, store.StatusFailed, "trial", 3)
		for _, it := range items[:2] {
			if ok, err := s.AcquireLease(ctx, store.Lease{ItemID: it.ID, ProjectID: p.ID, Owner: "w", Expires: time.Now().Add(time.Minute)}, 10); !ok || err != nil {
				t.Fatalf("lease: %v %v", ok, err)
			}
		}
		if ok, err := s.AcquireLease(ctx, store.Lease{ItemID: items[3].ID, ProjectID: p.ID, Owner: "dead", Expires: time.Now().Add(-time.Minute)}, 10); !ok || err != nil {
			t.Fatalf("lease: %v %v", ok, err)
		}

		counts, err := g.ItemCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.ItemCount{
			{ProjectID: p.ID, Status: store.StatusCompleted, LastPass: "full", Count: 2},
			{ProjectID: p.ID, Status: store.StatusFailed, LastPass: "trial", Count: 1},
			{ProjectID: p.ID, Status: store.StatusNotSubmitted, LastPass: "", Count: 2},
		}
		if !slices.Equal(counts, want) {
			t.Fatalf("item counts\n got %+v\nwant %+v (a closed project's items are left out)", counts, want)
		}
		leases, err := g.LeaseCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(leases) != 1 || leases[p.ID] != 2 {
			t.Fatalf("lease counts %v, want {%d: 2} (an expired lease is not held)", leases, p.ID)
		}
	})
}
