package projects_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// TestEditItemsFixesLoginsAtOnce: several mailboxes whose login was
// refused are fixed with one edit, then Retry errors migrates them; a
// refused bulk edit changes none and names the mailbox at fault.
func TestEditItemsFixesLoginsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	ctx := operator
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	ids := []int64{items[0].ID, items[1].ID}
	str := func(s string) *string { return &s }

	// A bulk import put a wrong source login on two mailboxes.
	got, err := b.svc.EditItems(ctx, b.project.ID, ids, projects.ItemEdit{SourceLogin: str(" nobody@fabrikam.com ")})
	if err != nil || len(got) != 2 || got[0].SourceLogin != "nobody@fabrikam.com" || got[1].SourceLogin != "nobody@fabrikam.com" {
		t.Fatalf("EditItems: %+v %v", got, err)
	}
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.waitItem(t, ids[0], store.StatusFailed)
	b.waitItem(t, ids[1], store.StatusFailed)
	b.waitItem(t, items[2].ID, store.StatusCompletedVerify)

	before := map[int64]store.Item{}
	for _, it := range items {
		before[it.ID], _ = b.st.Item(ctx, it.ID)
	}
	other := b.secondCustomer(t, b.users[2])
	as := func(role auth.Role, customers ...int64) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{Name: "someone", Kind: "user", Role: role, Customers: customers})
	}
	own := b.project.CustomerID
	refused := []struct {
		name    string
		ctx     context.Context
		project int64
		ids     []int64
		edit    projects.ItemEdit
		want    error
		field   string
		words   []string // the error says
	}{
		{"no mailbox", ctx, b.project.ID, nil, projects.ItemEdit{SourceLogin: str("")}, fault.ErrInvalid, "ids", []string{"select the mailboxes"}},
		{"nothing to change", ctx, b.project.ID, ids, projects.ItemEdit{}, fault.ErrInvalid, "ids", []string{"nothing to change"}},
		{"one destination for all", ctx, b.project.ID, ids, projects.ItemEdit{Dest: str("x@fabrikam.com")}, fault.ErrInvalid, "destination", []string{"its own destination"}},
		{"an empty password", ctx, b.project.ID, ids, projects.ItemEdit{SourceLogin: str(""), DestPassword: str("")}, fault.ErrInvalid, "destination_password",
			[]string{"mailbox " + items[0].Source, "cannot be set empty", "nothing was changed"}},
		{"another project's item", ctx, b.project.ID, []int64{ids[0], other.ID}, projects.ItemEdit{SourceLogin: str("")}, fault.ErrNotFound, "",
			[]string{"has no item", "nothing was changed"}},
		{"a partner of another customer", as(auth.Partner, own+100), b.project.ID, ids, projects.ItemEdit{SourceLogin: str("")}, fault.ErrNotFound, "", nil},
		{"a viewer", as(auth.Viewer, own), b.project.ID, ids, projects.ItemEdit{SourceLogin: str("")}, fault.ErrForbidden, "", nil},
		{"a customer project manager", as(auth.CustomerProjectManager, own), b.project.ID, ids, projects.ItemEdit{SourceLogin: str("")}, fault.ErrForbidden, "", nil},
	}
	for _, tc := range refused {
		_, err := b.svc.EditItems(tc.ctx, tc.project, tc.ids, tc.edit)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		fe, _ := fault.As(err)
		if tc.field != "" && fe.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, fe.Field, tc.field)
		}
		for _, w := range tc.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
	// A mailbox whose pass runs refuses the whole edit, named.
	if err := b.st.SetItemStatus(ctx, items[2].ID, store.StatusRunning, "full", 0); err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.EditItems(ctx, b.project.ID, []int64{ids[0], ids[1], items[2].ID}, projects.ItemEdit{SourceLogin: str(""), SourcePassword: str("new")})
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "mailbox "+items[2].Source) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("edit with a running mailbox: %v, want a conflict naming %s", err, items[2].Source)
	}
	if err := b.st.SetItemStatus(ctx, items[2].ID, store.StatusCompletedVerify, "verify", 0); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		now, _ := b.st.Item(ctx, it.ID)
		if now.SourceLogin != before[it.ID].SourceLogin || now.SealedSourcePassword != before[it.ID].SealedSourcePassword || now.SealedDestPassword != before[it.ID].SealedDestPassword {
			t.Errorf("a refused bulk edit changed item %d: %+v", it.ID, now)
		}
	}

	// The fix: the address is the login again (and the same ids twice count once).
	got, err = b.svc.EditItems(ctx, b.project.ID, []int64{ids[0], ids[1], ids[0]}, projects.ItemEdit{SourceLogin: str("")})
	if err != nil || len(got) != 2 {
		t.Fatalf("fix: %+v %v", got, err)
	}
	for _, it := range got {
		if it.SourceLogin != "" || it.SealedSourcePassword != before[it.ID].SealedSourcePassword {
			t.Errorf("fixed item %+v", it)
		}
	}
	if res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "retry", Selection: projects.Selection{ItemIDs: ids}}); err != nil || res.Queued != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	b.waitItem(t, ids[0], store.StatusCompleted)
	b.waitItem(t, ids[1], store.StatusCompleted)

	// A new password is sealed: stored, never as given.
	got, err = b.svc.EditItems(ctx, b.project.ID, ids, projects.ItemEdit{DestPassword: str("Temp-Pa55")})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range got {
		if it.SealedDestPassword == "" || it.SealedDestPassword == before[it.ID].SealedDestPassword || strings.Contains(it.SealedDestPassword, "Temp-Pa55") {
			t.Errorf("destination password of item %d not sealed anew: %q", it.ID, it.SealedDestPassword)
		}
	}
}
