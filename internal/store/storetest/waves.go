package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func runWaves(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("Waves", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		_, other := projectFixture2(t, s)
		var items []*store.Item
		for i := range 4 {
			items = append(items, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("u%d@contoso.com", i), Dest: fmt.Sprintf("u%d@new.contoso.com", i), Status: store.StatusNotSubmitted})
		}
		foreign := &store.Item{ProjectID: other.ID, Source: "x@fabrikam.com", Dest: "x@new.fabrikam.com", Status: store.StatusNotSubmitted}
		if err := s.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateItems(ctx, []*store.Item{foreign}); err != nil {
			t.Fatal(err)
		}
		cut := time.Date(2027, 1, 8, 17, 0, 0, 0, time.UTC)
		wave := func(n int, its ...store.WaveItem) *store.Wave {
			return &store.Wave{Number: n, Name: fmt.Sprintf("Wave %d", n), Cutover: cut.AddDate(0, 0, 7*(n-1)), PrestageAt: cut.AddDate(0, 0, 7*(n-1)-7),
				OlderThanDays: 30, TimeZone: "Europe/Berlin", SizeMB: 1234.5, Estimate: 90 * time.Minute, EstimateNote: "about 1 h 30 min", AcceptedBy: "ana", Items: its}
		}
		// An item of another project, or in two waves: nothing is saved.
		for _, bad := range [][]*store.Wave{
			{wave(1, store.WaveItem{ItemID: items[0].ID, Batch: "BATCH-1"}, store.WaveItem{ItemID: foreign.ID, Batch: "BATCH-1"})},
			{wave(1, store.WaveItem{ItemID: items[0].ID, Batch: "BATCH-1"}), wave(2, store.WaveItem{ItemID: items[0].ID, Batch: "BATCH-1"})},
		} {
			if err := s.SaveWaves(ctx, p.ID, bad); err == nil {
				t.Fatal("bad waves saved")
			}
			if ws, _ := s.Waves(ctx, p.ID); len(ws) != 0 {
				t.Fatalf("a failed save left %+v", ws)
			}
		}
		ws := []*store.Wave{
			wave(1, store.WaveItem{ItemID: items[1].ID, Batch: "BATCH-1"}, store.WaveItem{ItemID: items[0].ID, Batch: "BATCH-1"}),
			wave(2, store.WaveItem{ItemID: items[2].ID, Batch: "BATCH-NoDependencies"}),
		}
		if err := s.SaveWaves(ctx, p.ID, ws); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveWaves(ctx, p.ID, []*store.Wave{wave(3, store.WaveItem{ItemID: items[3].ID})}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second plan: %v, want ErrDuplicate", err)
		}
		got, err := s.Waves(ctx, p.ID)
		if err != nil || len(got) != 2 {
			t.Fatalf("waves %+v %v", got, err)
		}
		w1 := got[0]
		if w1.ID != ws[0].ID || w1.Name != "Wave 1" || !w1.Cutover.Equal(cut) || w1.Estimate != 90*time.Minute || w1.SizeMB != 1234.5 || w1.TimeZone != "Europe/Berlin" ||
			len(w1.Items) != 2 || w1.Items[0].Source != "u0@contoso.com" || w1.Items[0].Batch != "BATCH-1" || len(got[1].Items) != 1 {
			t.Fatalf("wave 1 %+v", w1)
		}
		w1.PassesQueued, w1.EventID, w1.GoNoGoEventID = true, 7, 8
		if err := s.UpdateWave(ctx, w1); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Waves(ctx, p.ID); !got[0].PassesQueued || got[0].EventID != 7 || got[0].GoNoGoEventID != 8 || got[1].PassesQueued {
			t.Fatalf("after update %+v", got)
		}
		w1.ProjectID = other.ID
		if err := s.UpdateWave(ctx, w1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through another project: %v", err)
		}
		if got, _ := s.Waves(ctx, other.ID); len(got) != 0 {
			t.Fatalf("other project's waves %+v", got)
		}
	})
}
