package cli

import (
	"strings"
	"testing"
)

func TestItemEditAndDelete(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	var bob, carol idJSON
	e.okJSON(&bob, "item", "add", "--project", id(f.project), "--source", "bob@contoso.com", "--destination", "bob@contoso.com", "--destination-password-file", e.alicePW)
	e.okJSON(&carol, "item", "add", "--project", id(f.project), "--source", "carol@contoso.com", "--destination", "carol@contoso.com", "--destination-password-file", e.alicePW)

	newPW := e.write("new.pw", "N3w-destination-pa55\n")
	out := e.ok("item", "edit", id(f.alice), "--destination-login", "alice.admin@contoso.com", "--destination-password-file", newPW)
	if !strings.Contains(out, "item "+id(f.alice)+" changed") || !strings.Contains(out, "password replaced") || strings.Contains(out, "N3w-destination-pa55") {
		t.Fatalf("edit output:\n%s", out)
	}
	var item struct {
		DestLogin string `json:"destination_login"`
	}
	e.okJSON(&item, "item", "show", id(f.alice))
	if item.DestLogin != "alice.admin@contoso.com" {
		t.Fatalf("after edit %+v", item)
	}
	if _, errOut := e.usage("item", "edit", id(f.alice)); !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("edit without changes: %s", errOut)
	}
	if _, errOut := e.usage("item", "edit", id(f.alice), "--destination", "bob@contoso.com"); !strings.Contains(errOut, "already the destination") {
		t.Fatalf("edit to another item's destination: %s", errOut)
	}
	out = e.ok("item", "delete", id(f.alice))
	if !strings.Contains(out, "1 item deleted") {
		t.Fatalf("delete output:\n%s", out)
	}
	out = e.ok("item", "delete", "--project", id(f.project), id(bob.ID), id(carol.ID))
	if !strings.Contains(out, "2 items deleted") {
		t.Fatalf("bulk delete output:\n%s", out)
	}
	if v := e.items(f.project); v.Total != 0 {
		t.Fatalf("items left %+v", v)
	}
}

func TestProjectStatistics(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	out := e.ok("project", "statistics", id(f.project))
	if !strings.HasPrefix(out, "source,destination,status,workload,items,bytes,mb_per_hour") || !strings.Contains(out, "alice@contoso.com,alice@contoso.com,Not Submitted,mail,0,0,") {
		t.Fatalf("csv:\n%s", out)
	}
	var v struct {
		Mailboxes []struct {
			Source string `json:"source"`
		} `json:"mailboxes"`
	}
	e.okJSON(&v, "project", "statistics", id(f.project))
	if len(v.Mailboxes) != 1 || v.Mailboxes[0].Source != "alice@contoso.com" {
		t.Fatalf("json %+v", v)
	}
	if _, errOut := e.usage("project", "statistics", id(f.project), "--format", "pdf"); !strings.Contains(errOut, "use csv or json") {
		t.Fatalf("unknown format: %s", errOut)
	}
}

func TestIssueUpdateAndHistory(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	var created idJSON
	e.okJSON(&created, "engagement", "create", "--customer", id(f.customer), "--name", "Onboarding", "--seats", "800",
		"--service", "core", "--service", "exchange", "--workload", "imap")
	eng := id(created.ID)
	pw := e.write("eve.pw", "Eve-pa55word-for-the-portal\n")
	e.ok("user", "create", "--email", "eve@partner.example", "--name", "Eve", "--role", "fasttrack-engineer", "--password-file", pw)
	var issue idJSON
	e.okJSON(&issue, "issue", "report", "--engagement", eng, "--mailbox", "alice@contoso.com",
		"--migrated-at", "2026-12-04T18:00:00Z", "--description", "calendar missing")
	iss := id(issue.ID)

	if out := e.ok("issue", "update", iss, "--engagement", eng, "--owner", "eve@partner.example", "--status", "closed", "--note", "restored"); !strings.Contains(out, "closed, owner eve@partner.example") {
		t.Fatalf("update:\n%s", out)
	}
	if _, errOut := e.usage("issue", "update", iss, "--engagement", eng, "--status", "open"); !strings.Contains(errOut, "say why it is reopened") {
		t.Fatalf("reopen without a note: %s", errOut)
	}
	if _, errOut := e.usage("issue", "update", iss, "--engagement", eng, "--owner", "Eve"); !strings.Contains(errOut, "has no account") {
		t.Fatalf("owner without an account: %s", errOut)
	}
	e.ok("issue", "update", iss, "--engagement", eng, "--status", "open", "--note", "missing again")
	out := e.ok("issue", "history", iss, "--engagement", eng)
	for _, w := range []string{"owner", "eve@partner.example", "restored", "missing again"} {
		if !strings.Contains(out, w) {
			t.Errorf("history: no %q\n%s", w, out)
		}
	}
}

// TestItemEditSeveral: 'ferry item edit' with several IDs sets one login or
// password on all of them, all or nothing, naming the mailbox at fault.
func TestItemEditSeveral(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	var bob, carol idJSON
	e.okJSON(&bob, "item", "add", "--project", id(f.project), "--source", "bob@contoso.com", "--destination", "bob@contoso.com", "--destination-password-file", e.alicePW)
	e.okJSON(&carol, "item", "add", "--project", id(f.project), "--source", "carol@contoso.com", "--destination", "carol@contoso.com", "--destination-password-file", e.alicePW)

	newPW := e.write("bulk.pw", "Bulk-destination-pa55\n")
	out := e.ok("item", "edit", id(f.alice), id(bob.ID), "--source-login", "migration.admin", "--destination-password-file", newPW)
	if !strings.Contains(out, "2 items of project "+id(f.project)+" changed (source-login, destination-password replaced)") ||
		!strings.Contains(out, "item "+id(bob.ID)+": bob@contoso.com → bob@contoso.com") || strings.Contains(out, "Bulk-destination-pa55") {
		t.Fatalf("bulk edit output:\n%s", out)
	}
	var res struct {
		ProjectID int64 `json:"project_id"`
		Items     []struct {
			ID          int64  `json:"id"`
			SourceLogin string `json:"source_login"`
			HasDestPW   bool   `json:"has_destination_password"`
		} `json:"items"`
	}
	e.okJSON(&res, "item", "edit", "--project", id(f.project), id(f.alice), id(bob.ID), "--source-login", "")
	if res.ProjectID != f.project || len(res.Items) != 2 || res.Items[0].SourceLogin != "" || !res.Items[1].HasDestPW {
		t.Fatalf("bulk edit json %+v", res)
	}
	if _, errOut := e.usage("item", "edit", id(f.alice), id(bob.ID), "--destination", "x@contoso.com"); !strings.Contains(errOut, "its own destination") {
		t.Fatalf("one destination for several: %s", errOut)
	}
	// Carol's pass is queued: nothing changes, the error names her.
	e.ok("pass", "start", "--project", id(f.project), "--pass", "full", "--item", id(carol.ID))
	if _, errOut := e.usage("item", "edit", id(bob.ID), id(carol.ID), "--destination-login", "admin@contoso.com"); !strings.Contains(errOut, "mailbox carol@contoso.com") || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("edit with a queued item: %s", errOut)
	}
	var item struct {
		DestLogin string `json:"destination_login"`
	}
	e.okJSON(&item, "item", "show", id(bob.ID))
	if item.DestLogin != "" {
		t.Fatalf("a refused bulk edit changed bob: %+v", item)
	}
}
