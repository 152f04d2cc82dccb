package web

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

const adminSecret = "S3cret-Admin-Pa55word"

// migrationBundle is a portal with a partner's customer (two endpoints, a
// project, items) and another tenant's customer with the same.
type migrationBundle struct {
	tp           *testPortal
	partner      *client
	customer     store.Customer
	src, dst     store.Endpoint
	project      store.Project
	items        []store.Item
	other        store.Customer
	otherEP      store.Endpoint
	otherProject store.Project
	otherItem    store.Item
	partnerEmail string
}

func (b *migrationBundle) svc() *projects.Service { return b.tp.app.Service }

// asOperator acts as an administrator at the command line (for setting
// up): the services let only a person with the right role change projects.
func asOperator(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{Name: "test operator", Kind: "cli", Role: auth.Administrator})
}

// migrationTenant makes a customer with two endpoints (with administrator
// credentials), a project and n items, through the application's services.
func migrationTenant(t testing.TB, a *app.App, name string, n int) (store.Customer, store.Endpoint, store.Endpoint, store.Project, []store.Item) {
	t.Helper()
	ctx := asOperator(context.Background())
	svc := a.Service
	c, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: name, Domain: strings.ToLower(name) + ".example"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: "Old IMAP", Type: "imap", Host: "old." + c.Domain,
		AdminUser: "admin", Password: adminSecret})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: "New Dovecot", Type: "dovecot", Host: "new." + c.Domain,
		AdminUser: "admin", Password: adminSecret})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Mail move", SourceID: src.ID, DestID: dst.ID})
	if err != nil {
		t.Fatal(err)
	}
	var its []*store.Item
	for i := range n {
		its = append(its, &store.Item{ProjectID: p.ID, Source: fmt.Sprintf("user%04d@old.%s", i, c.Domain), Dest: fmt.Sprintf("user%04d@new.%s", i, c.Domain)})
	}
	if n > 0 {
		if err := svc.Store.CreateItems(ctx, its); err != nil {
			t.Fatal(err)
		}
	}
	items := make([]store.Item, len(its))
	for i, it := range its {
		items[i] = *it
	}
	return c, src, dst, p, items
}

func setupMigration(t *testing.T, n int) *migrationBundle {
	t.Helper()
	tp := newTestPortal(t)
	b := &migrationBundle{tp: tp, partnerEmail: "pat@partner.example"}
	b.customer, b.src, b.dst, b.project, b.items = migrationTenant(t, tp.app, "Contoso", n)
	var others []store.Item
	b.other, b.otherEP, _, b.otherProject, others = migrationTenant(t, tp.app, "Fabrikam", 1)
	b.otherItem = others[0]
	tp.user(b.partnerEmail, auth.Partner, b.customer.ID)
	b.partner = tp.signedIn(b.partnerEmail)
	return b
}

var (
	reControl  = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	reID       = regexp.MustCompile(`\bid="([^"]+)"`)
	reType     = regexp.MustCompile(`\btype="([^"]+)"`)
	reHeading  = regexp.MustCompile(`<h([1-6])\b`)
	reTh       = regexp.MustCompile(`<th\b[^>]*>`)
	reLabelFor = regexp.MustCompile(`<label\b[^>]*\bfor="([^"]+)"`)
)

// checkAccessible checks what can be checked on the HTML: every control
// has a <label for>, headings do not skip levels, every th has a scope.
func checkAccessible(t *testing.T, page, body string) {
	t.Helper()
	labels := map[string]bool{}
	for _, m := range reLabelFor.FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	for _, c := range reControl.FindAllString(body, -1) {
		if ty := reType.FindStringSubmatch(c); ty != nil && (ty[1] == "hidden" || ty[1] == "submit") {
			continue
		}
		id := reID.FindStringSubmatch(c)
		if id == nil || !labels[id[1]] {
			t.Errorf("%s: control without a label: %s", page, c)
		}
	}
	level := 0
	for _, m := range reHeading.FindAllStringSubmatch(body, -1) {
		h := int(m[1][0] - '0')
		if h > level+1 {
			t.Errorf("%s: heading h%d follows h%d", page, h, level)
		}
		level = h
	}
	for _, th := range reTh.FindAllString(body, -1) {
		if !strings.Contains(th, "scope=") {
			t.Errorf("%s: th without scope: %s", page, th)
		}
	}
}

