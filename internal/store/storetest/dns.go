package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runDNS checks engagement domains, the MX watch state and the cutover
// record that happens once.
func runDNS(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("EngagementDomainsAndCutover", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := store.Customer{Name: "Contoso", Domain: "contoso.com"}
		s.CreateCustomer(ctx, &c)
		e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Playbook: "default"}
		tasks := []*store.EngagementTask{{TaskID: store.CutoverTaskID, Phase: "Migrate", Name: "Post Mail Migration - DNS Records and Mail Flow", Role: "frp", Party: "partner", Status: "Not Started"}}
		if err := s.CreateEngagement(ctx, &e, tasks); err != nil {
			t.Fatal(err)
		}
		d := store.EngagementDomain{EngagementID: e.ID, Domain: "contoso.com", VerificationTXT: "MS=ms12345678", Resolver: "127.0.0.1:53"}
		if err := s.AddEngagementDomain(ctx, &d); err != nil || d.ID == 0 {
			t.Fatalf("AddEngagementDomain: %+v, %v", d, err)
		}
		if err := s.AddEngagementDomain(ctx, &store.EngagementDomain{EngagementID: e.ID, Domain: "contoso.com"}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second contoso.com: %v", err)
		}
		f := store.EngagementDomain{EngagementID: e.ID, Domain: "fabrikam.com"}
		if err := s.AddEngagementDomain(ctx, &f); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 4, 18, 5, 0, 0, time.UTC)
		d.Streak, d.DestSince, d.ReadyAt, d.SourceTTL, d.LastChecked, d.LastMX = 1, at, at.Add(time.Hour), 300, at, "0 contoso-com.mail.protection.outlook.com"
		if err := s.SaveMXWatch(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds, err := s.EngagementDomains(ctx, e.ID)
		if err != nil || len(ds) != 2 || ds[0].Domain != "contoso.com" || ds[0].Streak != 1 || !ds[0].ReadyAt.Equal(at.Add(time.Hour)) ||
			ds[0].SourceTTL != 300 || ds[0].LastMX != d.LastMX || ds[0].VerificationTXT != "MS=ms12345678" || ds[0].Resolver != "127.0.0.1:53" {
			t.Fatalf("EngagementDomains = %+v, %v", ds, err)
		}
		if all, _ := s.EngagementDomains(ctx, 0); len(all) != 2 {
			t.Fatalf("every engagement's domains: %+v", all)
		}

		src := store.Endpoint{CustomerID: c.ID, Name: "old", Type: "imap", Host: "old.example", Port: 993, Security: "tls"}
		dst := store.Endpoint{CustomerID: c.ID, Name: "new", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls"}
		s.CreateEndpoint(ctx, &src)
		s.CreateEndpoint(ctx, &dst)
		proj := store.Project{CustomerID: c.ID, EngagementID: e.ID, Name: "Mail", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 2}
		if err := s.CreateProject(ctx, &proj); err != nil {
			t.Fatal(err)
		}
		p := proj.ID
		items := []*store.Item{{ProjectID: p, Source: "a@contoso.com", Dest: "a@contoso.com"}, {ProjectID: p, Source: "b@contoso.com", Dest: "b@contoso.com"}}
		if err := s.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		ids := []int64{items[0].ID, items[1].ID}
		calls := 0
		enqueue := func(ctx context.Context, tx any) ([]int64, error) {
			calls++
			if tx == nil {
				return nil, errors.New("no transaction")
			}
			return []int64{500, 0}, nil // b's pass was running already
		}
		// A failed enqueue records nothing.
		refused := errors.New("queue refused")
		if ok, err := s.RecordMXCutover(ctx, &store.MXCutover{EngagementID: e.ID, Domain: "contoso.com", At: at, Trigger: "watch"}, "w", ids, "full",
			func(context.Context, any) ([]int64, error) { return nil, refused }); ok || !errors.Is(err, refused) {
			t.Fatalf("RecordMXCutover with the queue refusing: %v, %v", ok, err)
		}
		if cs, _ := s.MXCutovers(ctx, e.ID); len(cs) != 0 {
			t.Fatalf("a refused cutover left %+v", cs)
		}
		cut := store.MXCutover{EngagementID: e.ID, Domain: "contoso.com", At: at, Trigger: "watch", MX: "0 contoso-com.mail.protection.outlook.com"}
		ok, err := s.RecordMXCutover(ctx, &cut, "ferry (MX watch)", ids, "full", enqueue)
		if err != nil || !ok || cut.ID == 0 || cut.Queued != 1 || cut.Waiting != 1 {
			t.Fatalf("RecordMXCutover = %v, %v, %+v", ok, err, cut)
		}
		again := store.MXCutover{EngagementID: e.ID, Domain: "contoso.com", At: at.Add(time.Hour), Trigger: "operator pat"}
		if ok, err := s.RecordMXCutover(ctx, &again, "pat", ids, "full", enqueue); ok || err != nil || calls != 1 {
			t.Fatalf("second RecordMXCutover = %v, %v (enqueue called %d times)", ok, err, calls)
		}
		if it, _ := s.Item(ctx, ids[0]); it.Status != store.StatusQueued || it.JobID != 500 || it.LastPass != "full" {
			t.Fatalf("item a = %+v", it)
		}
		if it, _ := s.Item(ctx, ids[1]); it.Status == store.StatusQueued {
			t.Fatalf("item b, whose pass was running, was changed: %+v", it)
		}
		cs, err := s.MXCutovers(ctx, e.ID)
		if err != nil || len(cs) != 1 || !cs[0].At.Equal(at) || cs[0].Trigger != "watch" || cs[0].Queued != 1 || cs[0].Waiting != 1 || cs[0].MX != cut.MX {
			t.Fatalf("MXCutovers = %+v, %v", cs, err)
		}
		// b was busy: its final pass waits, and is queued once.
		if w, err := s.WaitingCutoverItems(ctx, cut.ID); err != nil || len(w) != 1 || w[0] != ids[1] {
			t.Fatalf("WaitingCutoverItems = %v, %v", w, err)
		}
		one := func(ctx context.Context, tx any) ([]int64, error) { return []int64{501}, nil }
		if ok, err := s.QueueWaitingCutoverItem(ctx, cut.ID, ids[1], "full", one); !ok || err != nil {
			t.Fatalf("QueueWaitingCutoverItem = %v, %v", ok, err)
		}
		if ok, err := s.QueueWaitingCutoverItem(ctx, cut.ID, ids[1], "full", one); ok || err != nil {
			t.Fatalf("second QueueWaitingCutoverItem = %v, %v", ok, err)
		}
		if it, _ := s.Item(ctx, ids[1]); it.Status != store.StatusQueued || it.JobID != 501 {
			t.Fatalf("item b = %+v", it)
		}
		if w, _ := s.WaitingCutoverItems(ctx, cut.ID); len(w) != 0 {
			t.Fatalf("still waiting: %v", w)
		}
		if cs, _ := s.MXCutovers(ctx, e.ID); len(cs) != 1 || cs[0].Queued != 2 || cs[0].Waiting != 0 {
			t.Fatalf("after the waiting item's pass: %+v", cs)
		}

		evs, _ := s.Events(ctx, e.ID)
		if len(evs) != 1 || evs[0].Kind != store.MXCutoverEventKind || !evs[0].Starts.Equal(at) {
			t.Fatalf("events = %+v", evs)
		}
		ts, _ := s.EngagementTasks(ctx, e.ID)
		if ts[0].Status != "In Progress" {
			t.Fatalf("task 1370 = %+v", ts[0])
		}
		if hist, _ := s.TaskEvents(ctx, ts[0].ID); len(hist) != 1 || hist[0].Who != "ferry (MX watch)" || hist[0].After != "In Progress" {
			t.Fatalf("task events = %+v", hist)
		}

		// The post-migration check: Complete once every domain of the engagement passed it.
		cut.PostChecked, cut.PostReady, cut.PostReport = at.Add(2*time.Hour), true, `{"ready":true}`
		if err := s.SavePostCheck(ctx, cut, "ferry (MX watch)"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := s.EngagementTasks(ctx, e.ID); ts[0].Status != "In Progress" {
			t.Fatalf("1370 completed while fabrikam.com is not cut over: %+v", ts[0])
		}
		if err := s.RemoveEngagementDomain(ctx, e.ID, "fabrikam.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveEngagementDomain(ctx, e.ID, "fabrikam.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing it twice: %v", err)
		}
		if err := s.SavePostCheck(ctx, cut, "ferry (MX watch)"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := s.EngagementTasks(ctx, e.ID); ts[0].Status != "Complete" || ts[0].Percent != 100 {
			t.Fatalf("1370 after every domain checked: %+v", ts[0])
		}
		if cs, _ := s.MXCutovers(ctx, 0); len(cs) != 1 || !cs[0].PostReady || !cs[0].PostChecked.Equal(at.Add(2*time.Hour)) || cs[0].PostReport != `{"ready":true}` {
			t.Fatalf("post check = %+v", cs)
		}

		// An item whose pass waits in the queue to be retried: that pass
		// is its final one, nothing is queued twice, no error.
		c3 := store.Item{ProjectID: p, Source: "c@contoso.com", Dest: "c@contoso.com"}
		if err := s.CreateItems(ctx, []*store.Item{&c3}); err != nil {
			t.Fatal(err)
		}
		f2 := store.MXCutover{EngagementID: e.ID, Domain: "fabrikam.com", At: at, Trigger: "watch"}
		if ok, err := s.RecordMXCutover(ctx, &f2, "w", []int64{c3.ID}, "full", func(context.Context, any) ([]int64, error) { return []int64{0}, nil }); !ok || err != nil || f2.Waiting != 1 {
			t.Fatalf("fabrikam.com cutover: %v %v %+v", ok, err, f2)
		}
		if ok, err := s.QueueWaitingCutoverItem(ctx, f2.ID, c3.ID, "full", func(context.Context, any) ([]int64, error) { return []int64{0}, nil }); !ok || err != nil {
			t.Fatalf("QueueWaitingCutoverItem with the pass in the queue: %v, %v", ok, err)
		}
		if w, _ := s.WaitingCutoverItems(ctx, f2.ID); len(w) != 0 {
			t.Fatalf("still waiting: %v", w)
		}
		// A waiting item deleted since waits no more.
		c4 := store.Item{ProjectID: p, Source: "d@contoso.com", Dest: "d@contoso.com"}
		if err := s.CreateItems(ctx, []*store.Item{&c4}); err != nil {
			t.Fatal(err)
		}
		t3 := store.MXCutover{EngagementID: e.ID, Domain: "tailspin.com", At: at, Trigger: "watch"}
		if ok, err := s.RecordMXCutover(ctx, &t3, "w", []int64{c4.ID}, "full", func(context.Context, any) ([]int64, error) { return []int64{0}, nil }); !ok || err != nil || t3.Waiting != 1 {
			t.Fatalf("tailspin.com cutover: %v %v %+v", ok, err, t3)
		}
		if err := s.DeleteItems(ctx, p, []int64{c4.ID}); err != nil {
			t.Fatal(err)
		}
		if w, _ := s.WaitingCutoverItems(ctx, t3.ID); len(w) != 0 {
			t.Fatalf("a deleted item waits: %v", w)
		}
		all, err := s.MXCutovers(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			if c.Domain == "tailspin.com" && c.Waiting != 0 {
				t.Fatalf("tailspin.com after its item was deleted: %+v", c)
			}
		}
	})
}
