package web

import (
	"net/http"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(route{Pattern: "GET /items/{id}", Action: auth.ActionReadItem, Handle: (*server).item})
}

// folderSummary is one folder: what is copied and what is not.
type itemData struct {
	Customer store.Customer
	Project  store.Project
	Item     *projects.ItemDetail
	// The service's figures: per folder, the folders' total, failures of
	// the whole mailbox or a folder (UID 0) and of messages.
	Folders  []projects.FolderFigures
	Folder   projects.FolderFigures
	Mailbox  []store.Failure
	Messages []store.Failure
	Edit     itemEditForm
	// Migrated is what the item's passes copied, and its running pass's progress.
	Migrated projects.Migrated
	// Drawn is when the page was read (Unix ms): its live stream starts with what changed since.
	Drawn int64
	// Wait says why the item waits, when Queued.
	Wait projects.Wait
	// Workloads counts the calendar objects, contacts and tasks copied and
	// not copied, per workload the item moves or has state of.
	Workloads []workloadCount
}

// workloadCount is one workload's objects copied and not copied.
type workloadCount struct {
	Workload, Name    string
	Copied, NotCopied int
}

// WorkloadName is a workload in the words of docs/workloads.md.
func (d *itemData) WorkloadName(w string) string { return workloadName(w) }

func workloadName(w string) string {
	switch w {
	case store.WorkloadCalendar:
		return "Calendar"
	case store.WorkloadContacts:
		return "Contacts"
	case store.WorkloadTasks:
		return "Tasks"
	case store.WorkloadMail:
		return "Mail"
	}
	return w
}

// workloadCounts lists the item's non-mail workloads (those it moves and
// those with objects copied or failed), in their order.
func workloadCounts(d *projects.ItemDetail) []workloadCount {
	failed := map[string]int{}
	for _, f := range d.WorkloadFailures {
		failed[f.Workload]++
	}
	moves := map[string]bool{}
	for _, w := range d.Workloads {
		moves[w] = true
	}
	var out []workloadCount
	for _, w := range store.AllWorkloads[1:] {
		if !moves[w] && d.WorkloadCopied[w] == 0 && failed[w] == 0 {
			continue
		}
		out = append(out, workloadCount{Workload: w, Name: workloadName(w), Copied: d.WorkloadCopied[w], NotCopied: failed[w]})
	}
	return out
}

// PassName is a pass in the migration service's words.
func (d *itemData) PassName(p string) string { return passName(p) }

// CanRetry: the mailbox failed or has messages not copied, and no pass of it is queued or running.
func (d *itemData) CanRetry() bool {
	st := d.Item.Status
	return st != store.StatusQueued && st != store.StatusRunning &&
		(st == store.StatusFailed || d.Item.Errors > 0 || len(d.Mailbox) > 0 || len(d.Item.WorkloadFailures) > 0)
}

// itemFlash confirms what the last form did.
func itemFlash(r *http.Request) string {
	v := r.URL.Query()
	switch {
	case v.Has("saved"):
		return "Changes saved. Run Retry errors to migrate the mailbox again with them."
	case v.Has("queued"):
		if v.Get("queued") == "0" {
			return passName(v.Get("pass")) + ": the mailbox's pass was already queued or running."
		}
		return passName(v.Get("pass")) + " queued for this mailbox: its status changes here as it runs."
	}
	return ""
}

func (s *server) item(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderItem(w, r, http.StatusOK, id, itemEditForm{})
}

// renderItem shows an item's page, with the edit form's values and error
// after a refused edit.
func (s *server) renderItem(w http.ResponseWriter, r *http.Request, status int, id int64, edit itemEditForm) error {
	ctx := r.Context()
	it, err := s.Store.Item(ctx, id)
	if err != nil {
		return err
	}
	p, err := s.Store.Project(ctx, it.ProjectID)
	if err != nil {
		return err
	}
	if err := s.allow(r, p.CustomerID); err != nil {
		return err
	}
	d := &itemData{Project: p, Edit: edit, Drawn: time.Now().UnixMilli()}
	if d.Customer, err = s.Store.Customer(ctx, p.CustomerID); err != nil {
		return err
	}
	if d.Item, err = s.Projects.Item(ctx, id); err != nil {
		return err
	}
	d.Workloads = workloadCounts(d.Item)
	fig := d.Item.Figures()
	d.Folders, d.Folder, d.Mailbox, d.Messages = fig.Folders, fig.Total, fig.Mailbox, fig.Messages
	// Newest pass first.
	h := d.Item.History
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	runs, err := s.Store.ItemRuns(ctx, id)
	if err != nil {
		return err
	}
	irs := make([]store.ItemRun, len(runs))
	for i, run := range runs {
		irs[i] = store.ItemRun{ItemID: id, Run: run}
	}
	d.Migrated = projects.MigratedOf(irs)[id]
	if it.Status == store.StatusQueued {
		why, err := s.Projects.WaitReasons(ctx, p.ID, []store.Item{it})
		if err != nil {
			return err
		}
		d.Wait = why[id]
	}
	v := newView(r, it.Source, "customers", d)
	if status == http.StatusOK {
		v.Flash = itemFlash(r)
	}
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {p.Name, "/projects/" + itoa(p.ID)}, {it.Source, ""}}
	return s.render(w, r, status, "item.html", v)
}