func TestMigrationPagesRender(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 3)
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"new endpoint", fmt.Sprintf("/customers/%d/endpoints/new", b.customer.ID), []string{"Provide credentials", "Do not provide credentials", "Max message size"}},
		{"endpoint", fmt.Sprintf("/endpoints/%d", b.src.ID), []string{"Old IMAP", "provided", "Mail move", "Change credentials"}},
		{"new project", fmt.Sprintf("/customers/%d/projects/new", b.customer.ID), []string{"Source endpoint", "New Dovecot"}},
		{"project", fmt.Sprintf("/projects/%d", b.project.ID), []string{"Verify credentials", "Pre-stage", "Retry errors", "Stop", `data-live="/projects/`,
			`data-count="Not Submitted">3<`, `data-bar="Failed"`, b.items[0].Source, "Bulk add", "Advanced settings", "Close project", `data-select-all="item"`}},
		{"items without htmx", fmt.Sprintf("/projects/%d/items?sort=-source", b.project.ID), []string{"<html", b.items[2].Source}},
		{"item", fmt.Sprintf("/items/%d", b.items[0].ID), []string{b.items[0].Source, "Migration history", "hasn't started migrating"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.partner.get(tc.path)
			if res.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, res.status, res.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.body, w) {
					t.Errorf("GET %s: no %q", tc.path, w)
				}
			}
			if strings.Contains(res.body, adminSecret) {
				t.Errorf("GET %s shows the password", tc.path)
			}
			checkAccessible(t, tc.path, res.body)
		})
	}
}

func TestMigrationPagesTenantIsolation(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	o := b.other.ID
	for _, tc := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/customers/%d/endpoints/new", o)},
		{"POST", fmt.Sprintf("/customers/%d/endpoints", o)},
		{"GET", fmt.Sprintf("/endpoints/%d", b.otherEP.ID)},
		{"POST", fmt.Sprintf("/endpoints/%d/credentials", b.otherEP.ID)},
		{"POST", fmt.Sprintf("/endpoints/%d/delete", b.otherEP.ID)},
		{"GET", fmt.Sprintf("/customers/%d/projects/new", o)},
		{"POST", fmt.Sprintf("/customers/%d/projects", o)},
		{"GET", fmt.Sprintf("/projects/%d", b.otherProject.ID)},
		{"GET", fmt.Sprintf("/projects/%d/items", b.otherProject.ID)},
		{"GET", fmt.Sprintf("/projects/%d/live", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/items", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/import", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/passes", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/stop", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/settings", b.otherProject.ID)},
		{"POST", fmt.Sprintf("/projects/%d/close", b.otherProject.ID)},
		{"GET", fmt.Sprintf("/items/%d", b.otherItem.ID)},
		{"GET", "/items/999999"},
		{"GET", "/projects/999999"},
		{"GET", "/endpoints/999999"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var res response
			form := url.Values{"name": {"x"}, "type": {"imap"}, "host": {"h.example"}, "pass": {"verify"}, "scope": {"all"}, "source": {"a@b.example"},
				"destination": {"c@d.example"}, "csv": {"source,destination\na@b.example,c@d.example\n"}, "credentials": {"none"}}
			if tc.method == "GET" {
				res = b.partner.get(tc.path)
			} else {
				res = b.partner.post(tc.path, form)
			}
			if res.status != http.StatusForbidden && res.status != http.StatusNotFound {
				t.Fatalf("%s %s: %d, want 403 or 404", tc.method, tc.path, res.status)
			}
		})
	}
	// Nothing of the other tenant changed.
	ctx := context.Background()
	p, _ := b.tp.app.Store.Project(ctx, b.otherProject.ID)
	it, _ := b.tp.app.Store.Item(ctx, b.otherItem.ID)
	ep, err := b.tp.app.Store.Endpoint(ctx, b.otherEP.ID)
	if p.Closed || p.ItemCount != 1 || it.Status != store.StatusNotSubmitted || err != nil || !ep.HasCredentials {
		t.Fatalf("the other tenant changed: closed %v, %d items, status %s, endpoint %v %v", p.Closed, p.ItemCount, it.Status, err, ep.HasCredentials)
	}
}

