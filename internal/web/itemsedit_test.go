package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// TestBulkFixLoginsThenRetry: in the project's table, several failed
// mailboxes get one new login and password at once, then Retry errors
// runs for them; a refused fix changes none and names the mailbox.
func TestBulkFixLoginsThenRetry(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 4)
	ctx := context.Background()
	st := b.tp.app.Store
	for _, it := range b.items[:3] {
		if err := st.SetItemStatus(ctx, it.ID, store.StatusFailed, "full", 0); err != nil {
			t.Fatal(err)
		}
	}
	item := func(i int) store.Item {
		it, err := st.Item(ctx, b.items[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	was := []store.Item{item(0), item(1), item(2), item(3)}
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	page := b.partner.get(path)
	for _, w := range []string{`<details class="bulk-edit" id="bulk-edit">`, `name="bulk_source_password" type="password" value=""`,
		`id="bulk-retry" name="bulk_retry" value="1" checked`, `formaction="/projects/` + itoa(b.project.ID) + `/items/edit`} {
		if !strings.Contains(page.body, w) {
			t.Errorf("project page: no %q", w)
		}
	}
	checkAccessible(t, "project with the bulk fix", page.body)

	const pw = "Bulk-Fix-Pa55word"
	form := url.Values{"item": {itoa(b.items[0].ID), itoa(b.items[1].ID)}, "scope": {"selected"}, "bulk_source_login": {" migration.admin "},
		"bulk_destination_password": {pw}, "bulk_retry": {"1"}}
	res := b.partner.post(path+"/items/edit", form)
	loc := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.Contains(loc, "edited=2") || !strings.Contains(loc, "queued=2") {
		t.Fatalf("bulk fix: %d %s %s", res.status, loc, res.body)
	}
	for i := range 2 {
		it := item(i)
		if it.SourceLogin != "migration.admin" || it.SealedDestPassword == was[i].SealedDestPassword || it.SealedDestPassword == "" || it.Status != store.StatusQueued || it.Dest != was[i].Dest {
			t.Errorf("item %d after the bulk fix: %+v", i, it)
		}
	}
	if it := item(2); !reflect.DeepEqual(it, was[2]) {
		t.Errorf("an unselected mailbox changed: %+v", it)
	}
	flash := b.partner.get(loc)
	if !strings.Contains(flash.body, "2 mailbox(es) changed. Retry errors: 2 mailbox(es) queued.") {
		t.Errorf("no flash saying what was changed and queued")
	}

	// Refused: mailbox 0's pass is queued; nothing changes, the page says which, keeps the selection and the login, never the password.
	res = b.partner.post(path+"/items/edit", url.Values{"item": {itoa(b.items[2].ID), itoa(b.items[0].ID)}, "bulk_destination_login": {"dest.admin"},
		"bulk_source_password": {pw}, "bulk_retry": {"1"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "mailbox "+b.items[0].Source) || !strings.Contains(res.body, "nothing was changed") {
		t.Fatalf("fix with a queued mailbox: %d %s", res.status, res.body)
	}
	for _, w := range []string{`<details class="bulk-edit" id="bulk-edit" open>`, `id="bulk-error"`, `value="dest.admin"`,
		`id="item-` + itoa(b.items[2].ID) + `" name="item" value="` + itoa(b.items[2].ID) + `" form="pass-form" checked`} {
		if !strings.Contains(res.body, w) {
			t.Errorf("refused fix: no %q", w)
		}
	}
	if strings.Contains(res.body, pw) {
		t.Error("the refused fix shows the password")
	}
	if it := item(2); !reflect.DeepEqual(it, was[2]) {
		t.Errorf("a refused fix changed mailbox 2: %+v", it)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"nothing selected", url.Values{"bulk_source_login": {"x"}}, http.StatusBadRequest, "select the mailboxes"},
		{"nothing to change", url.Values{"item": {itoa(b.items[2].ID)}}, http.StatusBadRequest, "nothing to change"},
		{"another customer's mailbox", url.Values{"item": {itoa(b.items[2].ID), itoa(b.otherItem.ID)}, "bulk_source_login": {"x"}}, http.StatusNotFound, ""},
	} {
		if res := b.partner.post(path+"/items/edit", tc.form); res.status != tc.code || !strings.Contains(res.body, tc.want) {
			t.Errorf("%s: %d, want %d saying %q", tc.name, res.status, tc.code, tc.want)
		}
	}
	if res := b.partner.post(fmt.Sprintf("/projects/%d/items/edit", b.otherProject.ID), url.Values{"item": {itoa(b.otherItem.ID)}, "bulk_source_login": {"x"}}); res.status != http.StatusNotFound {
		t.Errorf("another customer's project: %d, want 404", res.status)
	}
	b.tp.user("vera@contoso.example", auth.Viewer, b.customer.ID)
	viewer := b.tp.signedIn("vera@contoso.example")
	if page := viewer.get(path); strings.Contains(page.body, `id="bulk-edit"`) {
		t.Error("a viewer is offered the bulk fix")
	}
	if res := viewer.post(path+"/items/edit", url.Values{"item": {itoa(b.items[2].ID)}, "bulk_source_login": {"x"}}); res.status != http.StatusForbidden {
		t.Errorf("a viewer's bulk fix: %d, want 403", res.status)
	}
	if it := item(2); !reflect.DeepEqual(it, was[2]) {
		t.Errorf("a refused fix changed mailbox 2: %+v", it)
	}

	// Without Retry errors: the login is the address again; the mailbox waits.
	res = b.partner.post(path+"/items/edit", url.Values{"item": {itoa(b.items[2].ID)}, "bulk_source_login_address": {"1"}, "bulk_source_password": {pw}})
	if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || strings.Contains(loc, "queued") {
		t.Fatalf("fix without retry: %d %s", res.status, loc)
	}
	if it := item(2); it.Status != store.StatusFailed || it.SourceLogin != "" || it.SealedSourcePassword == was[2].SealedSourcePassword {
		t.Errorf("mailbox 2 after a fix without retry: %+v", it)
	}

	// Each mailbox's change is audited, the passwords as "credentials changed".
	entries, err := st.Audit(ctx, store.AuditFilter{ProjectID: b.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]store.AuditEntry{}
	for _, e := range entries {
		if e.Action == string(auth.ActionEditItem) {
			edits[e.Object] = e
		}
		if strings.Contains(e.Before+e.After, pw) {
			t.Errorf("audit entry shows the password: %+v", e)
		}
	}
	if len(edits) != 3 {
		t.Errorf("audit has %d mailboxes edited, want 3: %+v", len(edits), entries)
	}
	for obj, e := range edits {
		if e.Who == "" || !strings.Contains(e.After, "credentials") {
			t.Errorf("audit of %s: %+v", obj, e)
		}
	}
}
