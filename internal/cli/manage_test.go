package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Secrets that must never be printed.
const (
	secretAdmin  = "Adm1n-top-secret"
	secretAlice  = "Al1ce-dest-secret"
	secretBob    = "B0b-csv-secret"
	secretDave   = "D4ve-csv-secret"
	secretBadRow = "C4rol-bad-row-secret"
)

// sealedValue matches a sealed credential (see package secrets).
var sealedValue = regexp.MustCompile(`v1:[0-9a-f]{8}:`)

var allSecrets = []string{secretAdmin, secretAlice, secretBob, secretDave, secretBadRow}

// mgmtEnv is a temporary Ferry: its database, key file and secret files,
// with every output kept to check that no secret was printed.
type mgmtEnv struct {
	t       *testing.T
	dir     string
	db, key string
	adminPW string // file holding secretAdmin
	alicePW string // file holding secretAlice
	mu      sync.Mutex
	printed []string
}

func newMgmtEnv(t *testing.T) *mgmtEnv {
	t.Helper()
	e := &mgmtEnv{t: t, dir: t.TempDir()}
	e.db = filepath.Join(e.dir, "ferry.db")
	e.key = filepath.Join(e.dir, "keys", "secret.key")
	e.adminPW = e.write("admin.pw", secretAdmin+"\n")
	e.alicePW = e.write("alice.pw", secretAlice+"\n")
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, out := range e.printed {
			for _, s := range allSecrets {
				if strings.Contains(out, s) {
					t.Errorf("a password was printed:\n%s", out)
				}
			}
			if sealedValue.MatchString(out) {
				t.Errorf("a sealed value was printed:\n%s", out)
			}
		}
	})
	return e
}