func TestEndpointFormCredentialsWriteOnly(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 0)
	c := b.partner
	var bodies []string
	keep := func(r response) response { bodies = append(bodies, r.body); return r }
	keep(c.get(fmt.Sprintf("/customers/%d/endpoints/new", b.customer.ID)))
	const secret = "Very-Secret-Token-42"
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"provide without user", url.Values{"name": {"A"}, "type": {"office365"}, "host": {"outlook.office365.com"}, "credentials": {"provide"}, "password": {secret}},
			http.StatusBadRequest, "admin_user"},
		{"office365 user must be an email", url.Values{"name": {"A"}, "type": {"office365"}, "host": {"outlook.office365.com"}, "credentials": {"provide"},
			"admin_user": {"admin"}, "password": {secret}}, http.StatusBadRequest, "email addresses"},
		{"bad port", url.Values{"name": {"A"}, "type": {"imap"}, "host": {"h.example"}, "port": {"x"}, "credentials": {"none"}}, http.StatusBadRequest, "port"},
		{"ok", url.Values{"name": {"O365"}, "type": {"office365"}, "host": {"outlook.office365.com"}, "credentials": {"provide"},
			"admin_user": {"admin@contoso.example"}, "oauth2_token": {secret}, "max_message_mb": {"35"}}, http.StatusSeeOther, ""},
	} {
		res := keep(c.post(fmt.Sprintf("/customers/%d/endpoints", b.customer.ID), tc.form))
		if res.status != tc.status || !strings.Contains(res.body, tc.want) {
			t.Fatalf("%s: %d %s", tc.name, res.status, res.body)
		}
		if res.status == http.StatusBadRequest && !strings.Contains(res.body, `value="A"`) {
			t.Errorf("%s: the form lost its values", tc.name)
		}
	}
	loc := bodies[len(bodies)-1]
	_ = loc
	es, _ := b.tp.app.Store.Endpoints(context.Background(), b.customer.ID)
	var e store.Endpoint
	for _, x := range es {
		if x.Name == "O365" {
			e = x
		}
	}
	if !e.HasCredentials || e.MaxMessageSize != 35<<20 {
		t.Fatalf("endpoint: %+v", e)
	}
	page := keep(c.get(fmt.Sprintf("/endpoints/%d?saved=1", e.ID)))
	if !strings.Contains(page.body, ">provided (administrator admin@contoso.example)") {
		t.Fatalf("endpoint page: %s", page.body)
	}
	// Remove the credentials: "not provided".
	res := keep(c.post(fmt.Sprintf("/endpoints/%d/credentials", e.ID), url.Values{"credentials": {"none"}}))
	if res.status != http.StatusSeeOther {
		t.Fatalf("remove credentials: %d %s", res.status, res.body)
	}
	if page := keep(c.get(fmt.Sprintf("/endpoints/%d", e.ID))); !strings.Contains(page.body, "not provided") {
		t.Fatal("credentials still shown as provided")
	}
	res = keep(c.post(fmt.Sprintf("/endpoints/%d/credentials", e.ID), url.Values{"credentials": {"provide"}, "admin_user": {"admin@contoso.example"}, "password": {secret + "pw"}}))
	if res.status != http.StatusSeeOther {
		t.Fatalf("set credentials: %d %s", res.status, res.body)
	}
	keep(c.get(fmt.Sprintf("/endpoints/%d", e.ID)))
	keep(c.get(fmt.Sprintf("/customers/%d", b.customer.ID)))
	for _, body := range bodies {
		if strings.Contains(body, secret) {
			t.Fatal("a credential appears in a page")
		}
	}
	// Delete: refused while a project uses it, done otherwise.
	if res := c.post(fmt.Sprintf("/endpoints/%d/delete", b.src.ID), nil); res.status != http.StatusBadRequest || !strings.Contains(res.body, "used by") {
		t.Fatalf("delete an endpoint in use: %d", res.status)
	}
	if res := c.post(fmt.Sprintf("/endpoints/%d/delete", e.ID), nil); res.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if _, err := b.tp.app.Store.Endpoint(context.Background(), e.ID); err == nil {
		t.Fatal("endpoint not deleted")
	}
}

