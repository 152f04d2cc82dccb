package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// projectFixture creates a customer, two endpoints and a project.
func projectFixture(t *testing.T, s store.Store) (store.Customer, store.Project) {
	t.Helper()
	ctx := context.Background()
	c := store.Customer{Name: "Contoso", Domain: "contoso.com", Industry: "Retail", Size: "500"}
	if err := s.CreateCustomer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	src := store.Endpoint{CustomerID: c.ID, Name: "old", Type: "dovecot", Host: "old.contoso.com", Port: 993, Security: "tls", AdminUser: "admin", SealedPassword: "v1:x:y"}
	dst := store.Endpoint{CustomerID: c.ID, Name: "new", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls", MaxMessageSize: 35 << 20}
	for _, e := range []*store.Endpoint{&src, &dst} {
		if err := s.CreateEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	p := store.Project{CustomerID: c.ID, Name: "Mailboxes", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 10, MaxErrors: 50,
		Include: []string{"INBOX", "Archive*"}, ItemTypes: []string{"mail"}}
	if err := s.CreateProject(ctx, &p); err != nil {
		t.Fatal(err)
	}
	return c, p
}

// projectFixture2 is a second customer with a project, for what must not mix.
func projectFixture2(t *testing.T, s store.Store) (store.Customer, store.Project) {
	t.Helper()
	ctx := context.Background()
	c := store.Customer{Name: "Fabrikam", Domain: "fabrikam.com"}
	if err := s.CreateCustomer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	src := store.Endpoint{CustomerID: c.ID, Name: "old", Type: "dovecot", Host: "old.fabrikam.com", Port: 993, Security: "tls"}
	dst := store.Endpoint{CustomerID: c.ID, Name: "new", Type: "dovecot", Host: "new.fabrikam.com", Port: 993, Security: "tls"}
	for _, e := range []*store.Endpoint{&src, &dst} {
		if err := s.CreateEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	p := store.Project{CustomerID: c.ID, Name: "Mailboxes", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 10, MaxErrors: 50, ItemTypes: []string{"mail"}}
	if err := s.CreateProject(ctx, &p); err != nil {
		t.Fatal(err)
	}
	return c, p
}

func runProjects(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("CustomersEndpointsProjects", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c, p := projectFixture(t, s)
		if err := s.CreateCustomer(ctx, &store.Customer{Name: "Contoso", Domain: "x"}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate customer: %v", err)
		}
		got, err := s.Project(ctx, p.ID)
		if err != nil || got.Name != "Mailboxes" || len(got.Include) != 2 || got.MaxConcurrent != 10 {
			t.Fatalf("project %+v %v", got, err)
		}
		eps, _ := s.Endpoints(ctx, c.ID)
		if len(eps) != 2 || !eps[1].HasCredentials || eps[0].HasCredentials {
			t.Fatalf("endpoints %+v", eps)
		}
		if err := s.DeleteEndpoint(ctx, p.SourceID); err == nil {
			t.Fatal("deleted an endpoint a project uses")
		}
		if got.FirstLabelOnly || got.SpamAndTrash {
			t.Fatalf("a new project has Gmail label options set: %+v", got)
		}
		got.MaxConcurrent, got.Closed, got.FirstLabelOnly, got.SpamAndTrash, got.EngagementID = 4, true, true, true, 77
		if err := s.UpdateProject(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Project(ctx, p.ID); got.MaxConcurrent != 4 || !got.Closed || !got.FirstLabelOnly || !got.SpamAndTrash || got.EngagementID != 77 {
			t.Fatalf("update lost: %+v", got)
		}
		if _, err := s.Customer(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		if err := s.DeleteCustomer(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Project(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("project survived its customer: %v", err)
		}
	})

	t.Run("QueuePassIsOneTransaction", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		var items []*store.Item
		for i := range 3 {
			items = append(items, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("q%d@contoso.com", i), Dest: fmt.Sprintf("q%d@contoso.onmicrosoft.com", i),
				Status: store.StatusNotSubmitted})
		}
		if err := s.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		ids := []int64{items[0].ID, items[1].ID, items[2].ID}
		unchanged := func(when string) {
			t.Helper()
			for _, want := range items {
				got, _ := s.Item(ctx, want.ID)
				if got.Status != store.StatusNotSubmitted || got.JobID != 0 || got.LastPass != "" {
					t.Fatalf("%s: item %+v changed", when, got)
				}
			}
		}
		// The jobs could not be queued: no row changes.
		refused := errors.New("the queue refused")
		if _, err := s.QueuePass(ctx, ids, "full", func(context.Context, any) ([]int64, error) { return nil, refused }); !errors.Is(err, refused) {
			t.Fatalf("enqueue failed: %v", err)
		}
		unchanged("after a failed enqueue")
		// A row cannot be written (an item deleted meanwhile): the others are not written either.
		if _, err := s.QueuePass(ctx, append(ids, 1<<40), "full", func(context.Context, any) ([]int64, error) { return []int64{1, 2, 3, 4}, nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing item: %v", err)
		}
		unchanged("after a failed write")
		// The queue gets the store's transaction, and a job id per item; 0: queued already.
		got, err := s.QueuePass(ctx, ids, "trial", func(ctx context.Context, tx any) ([]int64, error) {
			if tx == nil {
				return nil, errors.New("no transaction")
			}
			return []int64{11, 0, 13}, nil
		})
		if err != nil || fmt.Sprint(got) != "[11 0 13]" {
			t.Fatalf("QueuePass = %v, %v", got, err)
		}
		for i, want := range []struct {
			status, pass string
			job          int64
		}{{store.StatusQueued, "trial", 11}, {store.StatusNotSubmitted, "", 0}, {store.StatusQueued, "trial", 13}} {
			it, _ := s.Item(ctx, ids[i])
			if it.Status != want.status || it.LastPass != want.pass || it.JobID != want.job {
				t.Fatalf("item %d: %+v, want %+v", i, it, want)
			}
		}
	})

	t.Run("ProjectRunsWithTheirWorker", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		_, other := projectFixture2(t, s)
		start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		var want []store.ItemRun
		for i, pr := range []store.Project{p, p, other} {
			it := &store.Item{ProjectID: pr.ID, Source: fmt.Sprintf("r%d@contoso.com", i), Dest: fmt.Sprintf("r%d@contoso.onmicrosoft.com", i)}
			if err := s.CreateItems(ctx, []*store.Item{it}); err != nil {
				t.Fatal(err)
			}
			mb, err := s.Mailbox(ctx, store.MailboxKey{Source: it.Source, Destination: it.Dest})
			if err != nil {
				t.Fatal(err)
			}
			it.MailboxID = mb
			if err := s.UpdateItem(ctx, *it); err != nil {
				t.Fatal(err)
			}
			r := &store.Run{Pass: "full", Started: start.Add(time.Duration(i) * time.Minute), Worker: fmt.Sprintf("host%d:%d", i, 100+i), ItemID: it.ID}
			if err := s.StartRun(ctx, mb, r); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				r.Ended, r.Status, r.Copied, r.CopiedBytes = start.Add(10*time.Minute), "completed", 7, 7000
				if err := s.FinishRun(ctx, mb, r); err != nil {
					t.Fatal(err)
				}
			}
			if pr.ID == p.ID {
				want = append(want, store.ItemRun{ItemID: it.ID, Run: *r})
			}
		}
		got, err := s.ProjectRuns(ctx, p.ID)
		if err != nil || len(got) != 2 {
			t.Fatalf("ProjectRuns = %+v, %v; want the 2 runs of the project's items", got, err)
		}
		for i, g := range got {
			w := want[i]
			if g.ItemID != w.ItemID || g.ID != w.ID || g.Worker != w.Worker || !g.Started.Equal(w.Started) || !g.Ended.Equal(w.Ended) || g.CopiedBytes != w.CopiedBytes {
				t.Errorf("run %d: %+v, want %+v", i, g, w)
			}
		}
		if got[1].Ended.IsZero() != true || got[1].Status != "running" {
			t.Errorf("a run not finished: %+v", got[1])
		}
	})

	t.Run("EditItemsAllOrNothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		var items []store.Item
		for _, a := range []string{"ann", "bob", "cy"} {
			it := &store.Item{ProjectID: p.ID, Source: a + "@contoso.com", Dest: a + "@contoso.onmicrosoft.com"}
			if err := s.CreateItems(ctx, []*store.Item{it}); err != nil {
				t.Fatal(err)
			}
			items = append(items, *it)
		}
		edit := func(its ...store.Item) []store.Item {
			out := make([]store.Item, len(its))
			for i, it := range its {
				it.SourceLogin, it.SealedSourcePassword = "admin", "sealed-"+it.Source
				out[i] = it
			}
			return out
		}
		// A running item refuses the whole edit: nothing is saved.
		if err := s.SetItemStatus(ctx, items[2].ID, store.StatusRunning, "full", 0); err != nil {
			t.Fatal(err)
		}
		err := s.EditItems(ctx, edit(items...))
		if !errors.Is(err, store.ErrItemBusy) || !strings.Contains(err.Error(), fmt.Sprint(items[2].ID)) {
			t.Fatalf("EditItems with a running item: %v, want ErrItemBusy naming item %d", err, items[2].ID)
		}
		for _, it := range items {
			if got, _ := s.Item(ctx, it.ID); got.SourceLogin != "" || got.SealedSourcePassword != "" {
				t.Fatalf("a refused EditItems saved item %d: %+v", it.ID, got)
			}
		}
		// A destination another item has: nothing is saved.
		dup := edit(items[0], items[1])
		dup[1].Dest = items[0].Dest
		if err := s.EditItems(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("EditItems with a duplicate destination: %v, want ErrDuplicate", err)
		}
		if got, _ := s.Item(ctx, items[0].ID); got.SourceLogin != "" {
			t.Fatalf("a refused EditItems saved the first item: %+v", got)
		}
		gone := edit(items[0], store.Item{ID: items[2].ID + 1000, ProjectID: p.ID, Dest: "x@y"})
		if err := s.EditItems(ctx, gone); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EditItems of a missing item: %v, want ErrNotFound", err)
		}
		// Without the running one, both are saved.
		if err := s.EditItems(ctx, edit(items[0], items[1])); err != nil {
			t.Fatal(err)
		}
		for _, it := range items[:2] {
			if got, _ := s.Item(ctx, it.ID); got.SourceLogin != "admin" || got.SealedSourcePassword != "sealed-"+it.Source || got.Dest != it.Dest {
				t.Fatalf("after EditItems: %+v", got)
			}
		}
	})

	t.Run("ItemRunsEditDelete", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		_, other := projectFixture2(t, s)
		// The same mailbox pair in two customers' projects shares the engine's state.
		key := store.MailboxKey{Source: "imap://shared@mail.example.com:143", Destination: "imap://shared@dest.example.com:143"}
		mb, err := s.Mailbox(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var items []*store.Item
		for _, pr := range []store.Project{p, other} {
			it := &store.Item{ProjectID: pr.ID, Source: "shared@contoso.com", Dest: "shared@contoso.onmicrosoft.com", MailboxID: mb}
			if err := s.CreateItems(ctx, []*store.Item{it}); err != nil {
				t.Fatal(err)
			}
			if err := s.StartRun(ctx, mb, &store.Run{Pass: "trial", Started: time.Now(), ItemID: it.ID}); err != nil {
				t.Fatal(err)
			}
			items = append(items, it)
		}
		for _, it := range items {
			runs, err := s.ItemRuns(ctx, it.ID)
			if err != nil || len(runs) != 1 || runs[0].ItemID != it.ID {
				t.Fatalf("ItemRuns(%d) = %+v, %v; want the item's one run", it.ID, runs, err)
			}
		}

		mine := *items[0]
		mine.Dest, mine.SourceLogin, mine.SealedSourcePassword = "moved@contoso.onmicrosoft.com", "admin", "sealed-new"
		if err := s.EditItem(ctx, mine); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Item(ctx, mine.ID)
		if got.Dest != mine.Dest || got.SourceLogin != "admin" || got.SealedSourcePassword != "sealed-new" {
			t.Fatalf("after EditItem: %+v", got)
		}
		if err := s.SetItemStatus(ctx, mine.ID, store.StatusRunning, "full", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.EditItem(ctx, mine); !errors.Is(err, store.ErrItemBusy) {
			t.Fatalf("EditItem of a running item: %v, want ErrItemBusy", err)
		}
		if err := s.DeleteItems(ctx, p.ID, []int64{mine.ID}); !errors.Is(err, store.ErrItemBusy) {
			t.Fatalf("DeleteItems of a running item: %v, want ErrItemBusy", err)
		}
		if err := s.DeleteItems(ctx, p.ID, []int64{items[1].ID}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteItems of another project's item: %v, want ErrNotFound", err)
		}
		if err := s.SetItemStatus(ctx, mine.ID, store.StatusCompleted, "full", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteItems(ctx, p.ID, []int64{mine.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Item(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted item: %v", err)
		}
		if _, err := s.Item(ctx, items[1].ID); err != nil {
			t.Fatalf("the other project's item: %v", err)
		}
	})

	t.Run("ItemsDuplicatesFilters", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		var items []*store.Item
		for i := 0; i < 25; i++ {
			items = append(items, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("user%02d@contoso.com", i), Dest: fmt.Sprintf("user%02d@contoso.onmicrosoft.com", i)})
		}
		if err := s.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		dup := []*store.Item{{ProjectID: p.ID, Source: "new@contoso.com", Dest: "new@x"}, {ProjectID: p.ID, Source: "USER03@contoso.com", Dest: "other@x"}}
		if err := s.CreateItems(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate source accepted: %v", err)
		}
		if _, n, _ := s.Items(ctx, p.ID, store.ItemFilter{}); n != 25 {
			t.Fatalf("%d items after a refused batch, want 25 (all or nothing)", n)
		}
		s.SetItemStatus(ctx, items[3].ID, store.StatusFailed, "full", 7)
		s.SetItemStatus(ctx, items[4].ID, store.StatusCompleted, "full", 0)
		failed, n, _ := s.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusFailed}})
		if n != 1 || failed[0].Errors != 7 || failed[0].LastPass != "full" {
			t.Fatalf("failed items %+v", failed)
		}
		page, n, _ := s.Items(ctx, p.ID, store.ItemFilter{Search: "USER1", Limit: 5, Offset: 5})
		if n != 10 || len(page) != 5 || page[0].Source != "user15@contoso.com" {
			t.Fatalf("search page: total %d %+v", n, page)
		}
		byID, _, _ := s.Items(ctx, p.ID, store.ItemFilter{IDs: []int64{items[0].ID, items[24].ID}})
		if len(byID) != 2 {
			t.Fatalf("by id %+v", byID)
		}
		sorted, _, _ := s.Items(ctx, p.ID, store.ItemFilter{Sort: "-source", Limit: 2})
		if len(sorted) != 2 || sorted[0].Source != "user24@contoso.com" || sorted[1].Source != "user23@contoso.com" {
			t.Fatalf("sorted by source, descending: %+v", sorted)
		}
		byErrors, _, _ := s.Items(ctx, p.ID, store.ItemFilter{Sort: "-errors", Limit: 1})
		if len(byErrors) != 1 || byErrors[0].ID != items[3].ID {
			t.Fatalf("sorted by errors: %+v", byErrors)
		}
		time.Sleep(5 * time.Millisecond)
		since := time.Now()
		s.SetItemStatus(ctx, items[9].ID, store.StatusRunning, "full", 0)
		changed, n, _ := s.Items(ctx, p.ID, store.ItemFilter{UpdatedSince: since})
		if n != 1 || changed[0].ID != items[9].ID {
			t.Fatalf("updated since: %d %+v", n, changed)
		}
		got, _ := s.Project(ctx, p.ID)
		if got.ItemCount != 25 || got.StatusBreakdown[store.StatusNotSubmitted] != 22 {
			t.Fatalf("breakdown %+v", got.StatusBreakdown)
		}
	})

	t.Run("LeasesHoldTheLimit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		var items []*store.Item
		for i := 0; i < 12; i++ {
			items = append(items, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("u%d@a", i), Dest: fmt.Sprintf("u%d@b", i)})
		}
		s.CreateItems(ctx, items)
		var got atomic.Int32
		var wg sync.WaitGroup
		for i, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcquireLease(ctx, store.Lease{ItemID: it.ID, ProjectID: p.ID, Owner: fmt.Sprintf("w%d", i%3), Expires: time.Now().Add(time.Minute)}, 4)
				if err != nil {
					t.Error(err)
				}
				if ok {
					got.Add(1)
				}
			}()
		}
		wg.Wait()
		if got.Load() != 4 {
			t.Fatalf("%d leases granted with a limit of 4", got.Load())
		}
		ls, _ := s.Leases(ctx, p.ID)
		if len(ls) != 4 {
			t.Fatalf("leases %+v", ls)
		}
		// Another owner cannot take a held item; the holder renews; expiry frees the slot.
		held := ls[0]
		if ok, _ := s.AcquireLease(ctx, store.Lease{ItemID: held.ItemID, ProjectID: p.ID, Owner: "intruder", Expires: time.Now().Add(time.Minute)}, 10); ok {
			t.Fatal("a held item was leased twice")
		}
		if err := s.RenewLease(ctx, store.Lease{ItemID: held.ItemID, Owner: held.Owner, Expires: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AcquireLease(ctx, store.Lease{ItemID: held.ItemID, ProjectID: p.ID, Owner: "next", Expires: time.Now().Add(time.Minute)}, 4); !ok {
			t.Fatal("an expired lease still holds its slot")
		}
		for _, l := range ls[1:] {
			s.ReleaseLease(ctx, l.ItemID, l.Owner)
		}
		if ls, _ = s.Leases(ctx, p.ID); len(ls) != 1 {
			t.Fatalf("after release: %+v", ls)
		}
	})

	// A lease belongs to one attempt of a pass, not to a process: a second
	// attempt of the same item is refused while the first's lease lives,
	// whoever runs it, and cannot renew or release the first's lease.
	t.Run("LeaseBelongsToOneAttempt", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		it := &store.Item{ProjectID: p.ID, Source: "long@a", Dest: "long@b"}
		if err := s.CreateItems(ctx, []*store.Item{it}); err != nil {
			t.Fatal(err)
		}
		first := store.Lease{ItemID: it.ID, ProjectID: p.ID, Owner: "attempt-1@host:10", Expires: time.Now().Add(time.Minute)}
		second := store.Lease{ItemID: it.ID, ProjectID: p.ID, Owner: "attempt-2@host:10", Expires: time.Now().Add(time.Minute)}
		if ok, err := s.AcquireLease(ctx, first, 1); !ok || err != nil {
			t.Fatalf("first attempt: %v %v", ok, err)
		}
		ok, err := s.AcquireLease(ctx, second, 10)
		if ok || !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("second attempt while the first's lease lives: granted %v, err %v; want refused with ErrLeaseHeld", ok, err)
		}
		if err := s.RenewLease(ctx, second); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the second attempt renewed the first's lease: %v", err)
		}
		s.ReleaseLease(ctx, it.ID, second.Owner)
		// The holder renews, also through AcquireLease, without taking a second slot.
		first.Expires = time.Now().Add(2 * time.Minute)
		if ok, err := s.AcquireLease(ctx, first, 1); !ok || err != nil {
			t.Fatalf("the holder's renewal: %v %v", ok, err)
		}
		if err := s.RenewLease(ctx, first); err != nil {
			t.Fatal(err)
		}
		ls, _ := s.Leases(ctx, p.ID)
		if len(ls) != 1 || ls[0].Owner != first.Owner || ls[0].Expires.Before(time.Now().Add(time.Minute)) {
			t.Fatalf("leases %+v, want the first attempt's, renewed", ls)
		}
		if err := s.ReleaseLease(ctx, it.ID, first.Owner); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.AcquireLease(ctx, second, 1); !ok || err != nil {
			t.Fatalf("second attempt after the first released: %v %v", ok, err)
		}
		// Stopping the pass withdraws the lease from whoever holds it.
		if err := s.WithdrawLease(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RenewLease(ctx, second); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("renewal of a withdrawn lease: %v", err)
		}
		if ls, _ := s.Leases(ctx, p.ID); len(ls) != 0 {
			t.Fatalf("leases after withdrawal: %+v", ls)
		}
	})

	t.Run("ExpiredLeasesAreReapedOnce", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		live, dead := &store.Item{ProjectID: p.ID, Source: "live@x", Dest: "live@y"}, &store.Item{ProjectID: p.ID, Source: "dead@x", Dest: "dead@y"}
		if err := s.CreateItems(ctx, []*store.Item{live, dead}); err != nil {
			t.Fatal(err)
		}
		s.AcquireLease(ctx, store.Lease{ItemID: live.ID, ProjectID: p.ID, Owner: "alive", Expires: time.Now().Add(time.Minute)}, 5)
		s.AcquireLease(ctx, store.Lease{ItemID: dead.ID, ProjectID: p.ID, Owner: "killed", Expires: time.Now().Add(time.Minute)}, 5)
		if err := s.RenewLease(ctx, store.Lease{ItemID: dead.ID, Owner: "killed", Expires: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		// The dead attempt holds no slot, and taking one leaves its lease for the reaper.
		other := &store.Item{ProjectID: p.ID, Source: "other@x", Dest: "other@y"}
		s.CreateItems(ctx, []*store.Item{other})
		if ok, err := s.AcquireLease(ctx, store.Lease{ItemID: other.ID, ProjectID: p.ID, Owner: "next", Expires: time.Now().Add(time.Minute)}, 2); !ok || err != nil {
			t.Fatalf("a slot held by an expired lease: granted %v, %v", ok, err)
		}
		s.ReleaseLease(ctx, other.ID, "next")
		reaped, err := s.ReapExpiredLeases(ctx)
		if err != nil || len(reaped) != 1 || reaped[0].ItemID != dead.ID || reaped[0].ProjectID != p.ID || reaped[0].Owner != "killed" {
			t.Fatalf("reaped %+v, %v; want the expired lease of item %d alone", reaped, err, dead.ID)
		}
		if again, err := s.ReapExpiredLeases(ctx); err != nil || len(again) != 0 {
			t.Fatalf("reaped again: %+v, %v; each expired lease goes to one caller", again, err)
		}
		if ls, _ := s.Leases(ctx, p.ID); len(ls) != 1 || ls[0].ItemID != live.ID {
			t.Fatalf("leases left: %+v; want the live one", ls)
		}
		// The dead attempt's item showed Running: it goes back to Queued; the live one stays Running.
		for _, it := range []*store.Item{live, dead} {
			if err := s.SetItemStatus(ctx, it.ID, store.StatusRunning, "full", 0); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.RequeueUnleased(ctx); n != 1 || err != nil {
			t.Fatalf("requeued %d, %v; want the dead attempt's item alone", n, err)
		}
		for it, want := range map[*store.Item]string{live: store.StatusRunning, dead: store.StatusQueued} {
			if got, _ := s.Item(ctx, it.ID); got.Status != want {
				t.Errorf("item %s: %s, want %s", it.Source, got.Status, want)
			}
		}
	})

	t.Run("EndpointOAuth2", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c, _ := projectFixture(t, s)
		e := store.Endpoint{CustomerID: c.ID, Name: "m365", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls",
			OAuth2Tenant: "contoso.onmicrosoft.com", OAuth2ClientID: "app-id", OAuth2Scope: "https://outlook.office365.com/.default", OAuth2Mechanism: "OAUTHBEARER", SealedOAuth2: "v1:k:o"}
		if err := s.CreateEndpoint(ctx, &e); err != nil {
			t.Fatal(err)
		}
		got, err := s.Endpoint(ctx, e.ID)
		if err != nil || got.OAuth2Tenant != e.OAuth2Tenant || got.OAuth2ClientID != "app-id" || got.OAuth2Scope != e.OAuth2Scope || got.OAuth2Mechanism != "OAUTHBEARER" ||
			got.SealedOAuth2 != "v1:k:o" || !got.HasCredentials {
			t.Fatalf("endpoint %+v %v", got, err)
		}
		got.OAuth2TokenURL, got.OAuth2Tenant = "https://login.microsoftonline.us/t/oauth2/v2.0/token", "t"
		if err := s.UpdateEndpoint(ctx, got); err != nil {
			t.Fatal(err)
		}
		creds, err := s.SealedCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, cr := range creds {
			if cr.Column == "sealed_oauth2" && cr.ID == e.ID {
				found = true
				cr.Value = "v1:new:o"
				if err := s.Reseal(ctx, cr); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, _ = s.Endpoint(ctx, e.ID)
		if !found || got.SealedOAuth2 != "v1:new:o" || got.OAuth2Tenant != "t" || got.OAuth2TokenURL == "" {
			t.Fatalf("after update and reseal (listed %v): %+v", found, got)
		}
	})

	t.Run("SealedCredentials", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		it := &store.Item{ProjectID: p.ID, Source: "a@x", Dest: "b@y", SealedSourcePassword: "v1:k:s", SealedDestPassword: "v1:k:d"}
		s.CreateItems(ctx, []*store.Item{it})
		creds, err := s.SealedCredentials(ctx)
		if err != nil || len(creds) != 3 {
			t.Fatalf("creds %+v %v", creds, err)
		}
		for _, c := range creds {
			c.Value = "v1:new:" + c.Column
			if err := s.Reseal(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := s.Item(ctx, it.ID)
		if got.SealedDestPassword != "v1:new:sealed_dest_password" {
			t.Fatalf("item %+v", got)
		}
		if err := s.EraseProjectCredentials(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Item(ctx, it.ID); got.SealedSourcePassword != "" || got.SealedDestPassword != "" {
			t.Fatal("credentials survived the erase")
		}
	})
}