func (e *mgmtEnv) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// ferry runs a command against the environment's database and key file.
func (e *mgmtEnv) ferry(args ...string) (int, string, string) {
	if !slices.Contains(args, "--database") {
		args = append(args, "--database", e.db)
	}
	args = append(args, "--key-file", e.key)
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	e.mu.Lock()
	e.printed = append(e.printed, out.String()+errb.String())
	e.mu.Unlock()
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its standard output.
func (e *mgmtEnv) ok(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.ferry(args...)
	if code != ExitOK {
		e.t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// okJSON runs a command with --json and decodes its output into v.
func (e *mgmtEnv) okJSON(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("ferry %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// usage runs a command that must exit 2 and returns its standard error.
func (e *mgmtEnv) usage(args ...string) (string, string) {
	e.t.Helper()
	code, out, errOut := e.ferry(args...)
	if code != ExitUsage {
		e.t.Fatalf("ferry %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, ExitUsage, out, errOut)
	}
	return out, errOut
}

type idJSON struct {
	ID int64 `json:"id"`
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// fixture is a customer with a source endpoint that has administrator
// credentials, a destination endpoint without (Office 365), a project and
// one item.
type fixture struct {
	customer, src, dst, project, alice int64
}

func (e *mgmtEnv) fixture() fixture {
	e.t.Helper()
	var f fixture
	var v idJSON
	e.okJSON(&v, "customer", "add", "--name", "Contoso", "--domain", "Contoso.com", "--location", "Berlin", "--size", "40 users")
	f.customer = v.ID
	e.okJSON(&v, "endpoint", "add", "--customer", id(f.customer), "--name", "old", "--type", "dovecot", "--host", "mail.contoso.com",
		"--security", "starttls", "--admin", "master", "--password-file", e.adminPW)
	f.src = v.ID
	e.okJSON(&v, "endpoint", "add", "--customer", id(f.customer), "--name", "m365", "--type", "office365", "--host", "outlook.office365.com")
	f.dst = v.ID
	e.okJSON(&v, "project", "create", "--customer", id(f.customer), "--name", "Move to 365", "--source", "old", "--destination", id(f.dst))
	f.project = v.ID
	e.okJSON(&v, "item", "add", "--project", id(f.project), "--source", "alice@contoso.com", "--destination", "alice@contoso.com",
		"--destination-password-file", e.alicePW)
	f.alice = v.ID
	return f
}

type itemsJSON struct {
	Total int `json:"total"`
	Items []struct {
		ID             int64  `json:"id"`
		Source         string `json:"source"`
		Status         string `json:"status"`
		HasDestination bool   `json:"has_destination_password"`
	} `json:"items"`
}

func (e *mgmtEnv) items(project int64, args ...string) itemsJSON {
	e.t.Helper()
	var v itemsJSON
	e.okJSON(&v, append([]string{"item", "list", "--project", id(project)}, args...)...)
	return v
}

func TestManageLifecycle(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()

	// Customers.
	var customers []store.Customer
	e.okJSON(&customers, "customer", "list")
	if len(customers) != 1 || customers[0].Domain != "contoso.com" || customers[0].Location != "Berlin" {
		t.Fatalf("customers = %+v", customers)
	}
	if out := e.ok("customer", "list"); !strings.Contains(out, "Contoso") || !strings.Contains(out, "DOMAIN") {
		t.Fatalf("customer list:\n%s", out)
	}

	// Endpoints: whether credentials are set, never the secret.
	var eps []struct {
		ID             int64  `json:"id"`
		Name           string `json:"name"`
		Port           int    `json:"port"`
		HasCredentials bool   `json:"has_credentials"`
		Credentials    string `json:"credentials"`
		AdminUser      string `json:"admin_user"`
		MaxMessageSize int64  `json:"max_message_size"`
	}
	e.okJSON(&eps, "endpoint", "list", "--customer", id(f.customer))
	if len(eps) != 2 {
		t.Fatalf("endpoints = %+v", eps)
	}
	for _, ep := range eps {
		switch ep.Name {
		case "old":
			if !ep.HasCredentials || ep.Credentials != "password" || ep.AdminUser != "master" || ep.Port != 143 {
				t.Fatalf("source endpoint = %+v", ep)
			}
		case "m365":
			if ep.HasCredentials || ep.Credentials != "" || ep.MaxMessageSize != 35<<20 || ep.Port != 993 {
				t.Fatalf("destination endpoint = %+v", ep)
			}
		}
	}
	if out := e.ok("endpoint", "list", "--customer", id(f.customer)); !strings.Contains(out, "admin master (password set)") ||
		!strings.Contains(out, "each item brings its own") {
		t.Fatalf("endpoint list:\n%s", out)
	}

	// Bulk add: one bad row. The preview adds nothing and, as the file has
	// an error, exits 2; --apply refuses the file; --skip-invalid adds the rest.
	list := e.write("mailboxes.csv", "source,destination,destination password\n"+
		"bob@contoso.com,bob@contoso.com,"+secretBob+"\n"+
		"carol@contoso.com,,"+secretBadRow+"\n"+
		"dave@contoso.com,dave@contoso.com,"+secretDave+"\n")
	out, errOut := e.usage("item", "import", "--project", id(f.project), "--csv", list)
	if !strings.Contains(out, "Preview") || !strings.Contains(out, "bob@contoso.com") || !strings.Contains(out, "dave@contoso.com") ||
		!strings.Contains(out, "line 3") || !strings.Contains(errOut, "--skip-invalid") {
		t.Fatalf("preview:\n%s\n%s", out, errOut)
	}
	var res projects.ImportResult
	code, out, _ := e.ferry("item", "import", "--project", id(f.project), "--csv", list, "--json")
	if code != ExitUsage || json.Unmarshal([]byte(out), &res) != nil || !res.Preview || len(res.Valid) != 2 || len(res.Errors) != 1 || res.Errors[0].Line != 3 {
		t.Fatalf("preview --json: exit %d %+v\n%s", code, res, out)
	}
	if _, errOut := e.usage("item", "import", "--project", id(f.project), "--csv", list, "--apply"); !strings.Contains(errOut, "nothing was added") {
		t.Fatalf("refusal: %s", errOut)
	}
	if n := e.items(f.project).Total; n != 1 {
		t.Fatalf("the refused file added items: %d", n)
	}
	res = projects.ImportResult{}
	e.okJSON(&res, "item", "import", "--project", id(f.project), "--csv", list, "--apply", "--skip-invalid")
	if res.Added != 2 || res.Preview || len(res.Errors) != 1 {
		t.Fatalf("skip-invalid: %+v", res)
	}
	// A clean file previews with exit 0, says how to apply and adds nothing.
	clean := e.write("clean.csv", "source,destination,destination password\nerin@contoso.com,erin@contoso.com,"+secretBadRow+"\n")
	if out := e.ok("item", "import", "--project", id(f.project), "--csv", clean); !strings.Contains(out, "--apply") {
		t.Fatalf("clean preview:\n%s", out)
	}
	// Without a destination password (m365 has no administrator) a row is invalid.
	nopw := e.write("nopw.csv", "source,destination\nerin@contoso.com,erin@contoso.com\n")
	if out, _ := e.usage("item", "import", "--project", id(f.project), "--csv", nopw); !strings.Contains(out, "destination mailbox's password") {
		t.Fatalf("row without password:\n%s", out)
	}

	// Listing with filters.
	all := e.items(f.project)
	if all.Total != 3 || len(all.Items) != 3 {
		t.Fatalf("items = %+v", all)
	}
	ids := map[string]int64{}
	for _, it := range all.Items {
		ids[it.Source] = it.ID
		if it.Status != store.StatusNotSubmitted || !it.HasDestination {
			t.Fatalf("item = %+v", it)
		}
	}
	if v := e.items(f.project, "--search", "BOB"); v.Total != 1 || v.Items[0].Source != "bob@contoso.com" {
		t.Fatalf("--search: %+v", v)
	}
	if v := e.items(f.project, "--limit", "1", "--offset", "1"); v.Total != 3 || len(v.Items) != 1 || v.Items[0].Source != "bob@contoso.com" {
		t.Fatalf("--limit --offset: %+v", v)
	}
	if v := e.items(f.project, "--status", "failed"); v.Total != 0 || v.Items == nil {
		t.Fatalf("--status failed: %+v", v)
	}
	if out := e.ok("item", "list", "--project", id(f.project), "--limit", "2"); !strings.Contains(out, "LAST PASS") || !strings.Contains(out, "2 of 3") {
		t.Fatalf("item list:\n%s", out)
	}

	// Passes: queued, then already queued.
	type passJSON struct {
		Queued        int     `json:"queued"`
		AlreadyQueued int     `json:"already_queued"`
		QueuedItemIDs []int64 `json:"queued_item_ids"`
		PassLabel     string  `json:"pass_label"`
	}
	var p passJSON
	e.okJSON(&p, "pass", "start", "--project", id(f.project), "--pass", "verify", "--item", id(f.alice))
	if p.Queued != 1 || p.AlreadyQueued != 0 || p.PassLabel != "Verify credentials" || len(p.QueuedItemIDs) != 1 || p.QueuedItemIDs[0] != f.alice {
		t.Fatalf("first start: %+v", p)
	}
	out = e.ok("pass", "start", "--project", id(f.project), "--pass", "verify", "--all")
	if !strings.Contains(out, "Verify credentials: 2 item(s) queued, 1 already queued or running") {
		t.Fatalf("second start:\n%s", out)
	}
	p = passJSON{}
	e.okJSON(&p, "pass", "start", "--project", id(f.project), "--pass", "verify", "--status", "queued")
	if p.Queued != 0 || p.AlreadyQueued != 3 {
		t.Fatalf("third start: %+v", p)
	}
	p = passJSON{}
	e.okJSON(&p, "pass", "start", "--project", id(f.project), "--pass", "prestage", "--older-than-days", "90", "--item", id(ids["bob@contoso.com"]),
		"--at", "2999-01-01T00:00:00Z")
	if p.Queued != 1 || p.PassLabel != "Pre-stage" {
		t.Fatalf("scheduled pre-stage: %+v", p)
	}
	if v := e.items(f.project, "--status", "Queued"); v.Total != 3 {
		t.Fatalf("queued: %+v", v)
	}
	var stopped struct{ Stopped int }
	e.okJSON(&stopped, "pass", "stop", "--project", id(f.project), "--item", id(ids["dave@contoso.com"]))
	if stopped.Stopped != 1 {
		t.Fatalf("stop: %+v", stopped)
	}
	if out := e.ok("pass", "stop", "--project", id(f.project), "--status", "queued"); !strings.Contains(out, "2 item(s) stopped") {
		t.Fatalf("stop by status:\n%s", out)
	}
	if v := e.items(f.project, "--status", "stopped"); v.Total != 3 {
		t.Fatalf("stopped: %+v", v)
	}

	// Projects: counts and status breakdown; settings.
	var ps []store.Project
	e.okJSON(&ps, "project", "list", "--customer", id(f.customer))
	if len(ps) != 1 || ps[0].ItemCount != 3 || ps[0].StatusBreakdown[store.StatusStopped] != 3 || ps[0].MaxConcurrent != 10 {
		t.Fatalf("projects = %+v", ps)
	}
	if out := e.ok("project", "list", "--customer", id(f.customer)); !strings.Contains(out, "3 Stopped") || !strings.Contains(out, "m365") {
		t.Fatalf("project list:\n%s", out)
	}
	var pv struct {
		store.Project
		Source struct {
			Name string `json:"name"`
		} `json:"source_endpoint"`
	}
	e.okJSON(&pv, "project", "settings", id(f.project), "--max-concurrent", "6", "--exclude", "Junk,Trash", "--date-from", "2020-01-01", "--do-not-retry")
	if pv.MaxConcurrent != 6 || pv.MaxErrors != 50 || !pv.DoNotRetry || len(pv.Exclude) != 2 || pv.DateFrom.Year() != 2020 || pv.Source.Name != "old" {
		t.Fatalf("settings: %+v", pv)
	}
	pv.Project = store.Project{}
	e.okJSON(&pv, "project", "settings", id(f.project), "--exclude", "", "--date-from", "")
	if len(pv.Exclude) != 0 || !pv.DateFrom.IsZero() || pv.MaxConcurrent != 6 {
		t.Fatalf("settings cleared: %+v", pv)
	}
	if out := e.ok("project", "show", id(f.project)); !strings.Contains(out, "max concurrent migrations") || !strings.Contains(out, "Stopped") {
		t.Fatalf("project show:\n%s", out)
	}

	// Items: detail.
	var item struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		History []any  `json:"history"`
		Errors  []any  `json:"errors"`
	}
	e.okJSON(&item, "item", "show", id(f.alice))
	if item.ID != f.alice || item.Status != store.StatusStopped || item.History == nil || item.Errors == nil {
		t.Fatalf("item show: %+v", item)
	}
	if out := e.ok("item", "show", id(f.alice)); !strings.Contains(out, "Pass history") || !strings.Contains(out, "the item's own password") {
		t.Fatalf("item show:\n%s", out)
	}

	// The customer with its endpoints and projects.
	var cs struct {
		Name      string `json:"name"`
		Endpoints []any  `json:"endpoints"`
		Projects  []any  `json:"projects"`
	}
	e.okJSON(&cs, "customer", "show", id(f.customer))
	if cs.Name != "Contoso" || len(cs.Endpoints) != 2 || len(cs.Projects) != 1 {
		t.Fatalf("customer show: %+v", cs)
	}

	// Key rotation: every sealed credential is resealed and still opens.
	passwords := map[int64]string{f.alice: secretAlice, ids["bob@contoso.com"]: secretBob, ids["dave@contoso.com"]: secretDave}
	var rot struct {
		CurrentKey string   `json:"current_key"`
		OldKeys    []string `json:"old_keys"`
		Resealed   int      `json:"resealed"`
	}
	e.okJSON(&rot, "key", "rotate")
	if rot.Resealed != 4 || len(rot.OldKeys) != 1 {
		t.Fatalf("rotate: %+v", rot)
	}
	e.checkCredentials(f, passwords, 2)
	if out := e.ok("key", "drop-old"); !strings.Contains(out, "dropped 1 old key") {
		t.Fatalf("drop-old:\n%s", out)
	}
	e.checkCredentials(f, passwords, 1)
	var again struct{ Resealed int }
	e.okJSON(&again, "key", "rotate", "--reseal-only") // opens every credential
	if again.Resealed != 0 {
		t.Fatalf("reseal-only after drop-old: %+v", again)
	}

	// Endpoint credentials: replace, clear.
	var ev struct {
		HasCredentials bool   `json:"has_credentials"`
		Credentials    string `json:"credentials"`
	}
	token := e.write("token", secretAdmin+"-token\n")
	e.okJSON(&ev, "endpoint", "credentials", id(f.src), "--admin", "master", "--oauth2-token-file", token)
	if !ev.HasCredentials || ev.Credentials != "oauth2_token" {
		t.Fatalf("token: %+v", ev)
	}
	e.okJSON(&ev, "endpoint", "credentials", id(f.src), "--clear")
	if ev.HasCredentials || ev.Credentials != "" {
		t.Fatalf("clear: %+v", ev)
	}

	// Closing stops and erases the items' passwords.
	if out := e.ok("project", "close", id(f.project)); !strings.Contains(out, "closed") {
		t.Fatalf("close:\n%s", out)
	}
	for _, it := range e.items(f.project).Items {
		if it.HasDestination {
			t.Fatalf("a closed project's item keeps its password: %+v", it)
		}
	}
	if _, errOut := e.usage("pass", "start", "--project", id(f.project), "--pass", "full", "--all"); !strings.Contains(errOut, "closed") {
		t.Fatalf("start on a closed project: %s", errOut)
	}

	// Deleting.
	if _, errOut := e.usage("endpoint", "delete", id(f.dst)); !strings.Contains(errOut, "used by") {
		t.Fatalf("delete a used endpoint: %s", errOut)
	}
	var extra idJSON
	e.okJSON(&extra, "endpoint", "add", "--customer", id(f.customer), "--name", "spare", "--type", "imap", "--host", "spare.contoso.com")
	if out := e.ok("endpoint", "delete", id(extra.ID)); !strings.Contains(out, "deleted") {
		t.Fatalf("endpoint delete:\n%s", out)
	}
	if _, errOut := e.usage("customer", "delete", id(f.customer)); !strings.Contains(errOut, "--yes") {
		t.Fatalf("delete without --yes: %s", errOut)
	}
	e.ok("customer", "delete", id(f.customer), "--yes")
	customers = nil
	e.okJSON(&customers, "customer", "list")
	if customers == nil || len(customers) != 0 {
		t.Fatalf("customers after delete = %+v", customers)
	}
}

// checkCredentials opens every item's password with the key file as it is
// now, and checks the key file holds the expected number of keys and that
// nothing needs resealing.
func (e *mgmtEnv) checkCredentials(f fixture, passwords map[int64]string, keys int) {
	e.t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Database: e.db, KeyFile: e.key, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer a.Close()
	if n := len(a.Keys.KeyIDs()); n != keys {
		e.t.Fatalf("the key file holds %d keys, want %d", n, keys)
	}
	creds, err := a.Store.SealedCredentials(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range creds {
		if a.Keys.NeedsReseal(c.Value) {
			e.t.Fatalf("%s %d %s is sealed with an old key", c.Table, c.ID, c.Column)
		}
	}
	for itemID, want := range passwords {
		it, err := a.Store.Item(ctx, itemID)
		if err != nil {
			e.t.Fatal(err)
		}
		got, err := a.Keys.Open(it.SealedDestPassword, fmt.Sprintf("item:%d:%s:destination", it.ProjectID, strings.ToLower(it.Source)))
		if err != nil || got != want {
			e.t.Fatalf("item %d's password does not open after the rotation: %v", itemID, err)
		}
	}
	ep, err := a.Store.Endpoint(ctx, f.src)
	if err != nil {
		e.t.Fatal(err)
	}
	if got, err := a.Keys.Open(ep.SealedPassword, fmt.Sprintf("endpoint:%d:password", ep.ID)); err != nil || got != secretAdmin {
		e.t.Fatalf("the endpoint's password does not open after the rotation: %v", err)
	}
	// The service's own check: it opens every credential.
	if n, err := a.Service.ResealAll(ctx); err != nil || n != 0 {
		e.t.Fatalf("ResealAll = %d, %v", n, err)
	}
}

func TestManageUsageErrors(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	var other, otherEP, closed idJSON
	e.okJSON(&other, "customer", "add", "--name", "Fabrikam", "--domain", "fabrikam.com")
	e.okJSON(&otherEP, "endpoint", "add", "--customer", id(other.ID), "--name", "fab", "--type", "imap", "--host", "mail.fabrikam.com")
	e.okJSON(&closed, "project", "create", "--customer", id(f.customer), "--name", "Old project", "--source", id(f.src), "--destination", id(f.dst))
	e.ok("project", "close", id(closed.ID))
	bad := e.write("bad.csv", "source,destination\n")
	empty := e.write("empty.pw", "\n")
	missing := filepath.Join(e.dir, "no-such-file")
	c, p, src, dst := id(f.customer), id(f.project), id(f.src), id(f.dst)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"group only", []string{"customer"}, "say what to do"},
		{"unknown subcommand", []string{"project", "frob"}, "unknown command"},
		{"unknown flag", []string{"customer", "add", "--nme", "x"}, "unknown flag"},
		{"bad database", []string{"customer", "list", "--database", filepath.Join(e.adminPW, "ferry.db")}, "state file"},

		{"customer without name", []string{"customer", "add", "--domain", "x.com"}, "--name"},
		{"customer bad domain", []string{"customer", "add", "--name", "Y", "--domain", "nodot"}, "--domain"},
		{"customer duplicate", []string{"customer", "add", "--name", "Contoso", "--domain", "contoso.com"}, "--name"},
		{"customer show no ID", []string{"customer", "show"}, "say which customer"},
		{"customer show bad ID", []string{"customer", "show", "seven"}, "customer ID"},
		{"customer show missing", []string{"customer", "show", "777"}, "customer 777 does not exist"},
		{"customer delete missing", []string{"customer", "delete", "777"}, "customer 777 does not exist"},

		{"endpoint without customer", []string{"endpoint", "add", "--name", "x", "--type", "imap", "--host", "h.example"}, "--customer"},
		{"endpoint missing customer", []string{"endpoint", "add", "--customer", "777", "--name", "x", "--type", "imap", "--host", "h.example"}, "customer 777 does not exist"},
		{"endpoint bad type", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "pop3", "--host", "h.example"}, "--type"},
		{"endpoint without name", []string{"endpoint", "add", "--customer", c, "--type", "imap", "--host", "h.example"}, "--name"},
		{"endpoint bad host", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "imap://h"}, "--host"},
		{"endpoint bad port", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--port", "70000"}, "--port"},
		{"endpoint bad security", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--security", "ssl"}, "--security"},
		{"endpoint password without admin", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--password-file", e.adminPW}, "--admin"},
		{"endpoint admin without password", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--admin", "root"}, "--password-file"},
		{"endpoint password and token", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--admin", "root", "--password-file", e.adminPW, "--oauth2-token-file", e.adminPW}, "--oauth2-token-file"},
		{"endpoint unreadable password", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--admin", "root", "--password-file", missing}, "--password-file"},
		{"endpoint empty password", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--admin", "root", "--password-file", empty}, "--password-file"},
		{"endpoint admin not an address", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "office365", "--host", "h.example", "--admin", "root", "--password-file", e.adminPW}, "--admin"},
		{"endpoint duplicate", []string{"endpoint", "add", "--customer", c, "--name", "old", "--type", "imap", "--host", "h.example"}, "--name"},
		{"endpoint bad size", []string{"endpoint", "add", "--customer", c, "--name", "x", "--type", "imap", "--host", "h.example", "--max-message-size", "huge"}, "--max-message-size"},
		{"endpoint list without customer", []string{"endpoint", "list"}, "--customer"},
		{"endpoint list missing customer", []string{"endpoint", "list", "--customer", "777"}, "customer 777 does not exist"},
		{"credentials missing endpoint", []string{"endpoint", "credentials", "777", "--admin", "root", "--password-file", e.adminPW}, "endpoint 777 does not exist"},
		{"credentials clear and admin", []string{"endpoint", "credentials", src, "--clear", "--admin", "root"}, "--clear"},
		{"credentials nothing", []string{"endpoint", "credentials", src}, "--admin"},
		{"credentials no password", []string{"endpoint", "credentials", src, "--admin", "root"}, "--password-file"},
		{"endpoint delete used", []string{"endpoint", "delete", dst}, "used by"},
		{"endpoint delete missing", []string{"endpoint", "delete", "777"}, "endpoint 777 does not exist"},

		{"project without customer", []string{"project", "create", "--name", "x", "--source", src, "--destination", dst}, "--customer"},
		{"project missing customer", []string{"project", "create", "--customer", "777", "--name", "x", "--source", src, "--destination", dst}, "customer 777 does not exist"},
		{"project without name", []string{"project", "create", "--customer", c, "--source", src, "--destination", dst}, "--name"},
		{"project without source", []string{"project", "create", "--customer", c, "--name", "x", "--destination", dst}, "--source"},
		{"project unknown source", []string{"project", "create", "--customer", c, "--name", "x", "--source", "nope", "--destination", dst}, "--source"},
		{"project missing destination", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", "777"}, "--destination"},
		{"project other customer's endpoint", []string{"project", "create", "--customer", c, "--name", "x", "--source", id(otherEP.ID), "--destination", dst}, "--source"},
		{"project of no engagement of the customer", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", dst, "--engagement", "777"}, "no engagement 777"},
		{"project same endpoints", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", src}, "--destination"},
		{"project duplicate", []string{"project", "create", "--customer", c, "--name", "Move to 365", "--source", src, "--destination", dst}, "--name"},
		{"project concurrency", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", dst, "--max-concurrent", "0"}, "--max-concurrent"},
		{"project max errors", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", dst, "--max-errors", "-1"}, "--max-errors"},
		{"project bad date", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", dst, "--date-from", "01/02/2020"}, "--date-from"},
		{"project empty dates", []string{"project", "create", "--customer", c, "--name", "x", "--source", src, "--destination", dst, "--date-from", "2021-01-01", "--date-to", "2020-01-01"}, "--date-from"},
		{"project list without customer", []string{"project", "list"}, "--customer"},
		{"project show missing", []string{"project", "show", "777"}, "project 777 does not exist"},
		{"settings nothing", []string{"project", "settings", p}, "say what to change"},
		{"settings missing", []string{"project", "settings", "777", "--max-errors", "3"}, "project 777 does not exist"},
		{"settings bad", []string{"project", "settings", p, "--max-concurrent", "1001"}, "--max-concurrent"},
		{"settings bad date", []string{"project", "settings", p, "--date-to", "tomorrow"}, "--date-to"},
		{"close missing", []string{"project", "close", "777"}, "project 777 does not exist"},

		{"item without project", []string{"item", "add", "--source", "a@contoso.com", "--destination", "a@contoso.com"}, "--project"},
		{"item missing project", []string{"item", "add", "--project", "777", "--source", "a@contoso.com", "--destination", "a@contoso.com"}, "project 777 does not exist"},
		{"item without source", []string{"item", "add", "--project", p, "--destination", "a@contoso.com", "--destination-password-file", e.alicePW}, "--source"},
		{"item without destination", []string{"item", "add", "--project", p, "--source", "a@contoso.com"}, "--destination"},
		{"item without password", []string{"item", "add", "--project", p, "--source", "a@contoso.com", "--destination", "a@contoso.com"}, "--destination-password-file"},
		{"item not an address", []string{"item", "add", "--project", p, "--source", "a@contoso.com", "--destination", "alice", "--destination-password-file", e.alicePW}, "--destination"},
		{"item duplicate", []string{"item", "add", "--project", p, "--source", "alice@contoso.com", "--destination", "alice@contoso.com", "--destination-password-file", e.alicePW}, "--source"},
		{"item closed project", []string{"item", "add", "--project", id(closed.ID), "--source", "a@contoso.com", "--destination", "a@contoso.com", "--destination-password-file", e.alicePW}, "--project"},
		{"item unreadable password", []string{"item", "add", "--project", p, "--source", "a@contoso.com", "--destination", "a@contoso.com", "--destination-password-file", missing}, "--destination-password-file"},
		{"import without csv", []string{"item", "import", "--project", p}, "--csv"},
		{"import missing csv", []string{"item", "import", "--project", p, "--csv", missing}, "--csv"},
		{"import without project", []string{"item", "import", "--csv", bad}, "--project"},
		{"import missing project", []string{"item", "import", "--project", "777", "--csv", bad}, "project 777 does not exist"},
		{"list without project", []string{"item", "list"}, "--project"},
		{"list missing project", []string{"item", "list", "--project", "777"}, "project 777 does not exist"},
		{"list bad status", []string{"item", "list", "--project", p, "--status", "done"}, "--status"},
		{"list bad limit", []string{"item", "list", "--project", p, "--limit", "-1"}, "--limit"},
		{"list bad offset", []string{"item", "list", "--project", p, "--offset", "-1"}, "--offset"},
		{"item show missing", []string{"item", "show", "777"}, "item 777 does not exist"},

		{"start without project", []string{"pass", "start", "--pass", "full", "--all"}, "--project"},
		{"start missing project", []string{"pass", "start", "--project", "777", "--pass", "full", "--all"}, "project 777 does not exist"},
		{"start without pass", []string{"pass", "start", "--project", p, "--all"}, "--pass"},
		{"start unknown pass", []string{"pass", "start", "--project", p, "--pass", "fast", "--all"}, "--pass"},
		{"start without selection", []string{"pass", "start", "--project", p, "--pass", "full"}, "--all, --status or --item"},
		{"start two selections", []string{"pass", "start", "--project", p, "--pass", "full", "--all", "--item", id(f.alice)}, "--all, --status or --item"},
		{"start bad status", []string{"pass", "start", "--project", p, "--pass", "full", "--status", "broken"}, "--status"},
		{"start bad item", []string{"pass", "start", "--project", p, "--pass", "full", "--item", "x"}, "--item"},
		{"start foreign item", []string{"pass", "start", "--project", p, "--pass", "full", "--item", "777"}, "--item"},
		{"prestage without days", []string{"pass", "start", "--project", p, "--pass", "prestage", "--all"}, "--older-than-days"},
		{"start bad time", []string{"pass", "start", "--project", p, "--pass", "full", "--all", "--at", "tonight"}, "--at"},
		{"start in the past", []string{"pass", "start", "--project", p, "--pass", "full", "--all", "--at", "2001-01-01T00:00:00Z"}, "--at"},
		{"stop without selection", []string{"pass", "stop", "--project", p}, "--all, --status or --item"},
		{"stop missing project", []string{"pass", "stop", "--project", "777", "--all"}, "project 777 does not exist"},
	}
	for _, tt := range tests {
		// Sequential: the cases share one database.
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := e.ferry(tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q does not say %q", errOut, tt.want)
			}
			if strings.Contains(errOut, "goroutine") {
				t.Fatalf("a stack trace: %s", errOut)
			}
		})
	}
	// Nothing of the above changed anything.
	if v := e.items(f.project); v.Total != 1 {
		t.Fatalf("items = %+v", v)
	}
	var ps []store.Project
	e.okJSON(&ps, "project", "list", "--customer", c)
	if len(ps) != 2 {
		t.Fatalf("projects = %+v", ps)
	}
}

func TestManageEndpointTypes(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	// No database is needed (nor created).
	dir := t.TempDir()
	if code := Main([]string{"endpoint", "types", "--json", "--database", filepath.Join(dir, "x.db")}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var types []presets.System
	if err := json.Unmarshal(out.Bytes(), &types); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ty := range types {
		if ty.Name == "office365" && ty.MaxMessageSize == 35<<20 && ty.UserIsEmail {
			found = true
		}
	}
	if !found {
		t.Fatalf("types = %+v", types)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Fatal("endpoint types created a database")
	}
	out.Reset()
	if code := Main([]string{"endpoint", "types"}, &out, &errb); code != ExitOK || !strings.Contains(out.String(), "2500 MB") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

// TestManageWorkloads: endpoints get their calendar places, an item
// chooses workloads when added and edited, and a workload without its
// places is refused with what to set.
func TestManageWorkloads(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	code, _, errOut := e.ferry("item", "add", "--project", id(f.project), "--source", "bob@contoso.com", "--destination", "bob@contoso.com",
		"--destination-password-file", e.alicePW, "--workloads", "mail,calendar")
	if code == ExitOK || !strings.Contains(errOut, `set a DAV URL or an EWS URL on endpoint "old"`) {
		t.Fatalf("calendar without places: exit %d: %s", code, errOut)
	}
	if out := e.ok("endpoint", "locations", id(f.src), "--dav-url", "https://dav.contoso.com/"); !strings.Contains(out, "calendars, contacts and tasks: DAV https://dav.contoso.com/") {
		t.Fatalf("locations:\n%s", out)
	}
	var ep struct {
		GraphURL string `json:"graph_url"`
	}
	e.okJSON(&ep, "endpoint", "locations", id(f.dst), "--graph-url", "https://graph.microsoft.com/v1.0")
	if ep.GraphURL != "https://graph.microsoft.com/v1.0" {
		t.Fatalf("destination endpoint %+v", ep)
	}
	var it struct {
		ID        int64    `json:"id"`
		Workloads []string `json:"workloads"`
	}
	e.okJSON(&it, "item", "add", "--project", id(f.project), "--source", "bob@contoso.com", "--destination", "bob@contoso.com",
		"--destination-password-file", e.alicePW, "--workloads", "contacts,mail,calendar")
	if strings.Join(it.Workloads, ",") != "mail,calendar,contacts" {
		t.Fatalf("item workloads %v", it.Workloads)
	}
	e.okJSON(&it, "item", "edit", id(it.ID), "--workloads", "tasks")
	if strings.Join(it.Workloads, ",") != "tasks" {
		t.Fatalf("edited workloads %v", it.Workloads)
	}
}