func TestNewProjectForm(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 0)
	path := fmt.Sprintf("/customers/%d/projects", b.customer.ID)
	if page := b.partner.get(path + "/new"); !strings.Contains(page.body, `name="gmail_first_label_only"`) || !strings.Contains(page.body, `name="gmail_spam_and_trash"`) {
		t.Fatal("the new project form has no Gmail label options")
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no name", url.Values{"source_endpoint_id": {itoa(b.src.ID)}, "destination_endpoint_id": {itoa(b.dst.ID)}}, http.StatusBadRequest, "needs a name"},
		{"same endpoints", url.Values{"name": {"P2"}, "source_endpoint_id": {itoa(b.src.ID)}, "destination_endpoint_id": {itoa(b.src.ID)}}, http.StatusBadRequest, "different"},
		{"other tenant's endpoint", url.Values{"name": {"P2"}, "source_endpoint_id": {itoa(b.otherEP.ID)}, "destination_endpoint_id": {itoa(b.dst.ID)}}, http.StatusBadRequest, "another customer"},
		{"concurrency", url.Values{"name": {"P2"}, "source_endpoint_id": {itoa(b.src.ID)}, "destination_endpoint_id": {itoa(b.dst.ID)}, "max_concurrent": {"0"}}, http.StatusBadRequest, "1 to 1000"},
		{"ok", url.Values{"name": {"P2"}, "source_endpoint_id": {itoa(b.src.ID)}, "destination_endpoint_id": {itoa(b.dst.ID)}, "max_concurrent": {"6"}, "gmail_first_label_only": {"1"}}, http.StatusSeeOther, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.partner.post(path, tc.form)
			if res.status != tc.status || !strings.Contains(res.body, tc.want) {
				t.Fatalf("%d %s", res.status, res.body)
			}
		})
	}
	ps, _ := b.tp.app.Store.ProjectsOf(context.Background(), b.customer.ID)
	if len(ps) != 2 || ps[1].MaxConcurrent != 6 || !ps[1].FirstLabelOnly || ps[1].SpamAndTrash {
		t.Fatalf("projects: %+v", ps)
	}
}

// postMultipart sends a multipart form (a file upload).
func (c *client) postMultipart(path string, fields map[string]string, fileField, fileName, file string) response {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileField != "" {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		fw.Write([]byte(file))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.tp.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

var reSealed = regexp.MustCompile(`name="sealed" value="([^"]+)"`)

func TestCSVImportPreviewThenCommit(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	const pw = "Row-Password-777"
	csv := "source,destination,source password\n" +
		"a@old.contoso.example,a@new.contoso.example," + pw + "\n" +
		"b@old.contoso.example,,\n" + // line 3: no destination
		"c@old.contoso.example,c@new.contoso.example,\n"
	path := fmt.Sprintf("/projects/%d/import", b.project.ID)
	count := func() int {
		p, _ := b.tp.app.Store.Project(context.Background(), b.project.ID)
		return p.ItemCount
	}
	b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID))
	for _, tc := range []struct {
		name   string
		upload bool
	}{{"file upload", true}, {"pasted", false}} {
		var res response
		if tc.upload {
			res = b.partner.postMultipart(path, map[string]string{"step": "preview"}, "file", "people.csv", csv)
		} else {
			res = b.partner.post(path, url.Values{"step": {"preview"}, "csv": {csv}})
		}
		if res.status != http.StatusOK || !strings.Contains(res.body, "2 row(s) can be added, 1 problem(s) found") ||
			!regexp.MustCompile(`<td>3</td>`).MatchString(res.body) || !strings.Contains(res.body, "c@new.contoso.example") {
			t.Fatalf("%s preview: %d %s", tc.name, res.status, res.body)
		}
		if strings.Contains(res.body, pw) {
			t.Fatalf("%s: the preview shows a password", tc.name)
		}
		checkAccessible(t, tc.name+" preview", res.body)
		if n := count(); n != 1 {
			t.Fatalf("%s: the preview added items: %d", tc.name, n)
		}
	}
	res := b.partner.post(path, url.Values{"step": {"preview"}, "csv": {csv}})
	sealed := reSealed.FindStringSubmatch(res.body)
	if sealed == nil {
		t.Fatal("no sealed file in the preview")
	}
	// Confirming without skipping the invalid row adds nothing.
	res = b.partner.post(path, url.Values{"step": {"commit"}, "sealed": {html.UnescapeString(sealed[1])}, "filename": {"pasted.csv"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "nothing was added") || count() != 1 {
		t.Fatalf("commit with errors: %d, %d items: %s", res.status, count(), res.body)
	}
	// A tampered file is refused.
	if res := b.partner.post(path, url.Values{"step": {"commit"}, "sealed": {html.UnescapeString(sealed[1])[:40] + "x"}, "skip_invalid": {"1"}}); res.status != http.StatusBadRequest || count() != 1 {
		t.Fatalf("tampered: %d", res.status)
	}
	res = b.partner.post(path, url.Values{"step": {"commit"}, "sealed": {html.UnescapeString(sealed[1])}, "filename": {"pasted.csv"}, "skip_invalid": {"1"}})
	if res.status != http.StatusSeeOther || count() != 3 {
		t.Fatalf("commit skipping invalid rows: %d %s, %d items", res.status, res.body, count())
	}
	page := b.partner.get(res.header.Get("Location"))
	if !strings.Contains(page.body, "2 mailbox(es) added") || strings.Contains(page.body, pw) {
		t.Fatalf("after commit: %s", page.body)
	}
	// Empty: an error, no crash.
	if res := b.partner.post(path, url.Values{"step": {"preview"}, "csv": {" "}}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "choose a CSV file") {
		t.Fatalf("empty: %d", res.status)
	}
}

func TestStartPassQueuesItems(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 5)
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.partner.get(path)
	status := func(i int) string {
		it, _ := b.tp.app.Store.Item(context.Background(), b.items[i].ID)
		return it.Status
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		code   int
		want   string
		queued []int
	}{
		{"nothing selected", url.Values{"pass": {"verify"}, "scope": {"selected"}}, http.StatusBadRequest, "select mailboxes", nil},
		{"pre-stage needs days", url.Values{"pass": {"prestage"}, "scope": {"all"}, "older_than_days": {""}}, http.StatusBadRequest, "older_than_days", nil},
		{"scheduled without a time", url.Values{"pass": {"full"}, "scope": {"all"}, "when": {"at"}}, http.StatusBadRequest, "date and time to start", nil},
		{"past start", url.Values{"pass": {"full"}, "scope": {"all"}, "when": {"at"}, "at": {"2001-01-01T10:00"}}, http.StatusBadRequest, "in the past", nil},
		{"two selected", url.Values{"pass": {"verify"}, "scope": {"selected"}, "item": {itoa(b.items[0].ID), itoa(b.items[1].ID)}}, http.StatusSeeOther, "", []int{0, 1}},
		{"scheduled", url.Values{"pass": {"full"}, "scope": {"selected"}, "item": {itoa(b.items[2].ID)}, "when": {"at"},
			"at": {time.Now().Add(48 * time.Hour).Format(datetimeLocal)}}, http.StatusSeeOther, "", []int{2}},
		{"other tenant's item", url.Values{"pass": {"verify"}, "scope": {"selected"}, "item": {itoa(b.otherItem.ID)}}, http.StatusBadRequest, "not in project", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.partner.post(path+"/passes", tc.form)
			if res.status != tc.code || !strings.Contains(res.body, tc.want) {
				t.Fatalf("%d %s", res.status, res.body)
			}
			for _, i := range tc.queued {
				if st := status(i); st != store.StatusQueued {
					t.Errorf("item %d: %s", i, st)
				}
			}
		})
	}
	if st := status(3); st != store.StatusNotSubmitted {
		t.Fatalf("an unselected item was queued: %s", st)
	}
	if page := b.partner.get(path + "?queued=2&already=0"); !strings.Contains(page.body, "2 mailbox(es) queued") || !strings.Contains(page.body, `data-count="Queued">3<`) {
		t.Fatal("the page does not say what was queued")
	}
	// Stop the selected.
	res := b.partner.post(path+"/stop", url.Values{"scope": {"selected"}, "item": {itoa(b.items[0].ID)}})
	if res.status != http.StatusSeeOther || status(0) != store.StatusStopped || status(1) != store.StatusQueued {
		t.Fatalf("stop: %d, %s %s", res.status, status(0), status(1))
	}

	// A customer technical lead configures but does not migrate: no pass buttons, and the server refuses.
	b.tp.user("ctl@contoso.example", auth.CustomerTechnicalLead, b.customer.ID)
	ctl := b.tp.signedIn("ctl@contoso.example")
	page := ctl.get(path)
	if page.status != http.StatusOK || strings.Contains(page.body, `value="verify"`) || strings.Contains(page.body, ">Stop<") || !strings.Contains(page.body, "Quick add") {
		t.Fatalf("technical lead's page: %d", page.status)
	}
	if res := ctl.post(path+"/passes", url.Values{"pass": {"verify"}, "scope": {"all"}}); res.status != http.StatusForbidden {
		t.Fatalf("technical lead starts a pass: %d", res.status)
	}
	if res := ctl.post(path+"/stop", url.Values{"scope": {"all"}}); res.status != http.StatusForbidden {
		t.Fatalf("technical lead stops: %d", res.status)
	}
	// A viewer sees no form at all and may change nothing.
	b.tp.user("vic@contoso.example", auth.Viewer, b.customer.ID)
	v := b.tp.signedIn("vic@contoso.example")
	page = v.get(path)
	for _, hidden := range []string{`value="verify"`, "Quick add", "Bulk add", "Close project", "Save settings", `name="item"`} {
		if strings.Contains(page.body, hidden) {
			t.Errorf("a viewer sees %q", hidden)
		}
	}
	for _, p := range []string{"/items", "/import", "/settings", "/close"} {
		if res := v.post(path+p, url.Values{"source": {"x@y.example"}, "destination": {"z@y.example"}, "csv": {"a,b"}}); res.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, res.status)
		}
	}
}

func TestMigrationGateRefusalShown(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	if _, _, err := b.tp.app.Engagements.Create(asOperator(context.Background()), engagements.Input{CustomerID: b.customer.ID, Name: "Onboarding", Seats: 800,
		Services: []string{"exchange"}, Workloads: []string{"imap"}}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.partner.get(path)
	res := b.partner.post(path+"/passes", url.Values{"pass": {"full"}, "scope": {"all"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "The migration gate refused this pass") || !strings.Contains(res.body, "wait for") {
		t.Fatalf("gate: %d %s", res.status, res.body)
	}
	// Verify credentials goes through the gate.
	if res := b.partner.post(path+"/passes", url.Values{"pass": {"verify"}, "scope": {"all"}}); res.status != http.StatusSeeOther {
		t.Fatalf("verify: %d", res.status)
	}
}

var reRow = regexp.MustCompile(`<tr data-item="\d+"`)

func TestItemTableSortSearchPaging(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 120)
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.tp.app.Store.SetItemStatus(context.Background(), b.items[7].ID, store.StatusFailed, "full", 4)
	for _, tc := range []struct {
		name, query string
		rows        int
		first       string
		want        []string
	}{
		{"first page", "", 50, b.items[0].Source, []string{"Page 1 of 3", "Mailboxes 1–50 of 120", `rel="next"`}},
		{"last page", "?page=3", 20, b.items[100].Source, []string{"Page 3 of 3", "Mailboxes 101–120 of 120", `rel="prev"`}},
		{"sort descending", "?sort=-source", 50, b.items[119].Source, []string{`aria-sort="descending"`}},
		{"sort ascending", "?sort=source", 50, b.items[0].Source, []string{`aria-sort="ascending"`, "sort=-source"}},
		{"search", "?q=user0042", 1, b.items[42].Source, []string{"Mailboxes 1–1 of 1"}},
		{"status", "?status=Failed", 1, b.items[7].Source, []string{"All with status Failed"}},
		{"errors sort", "?sort=-errors", 50, b.items[7].Source, nil},
		{"no match", "?q=nobody", 0, "", []string{"No mailbox matches"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				var res response
				if htmx {
					req, _ := http.NewRequest("GET", b.tp.srv.URL+path+"/items"+tc.query, nil)
					req.Header.Set("HX-Request", "true")
					res = b.partner.do(req)
					if strings.Contains(res.body, "<html") || !strings.HasPrefix(strings.TrimSpace(res.body), `<div id="items">`) {
						t.Fatalf("htmx answer is not the table alone: %.200s", res.body)
					}
				} else {
					res = b.partner.get(path + tc.query)
				}
				if res.status != http.StatusOK {
					t.Fatalf("%d %s", res.status, res.body)
				}
				if n := len(reRow.FindAllString(res.body, -1)); n != tc.rows {
					t.Errorf("htmx %v: %d rows, want %d", htmx, n, tc.rows)
				}
				if tc.first != "" {
					i := strings.Index(res.body, `<tr data-item=`)
					if i < 0 || !strings.Contains(res.body[i:min(len(res.body), i+600)], tc.first) {
						t.Errorf("htmx %v: first row is not %s", htmx, tc.first)
					}
				}
				for _, w := range tc.want {
					if !strings.Contains(res.body, w) && !(htmx && strings.HasPrefix(w, "All with")) {
						t.Errorf("htmx %v: no %q", htmx, w)
					}
				}
			}
		})
	}
	for _, bad := range []string{"?sort=password", "?status=Nope", "?page=0"} {
		if res := b.partner.get(path + bad); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, res.status)
		}
	}
}

func TestQuickAddSettingsClose(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 0)
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.partner.get(path)
	if res := b.partner.post(path+"/items", url.Values{"source": {"x@old.contoso.example"}}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "destination mailbox") ||
		!strings.Contains(res.body, `value="x@old.contoso.example"`) {
		t.Fatalf("quick add without destination: %d", res.status)
	}
	if res := b.partner.post(path+"/items", url.Values{"source": {"x@old.contoso.example"}, "destination": {"x@new.contoso.example"}}); res.status != http.StatusSeeOther {
		t.Fatalf("quick add: %d %s", res.status, res.body)
	}
	// Workloads: the form offers them; calendars need the endpoints' locations.
	if res := b.partner.get(path); !strings.Contains(res.body, `name="workloads" value="calendar"`) {
		t.Fatalf("the quick add form has no workloads")
	}
	if res := b.partner.post(path+"/items", url.Values{"source": {"y@old.contoso.example"}, "destination": {"y@new.contoso.example"}, "workloads": {"mail", "calendar"}}); res.status != http.StatusBadRequest ||
		!strings.Contains(res.body, "set a DAV URL or an EWS URL") {
		t.Fatalf("quick add of calendars without locations: %d", res.status)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"bad concurrency", url.Values{"max_concurrent": {"0"}, "max_errors": {"5"}, "item_types": {"mail"}}, http.StatusBadRequest, "1 to 1000"},
		{"empty date range", url.Values{"max_concurrent": {"3"}, "item_types": {"mail"}, "date_from": {"2024-02-01"}, "date_to": {"2024-01-01"}}, http.StatusBadRequest, "date range is empty"},
		{"no item types", url.Values{"max_concurrent": {"3"}}, http.StatusBadRequest, "item_types"},
		{"ok", url.Values{"max_concurrent": {"4"}, "max_errors": {"7"}, "do_not_retry": {"1"}, "include": {"INBOX\nSent"}, "exclude": {"Junk"},
			"date_from": {"2020-01-01"}, "item_types": {"mail"}, "gmail_spam_and_trash": {"1"}}, http.StatusSeeOther, ""},
	} {
		if res := b.partner.post(path+"/settings", tc.form); res.status != tc.code || !strings.Contains(res.body, tc.want) {
			t.Fatalf("%s: %d %s", tc.name, res.status, res.body)
		}
	}
	p, _ := b.tp.app.Store.Project(context.Background(), b.project.ID)
	if p.MaxConcurrent != 4 || p.MaxErrors != 7 || !p.DoNotRetry || strings.Join(p.Include, "|") != "INBOX|Sent" || p.DateFrom.Year() != 2020 || p.ItemCount != 1 {
		t.Fatalf("project: %+v", p)
	}
	if !p.SpamAndTrash || p.FirstLabelOnly {
		t.Fatalf("Gmail label options: %+v", p)
	}
	if page := b.partner.get(path); !strings.Contains(page.body, `id="s-gmail_spam_and_trash" name="gmail_spam_and_trash" value="1" checked`) ||
		!strings.Contains(page.body, `id="s-gmail_first_label_only" name="gmail_first_label_only" value="1">`) {
		t.Fatal("the settings form does not show the Gmail label options as saved")
	}
	if res := b.partner.post(path+"/close", nil); res.status != http.StatusSeeOther {
		t.Fatalf("close: %d", res.status)
	}
	page := b.partner.get(path + "?closed=1")
	if !strings.Contains(page.body, "Project closed") || strings.Contains(page.body, `value="verify"`) || strings.Contains(page.body, "Quick add") {
		t.Fatal("a closed project still offers passes or adding")
	}
}

func TestItemDetailHistoryAndErrors(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	ctx := context.Background()
	st := b.tp.app.Store
	mb, err := st.Mailbox(ctx, store.MailboxKey{Source: "imaps://user0000@old:993", Destination: "imaps://user0000@new:993"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-2 * time.Hour)
	run := &store.Run{Pass: "full", Started: start, Worker: "worker-7:4242", ItemID: b.items[0].ID}
	if err := st.StartRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	run.Ended, run.Status, run.Copied, run.CopiedBytes, run.Failed = start.Add(time.Hour), "completed with errors", 5597, 146e6, 1
	if err := st.FinishRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordFailures(ctx, mb, []store.Failure{{Folder: "INBOX/Big", UID: 42, Subject: "Holiday video", Size: 60e6, Pass: "full",
		ServerText: "Message too large", Hint: "The destination accepts messages up to 35 MB; the message stays in the source", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		src, dst string
		copies   int
	}{{"INBOX", "INBOX", 3}, {"INBOX/Big", "INBOX.Big", 2}, {"Drafts", "INBOX.Drafts", 0}} {
		if err := st.SaveFolder(ctx, mb, store.FolderState{Source: f.src, SourceValidity: 1, Dest: f.dst, DestValidity: 1}); err != nil {
			t.Fatal(err)
		}
		var cs []store.Copy
		for i := range f.copies {
			cs = append(cs, store.Copy{SourceUID: uint32(i + 1), DestUID: uint32(i + 1), Fingerprint: []byte{byte(i)}, Size: 1000})
		}
		if err := st.RecordCopies(ctx, mb, f.src, cs); err != nil {
			t.Fatal(err)
		}
	}
	it := b.items[0]
	it.MailboxID, it.Status, it.Errors = mb, store.StatusCompleted, 1
	if err := st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	res := b.partner.get(fmt.Sprintf("/items/%d", it.ID))
	for _, w := range []string{"146", "5,597", "1h 00m", "INBOX/Big", "<td>worker-7:4242</td>", "Holiday video", "Message too large", "up to 35 MB", "42", "completed with errors",
		// The folder summary: every folder, copied and not.
		`<th scope="row">INBOX/Big</th><td>INBOX.Big</td><td class="num">2</td><td class="num">2.0 kB</td><td class="num">1</td><td class="num">60.0 MB</td>`,
		`<th scope="row">Drafts</th><td>INBOX.Drafts</td><td class="num">0</td>`,
		`<th scope="row">All folders</th><td></td><td class="num">5</td><td class="num">5.0 kB</td><td class="num">1</td>`} {
		if !strings.Contains(res.body, w) {
			t.Errorf("item page: no %q", w)
		}
	}
	checkAccessible(t, "item", res.body)
	page := b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID))
	if !strings.Contains(page.body, "<svg") || !strings.Contains(page.body, "MB/hr") {
		t.Errorf("project page: no throughput chart")
	}
	if !strings.Contains(page.body, `<tr data-throughput="project"><th scope="row">Whole project</th>`) || !strings.Contains(page.body, `<tr data-throughput="worker"><th scope="row">Worker worker-7:4242</th>`) {
		t.Errorf("project page: no throughput figures of the project and its workers")
	}
	checkAccessible(t, "project with chart", page.body)
}

func TestThroughputChart(t *testing.T) {
	t.Parallel()
	from := time.Date(2024, 5, 8, 15, 0, 0, 0, time.UTC)
	tp := &projects.Throughput{Mailboxes: 1}
	for i := range 24 {
		tp.Hourly = append(tp.Hourly, projects.HourMB{Hour: from.Add(time.Duration(i) * time.Hour)})
	}
	tp.Hourly[21].MB, tp.Hourly[22].MB, tp.Hourly[23].MB = 50, 50, 10
	c := throughputChart(tp)
	if c == nil || len(c.Bars) != 24 || c.Max != 50 || !c.To.Equal(from.Add(24*time.Hour)) {
		t.Fatalf("chart: %+v", c)
	}
	if b := c.Bars[21]; b.MB != 50 || b.H != c.Bars[22].H || c.Bars[23].H*5 != b.H || c.Bars[0].H != 0 {
		t.Fatalf("bars %+v %+v %+v", c.Bars[21], c.Bars[22], c.Bars[23])
	}
	if throughputChart(&projects.Throughput{}) != nil {
		t.Fatal("a chart without runs")
	}
}

func projectsInput(b *migrationBundle) projects.ProjectInput {
	return projects.ProjectInput{CustomerID: b.customer.ID, Name: "Second wave", SourceID: b.src.ID, DestID: b.dst.ID}
}
