package web

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /customers/{id}/projects/new", Action: auth.ActionCreateProject, Handle: (*server).newProject},
		route{Pattern: "POST /customers/{id}/projects", Action: auth.ActionCreateProject, Handle: (*server).createProject},
		route{Pattern: "GET /projects/{id}", Action: auth.ActionReadProject, Handle: (*server).project},
		route{Pattern: "GET /projects/{id}/items", Action: auth.ActionListItems, Handle: (*server).projectItems},
		route{Pattern: "POST /projects/{id}/items", Action: auth.ActionCreateItem, Handle: (*server).quickAdd},
		route{Pattern: "POST /projects/{id}/import", Action: auth.ActionImportItems, Handle: (*server).importItems},
		route{Pattern: "POST /projects/{id}/passes", Action: auth.ActionStartPass, Handle: (*server).startPass},
		route{Pattern: "POST /projects/{id}/passes/plan", Action: auth.ActionStartPass, Handle: (*server).planPass},
		route{Pattern: "GET /projects/{id}/throughput", Action: auth.ActionReadProject, Handle: (*server).projectThroughput},
		route{Pattern: "POST /projects/{id}/stop", Action: auth.ActionStop, Handle: (*server).stopPasses},
		route{Pattern: "POST /projects/{id}/settings", Action: auth.ActionUpdateSettings, Handle: (*server).updateSettings},
		route{Pattern: "POST /projects/{id}/close", Action: auth.ActionCloseProject, Handle: (*server).closeProject},
		route{Pattern: "POST /projects/{id}/preflight", Action: auth.ActionStartPass, Handle: (*server).startPreflight},
		route{Pattern: "GET /projects/{id}/preflight.csv", Action: auth.ActionReadProject, Handle: (*server).preflightCSV},
	)
}

// pageSize is how many items the project page lists at a time.
const pageSize = 50

// ---- New project

type projectNewData struct {
	Customer  store.Customer
	Endpoints []store.Endpoint
	Form      struct {
		Name, MaxConcurrent, MaxErrors string
		SourceID, DestID               int64
		FirstLabelOnly, SpamAndTrash   bool
	}
	Error, Field string
}

func (s *server) newProject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	d := &projectNewData{Customer: c}
	d.Form.MaxConcurrent, d.Form.MaxErrors = "10", "50"
	// No endpoint is preselected: the person chooses each side (the
	// browser's first option for both would pair an endpoint with itself).
	return s.renderProjectNew(w, r, http.StatusOK, d)
}

func (s *server) renderProjectNew(w http.ResponseWriter, r *http.Request, status int, d *projectNewData) error {
	var err error
	if d.Endpoints, err = s.Store.Endpoints(r.Context(), d.Customer.ID); err != nil {
		return err
	}
	v := newView(r, "New project · "+d.Customer.Name, "customers", d)
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {"New project", ""}}
	return s.render(w, r, status, "project_new.html", v)
}

// formInt reads an optional whole number of a form.
func formInt(r *http.Request, field string) (*int, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, fault.InvalidField(field, "%q is not a whole number", v)
	}
	return &n, nil
}

func formID(r *http.Request, field string) int64 {
	n, _ := strconv.ParseInt(r.PostFormValue(field), 10, 64)
	return n
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	d := &projectNewData{Customer: c}
	d.Form.Name, d.Form.MaxConcurrent, d.Form.MaxErrors = r.PostFormValue("name"), r.PostFormValue("max_concurrent"), r.PostFormValue("max_errors")
	d.Form.SourceID, d.Form.DestID = formID(r, "source_endpoint_id"), formID(r, "destination_endpoint_id")
	d.Form.FirstLabelOnly, d.Form.SpamAndTrash = r.PostFormValue("gmail_first_label_only") != "", r.PostFormValue("gmail_spam_and_trash") != ""
	in := projects.ProjectInput{CustomerID: c.ID, Name: d.Form.Name, SourceID: d.Form.SourceID, DestID: d.Form.DestID}
	in.FirstLabelOnly, in.SpamAndTrash = &d.Form.FirstLabelOnly, &d.Form.SpamAndTrash
	in.MaxConcurrent, err = formInt(r, "max_concurrent")
	if err == nil {
		in.MaxErrors, err = formInt(r, "max_errors")
	}
	var p store.Project
	if err == nil {
		p, err = s.Projects.CreateProject(r.Context(), in)
	}
	if pi, ok := userFault(err); ok {
		d.Error, d.Field = pi.Msg, pi.Field
		return s.renderProjectNew(w, r, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/projects/"+itoa(p.ID))
}

// ---- The project page

// itemQuery is the item table's search, filter, sort and page, as in the URL.
type itemQuery struct {
	Q, Status, Sort string
	Page            int
}

func (q itemQuery) values() url.Values {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	return v
}

// Encode is the query string (with a leading "?" when not empty).
func (q itemQuery) Encode() string {
	if e := q.values().Encode(); e != "" {
		return "?" + e
	}
	return ""
}

func parseItemQuery(r *http.Request) (itemQuery, error) {
	v := r.URL.Query()
	q := itemQuery{Q: strings.TrimSpace(v.Get("q")), Status: v.Get("status"), Sort: v.Get("sort"), Page: 1}
	if q.Status != "" && !slices.Contains(store.Statuses, q.Status) {
		return q, &pageError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("%q is not a status; use one of %s.", q.Status, strings.Join(store.Statuses, ", "))}
	}
	if q.Sort != "" && !slices.Contains(store.ItemSorts, strings.TrimPrefix(q.Sort, "-")) {
		return q, &pageError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("%q is not a column to sort by; use one of %s (with - for descending).", q.Sort, strings.Join(store.ItemSorts, ", "))}
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return q, &pageError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("%q is not a page number.", p)}
		}
		q.Page = n
	}
	return q, nil
}

// column is a sortable column heading of the item table.
type column struct {
	Label, Key string
	AriaSort   string // ascending, descending or none
	Query      string // the query string that sorts by it (next direction)
}

type statusCount struct {
	Status string
	Count  int
	Pct    float64
}

// passForm is what the pass controls show again after a refusal.
type passForm struct {
	Pass, Older, At, Scope string
	IDs                    []int64
	Error                  string
	Gate                   bool   // the migration gate (engagement prerequisites) refused
	Rule                   string // the rule that refused: the gate's task ID
}

type projectData struct {
	Customer  store.Customer
	Project   store.Project
	Source    store.Endpoint
	Dest      store.Endpoint
	Items     []store.Item
	Total     int // items matching the query
	First     int // the first listed item's position (1-based)
	Last      int
	Query     itemQuery
	Pages     int
	PrevQuery string
	NextQuery string
	Columns   []column
	Breakdown []statusCount
	Chart     *chart
	// Throughput is the project's and each worker's, from the service.
	Throughput *projects.Throughput
	Pass       passForm
	// Bulk is the form fixing the selected mailboxes' logins or passwords.
	Bulk bulkEditForm
	// Plan is the summary of the pass about to start (the dialog).
	Plan *projects.PassPlan
	// Migrated is what each listed item's passes copied, and its running pass's progress.
	Migrated map[int64]projects.Migrated
	// Drawn is when the page was read (Unix ms): its live stream starts with what changed since.
	Drawn int64
	// Copied is the live updates' signature of what the passes copied
	// when the page was drawn (liveUpdate.Copied).
	Copied string
	// Waits says why each listed Queued item waits.
	Waits map[int64]projects.Wait
	// PageLinks are the pager's numbered links (0: an ellipsis).
	PageLinks []pageLink
	ItemForm  struct{ Source, Dest, SourceLogin, DestLogin, Error, Field string }
	Import    *importData
	Settings  struct{ Error, Field string }
	// Preflight is the latest pre-flight and its report; PreflightError
	// says why starting one was refused.
	Preflight      *projects.PreflightView
	PreflightError string
}

// Checked reports whether an item was selected in the form shown again.
func (d *projectData) Checked(id int64) bool { return slices.Contains(d.Pass.IDs, id) }

// HasType reports whether the project migrates a kind of item.
func (d *projectData) HasType(t string) bool { return slices.Contains(d.Project.ItemTypes, t) }

// Workloads are the kinds of item an item can move (docs/workloads.md).
func (d *projectData) Workloads() []string { return store.AllWorkloads }

// OtherTypes are the kinds of item the service does not migrate yet.
func (d *projectData) OtherTypes() []string {
	return []string{"notes", "journals", "rules"}
}

// PassName is a pass in the migration service's words.
func (d *projectData) PassName(p string) string { return passName(p) }

// Passes are the passes, in the order the pass buttons offer them.
func (d *projectData) Passes() []string {
	return []string{"verify", "trial", "prestage", "full", "retry"}
}

// Span is a duration as people say it: "under a second", "40 s", "12 min", "3 h 20 min".
func (d *projectData) Span(t time.Duration) string { return span(t) }

func span(t time.Duration) string {
	switch {
	case t < time.Second:
		return "under a second"
	case t < time.Minute:
		return fmt.Sprintf("%d s", int(t.Round(time.Second)/time.Second))
	case t < time.Hour:
		return fmt.Sprintf("%d min", int(t.Round(time.Minute)/time.Minute))
	case t < 48*time.Hour:
		t = t.Round(10 * time.Minute)
		h, m := int(t/time.Hour), int(t%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%.1f days", t.Hours()/24)
}

// Got is what an item's passes copied (zero when none ran).
func (d *projectData) Got(id int64) projects.Migrated { return d.Migrated[id] }

// WaitOf says why a Queued item waits (zero when not known).
func (d *projectData) WaitOf(id int64) projects.Wait { return d.Waits[id] }

// pageLink is a numbered link of the pager.
type pageLink struct {
	Page    int // 0: an ellipsis
	Query   string
	Current bool
}

// pageLinks numbers the pages around the current one: 1 2 3 … N.
func pageLinks(q itemQuery, pages int) []pageLink {
	var out []pageLink
	last := 0
	for n := 1; n <= pages; n++ {
		if n != 1 && n != pages && (n < q.Page-2 || n > q.Page+2) {
			continue
		}
		if last != 0 && n > last+1 {
			out = append(out, pageLink{})
		}
		at := q
		at.Page = n
		out = append(out, pageLink{Page: n, Query: at.Encode(), Current: n == q.Page})
		last = n
	}
	return out
}

// loadProject loads the {id} project and checks the route's action on its customer.
func (s *server) loadProject(r *http.Request) (store.Project, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Project{}, err
	}
	p, err := s.Store.Project(r.Context(), id)
	if err != nil {
		return p, err
	}
	return p, s.allow(r, p.CustomerID)
}

func (s *server) project(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	q, err := parseItemQuery(r)
	if err != nil {
		return err
	}
	d := &projectData{Project: p, Query: q}
	return s.renderProject(w, r, http.StatusOK, d, projectFlash(r.URL.Query()))
}

// projectItems is the item table alone for htmx, the whole page otherwise.
func (s *server) projectItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	q, err := parseItemQuery(r)
	if err != nil {
		return err
	}
	d := &projectData{Project: p, Query: q}
	if r.Header.Get("HX-Request") == "" {
		return s.renderProject(w, r, http.StatusOK, d, "")
	}
	if err := s.loadItems(r, d); err != nil {
		return err
	}
	return s.partial(w, http.StatusOK, "project.html", "items", newView(r, p.Name, "customers", d))
}

func projectFlash(v url.Values) string {
	switch {
	case v.Has("edited"):
		msg := v.Get("edited") + " mailbox(es) changed."
		if v.Has("queued") {
			return msg + " " + queuedFlash(v)
		}
		return msg + " Run Retry errors for them to migrate them again with the changes."
	case v.Has("queued"):
		return queuedFlash(v)
	case v.Has("stopped"):
		return v.Get("stopped") + " mailbox(es) stopped."
	case v.Has("deleted"):
		return v.Get("deleted") + " mailbox(es) deleted."
	case v.Has("added"):
		return "Mailbox added."
	case v.Has("imported"):
		return v.Get("imported") + " mailbox(es) added from the file."
	case v.Has("settings"):
		return "Settings saved."
	case v.Has("preflight"):
		return "Pre-flight queued: it signs in for every mailbox and reads sizes, quotas and folder names, and copies nothing. Its findings appear below and on the engagement's remediation checklist."
	case v.Has("closed"):
		return "Project closed: queued passes were stopped and the items' passwords erased."
	}
	return ""
}

// queuedFlash says what a pass start queued.
func queuedFlash(v url.Values) string {
	msg := v.Get("queued") + " mailbox(es) queued"
	if p := v.Get("pass"); p != "" {
		msg = passName(p) + ": " + msg
	}
	if n := v.Get("already"); n != "" && n != "0" {
		msg += "; " + n + " already queued or running"
	}
	if n := v.Get("excluded"); n != "" && n != "0" {
		msg += "; " + n + " left out because their login was refused (fix them, then select them by hand)"
	}
	return msg + "."
}

// loadItems reads one page of the item table.
func (s *server) loadItems(r *http.Request, d *projectData) error {
	q := d.Query
	d.Drawn = time.Now().UnixMilli()
	f := store.ItemFilter{Search: q.Q, Sort: q.Sort, Limit: pageSize, Offset: (q.Page - 1) * pageSize}
	if q.Status != "" {
		f.Status = []string{q.Status}
	}
	items, total, err := s.Store.Items(r.Context(), d.Project.ID, f)
	if err != nil {
		return err
	}
	d.Items, d.Total = items, total
	d.First, d.Last = f.Offset+1, f.Offset+len(items)
	d.Pages = max(1, (total+pageSize-1)/pageSize)
	d.PageLinks = pageLinks(q, d.Pages)
	runs, err := s.Store.ProjectRuns(r.Context(), d.Project.ID)
	if err != nil {
		return err
	}
	d.Migrated = projects.MigratedOf(runs)
	d.Copied = copiedSignature(runs, d.Migrated)
	if d.Waits, err = s.Projects.WaitReasons(r.Context(), d.Project.ID, items); err != nil {
		return err
	}
	if q.Page > 1 {
		prev := q
		prev.Page = min(q.Page-1, d.Pages)
		d.PrevQuery = prev.Encode()
	}
	if q.Page < d.Pages {
		next := q
		next.Page++
		d.NextQuery = next.Encode()
	}
	for _, c := range []struct{ label, key string }{{"Source", "source"}, {"Destination", "destination"}, {"Status", "status"},
		{"Errors", "errors"}, {"Updated", "updated"}, {"Migrated", ""}} {
		if c.key == "" { // not sortable
			d.Columns = append(d.Columns, column{Label: c.label})
			continue
		}
		col := column{Label: c.label, Key: c.key, AriaSort: "none"}
		next := q
		next.Page = 1
		switch q.Sort {
		case c.key:
			col.AriaSort, next.Sort = "ascending", "-"+c.key
		case "-" + c.key:
			col.AriaSort, next.Sort = "descending", c.key
		default:
			next.Sort = c.key
		}
		col.Query = next.Encode()
		d.Columns = append(d.Columns, col)
	}
	return nil
}

// renderProject fills the whole project page.
func (s *server) renderProject(w http.ResponseWriter, r *http.Request, status int, d *projectData, flash string) error {
	ctx := r.Context()
	p := d.Project
	var err error
	if d.Customer, err = s.Store.Customer(ctx, p.CustomerID); err != nil {
		return err
	}
	if d.Source, err = s.Store.Endpoint(ctx, p.SourceID); err != nil {
		return err
	}
	if d.Dest, err = s.Store.Endpoint(ctx, p.DestID); err != nil {
		return err
	}
	if d.Query.Page == 0 {
		d.Query.Page = 1
	}
	if err := s.loadItems(r, d); err != nil {
		return err
	}
	for _, st := range store.Statuses {
		n := p.StatusBreakdown[st]
		pct := 0.0
		if p.ItemCount > 0 {
			pct = float64(n) * 100 / float64(p.ItemCount)
		}
		d.Breakdown = append(d.Breakdown, statusCount{Status: st, Count: n, Pct: pct})
	}
	if d.Throughput, err = s.Projects.Throughput(ctx, p.ID); err != nil {
		return err
	}
	d.Chart = throughputChart(d.Throughput)
	if d.Preflight, err = s.Projects.Preflight(ctx, p.ID); err != nil {
		return err
	}
	if d.Pass.Scope == "" {
		d.Pass.Scope = "selected"
	}
	v := newView(r, p.Name, "customers", d)
	v.Flash = flash
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {p.Name, ""}}
	return s.render(w, r, status, "project.html", v)
}

// ---- Throughput chart

type chartBar struct {
	X, Y, W, H float64
	Label      string // the hour
	MB         float64
	ShowLabel  bool // every third hour is labelled on the axis
}

type chart struct {
	Bars         []chartBar
	Max          float64
	Width        float64
	Height       float64
	From, To     time.Time
	Mailboxes    int
	TopY, LabelY float64
}

// throughputChart draws the service's hour-by-hour MB (projects.Throughput.Hourly)
// as bars; nil when nothing was copied.
func throughputChart(t *projects.Throughput) *chart {
	if t == nil || len(t.Hourly) == 0 {
		return nil
	}
	hours := len(t.Hourly)
	from := t.Hourly[0].Hour
	c := &chart{Width: 720, Height: 200, From: from, To: t.Hourly[hours-1].Hour.Add(time.Hour), Mailboxes: t.Mailboxes, TopY: 12, LabelY: 196}
	for _, h := range t.Hourly {
		c.Max = math.Max(c.Max, h.MB)
	}
	if c.Max == 0 {
		return nil
	}
	plot := c.Height - 30
	w := c.Width / float64(hours)
	for i, v := range t.Hourly {
		h := v.MB / c.Max * (plot - c.TopY)
		c.Bars = append(c.Bars, chartBar{X: float64(i)*w + 2, Y: plot - h, W: w - 4, H: h,
			Label: v.Hour.Local().Format("15:04"), MB: math.Round(v.MB*10) / 10, ShowLabel: i%3 == 0})
	}
	return c
}

// ---- Passes

func formIDs(r *http.Request, field string) ([]int64, error) {
	var ids []int64
	for _, v := range r.PostForm[field] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return nil, fault.InvalidField(field, "%q is not an item id", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// selection reads which items a pass or stop is for.
func selection(r *http.Request) (projects.Selection, error) {
	switch r.PostFormValue("scope") {
	case "all":
		return projects.Selection{All: true}, nil
	case "status":
		st := r.PostFormValue("filter_status")
		if st == "" {
			return projects.Selection{}, fault.InvalidField("scope", "filter the table by a status first, or choose selected or all mailboxes")
		}
		return projects.Selection{Statuses: []string{st}}, nil
	}
	ids, err := formIDs(r, "item")
	if err != nil {
		return projects.Selection{}, err
	}
	if len(ids) == 0 {
		return projects.Selection{}, fault.InvalidField("item", "select mailboxes in the table first (or choose all mailboxes of the project)")
	}
	return projects.Selection{ItemIDs: ids}, nil
}

// passRequest reads the pass form: which pass, which items, when.
func passRequest(r *http.Request) (passForm, projects.PassRequest, error) {
	pf := passForm{Pass: r.PostFormValue("pass"), Older: strings.TrimSpace(r.PostFormValue("older_than_days")),
		At: strings.TrimSpace(r.PostFormValue("at")), Scope: r.PostFormValue("scope")}
	req := projects.PassRequest{Pass: pf.Pass}
	var err error
	req.Selection, err = selection(r)
	pf.IDs = req.Selection.ItemIDs
	if pf.Pass == "prestage" && pf.Older == "" && r.PostFormValue("step") == "plan" {
		pf.Older = "90" // the summary offers the usual 90 days
	}
	if err == nil && pf.Pass == "prestage" && pf.Older != "" {
		if req.OlderThanDays, err = strconv.Atoi(pf.Older); err != nil {
			err = fault.InvalidField("older_than_days", "write a number of days, like 90")
		}
	}
	if r.PostFormValue("when") != "at" {
		pf.At = ""
	}
	if err == nil && pf.At == "" && r.PostFormValue("when") == "at" {
		err = fault.InvalidField("at", "give the date and time to start at, or choose Now")
	}
	if err == nil && pf.At != "" {
		if req.At, err = parseLocalTime(r, pf.At); err != nil {
			err = fault.InvalidField("at", "write the start time as a date and time")
		}
	}
	return pf, req, err
}

// passRefused shows the project again with the refusal at the pass controls.
func (s *server) passRefused(w http.ResponseWriter, r *http.Request, p store.Project, pf passForm, pi *fault.Error) error {
	pf.Error = pi.Msg
	if pi.Field != "" && pi.Field != "pass" {
		pf.Error = faultMessage(pi)
	}
	// The service says which rule refused (the gate's refusals carry
	// engagements.ErrMigrationGate); the portal does not guess.
	pf.Gate = errors.Is(pi, engagements.ErrMigrationGate)
	pf.Rule = pi.Rule
	q, _ := parseItemQuery(r)
	if r.Header.Get("HX-Request") != "" {
		// From the summary dialog: the refusal shows in it.
		d := &projectData{Project: p, Query: q, Pass: pf}
		w.Header().Set("HX-Retarget", "#pass-dialog-body")
		w.Header().Set("HX-Reswap", "innerHTML")
		c, err := s.Store.Customer(r.Context(), p.CustomerID)
		if err != nil {
			return err
		}
		d.Customer = c
		return s.partial(w, http.StatusBadRequest, "project.html", "plan", newView(r, p.Name, "customers", d))
	}
	return s.renderProject(w, r, http.StatusBadRequest, &projectData{Project: p, Query: q, Pass: pf}, "")
}

// planPass shows the summary of a pass before it starts: what it does,
// how many mailboxes are selected, which cannot migrate and why, how long
// it should take, and when to start it (the service's PlanPass).
func (s *server) planPass(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	pf, req, err := passRequest(r)
	var pl *projects.PassPlan
	if err == nil {
		pl, err = s.Projects.PlanPass(r.Context(), p.ID, req)
	}
	if pi, ok := userFault(err); ok {
		return s.passRefused(w, r, p, pf, pi)
	}
	if err != nil {
		return err
	}
	q, _ := parseItemQuery(r)
	d := &projectData{Project: p, Query: q, Pass: pf, Plan: pl}
	if r.Header.Get("HX-Request") != "" {
		if d.Customer, err = s.Store.Customer(r.Context(), p.CustomerID); err != nil {
			return err
		}
		return s.partial(w, http.StatusOK, "project.html", "plan", newView(r, p.Name, "customers", d))
	}
	return s.renderProject(w, r, http.StatusOK, d, "")
}

func (s *server) startPass(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	pf, req, err := passRequest(r)
	var res *projects.PassResult
	if err == nil {
		res, err = s.Projects.StartPass(r.Context(), p.ID, req)
	}
	if pi, ok := userFault(err); ok {
		return s.passRefused(w, r, p, pf, pi)
	}
	if err != nil {
		return err
	}
	to := fmt.Sprintf("/projects/%d?queued=%d&already=%d&excluded=%d&pass=%s", p.ID, res.Queued, res.AlreadyQueued, res.Excluded, url.QueryEscape(req.Pass))
	if back := r.PostFormValue("back"); back == "item" && len(req.ItemIDs) == 1 {
		to = fmt.Sprintf("/items/%d?queued=%d&pass=%s", req.ItemIDs[0], res.Queued, url.QueryEscape(req.Pass))
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return redirect(w, r, to)
}

// projectThroughput is the throughput section alone (live updates fetch it
// again while passes run).
func (s *server) projectThroughput(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	d := &projectData{Project: p}
	if d.Throughput, err = s.Projects.Throughput(r.Context(), p.ID); err != nil {
		return err
	}
	d.Chart = throughputChart(d.Throughput)
	return s.partial(w, http.StatusOK, "project.html", "throughput", newView(r, p.Name, "customers", d))
}

func (s *server) stopPasses(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	sel, err := selection(r)
	n := 0
	if err == nil {
		n, err = s.Projects.Stop(r.Context(), p.ID, sel)
	}
	if pi, ok := userFault(err); ok {
		q, _ := parseItemQuery(r)
		return s.renderProject(w, r, http.StatusBadRequest, &projectData{Project: p, Query: q,
			Pass: passForm{Error: pi.Msg, Scope: r.PostFormValue("scope"), IDs: sel.ItemIDs}}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?stopped=%d", p.ID, n))
}

// ---- Adding items

func (s *server) quickAdd(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	in := projects.ItemInput{Source: r.PostFormValue("source"), Dest: r.PostFormValue("destination"),
		SourceLogin: strings.TrimSpace(r.PostFormValue("source_login")), DestLogin: strings.TrimSpace(r.PostFormValue("destination_login")),
		SourcePassword: r.PostFormValue("source_password"), DestPassword: r.PostFormValue("destination_password"),
		Workloads: r.PostForm["workloads"]}
	_, err = s.Projects.AddItem(r.Context(), p.ID, in)
	if pi, ok := userFault(err); ok {
		d := &projectData{Project: p, Query: itemQuery{Page: 1}}
		d.ItemForm.Source, d.ItemForm.Dest, d.ItemForm.SourceLogin, d.ItemForm.DestLogin = in.Source, in.Dest, in.SourceLogin, in.DestLogin
		d.ItemForm.Error, d.ItemForm.Field = pi.Msg, pi.Field
		return s.renderProject(w, r, http.StatusBadRequest, d, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?added=1", p.ID))
}

// importData is a bulk add's preview. The file itself goes back to the
// browser only sealed (it may hold passwords).
type importData struct {
	Result *projects.ImportResult
	Shown  []projects.ImportRow // the first rows of Result.Valid
	More   int
	Name   string
	Sealed string
	Error  string
}

// maxImport bounds a bulk add's file.
const maxImport = 8 << 20

// previewRows is how many valid rows the preview lists.
const previewRows = 200

func importAAD(projectID int64, r *http.Request) string {
	uid := int64(0)
	if p := principal(r); p != nil {
		uid = p.UserID
	}
	return fmt.Sprintf("web-import:project:%d:user:%d", projectID, uid)
}

// importFile reads the CSV of the form: an uploaded file, the text area, or the sealed preview.
func (s *server) importFile(r *http.Request, projectID int64) (name, text string, err error) {
	if sealed := r.PostFormValue("sealed"); sealed != "" {
		if s.Projects.Sealer == nil {
			return "", "", errors.New("no key to seal bulk-add files")
		}
		text, err = s.Projects.Sealer.Open(sealed, importAAD(projectID, r))
		if err != nil {
			return "", "", fault.InvalidField("file", "the preview has expired; choose the file again")
		}
		name = r.PostFormValue("filename")
		return name, text, nil
	}
	if f, h, ferr := r.FormFile("file"); ferr == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxImport+1))
		if err != nil {
			return "", "", err
		}
		if len(b) > maxImport {
			return "", "", fault.InvalidField("file", "the file is larger than %d MB; split it", maxImport>>20)
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			return h.Filename, string(b), nil
		}
	}
	text = r.PostFormValue("csv")
	if len(text) > maxImport {
		return "", "", fault.InvalidField("csv", "the text is larger than %d MB; split it", maxImport>>20)
	}
	if strings.TrimSpace(text) == "" {
		return "", "", fault.InvalidField("csv", "choose a CSV file or paste its lines")
	}
	return "pasted.csv", text, nil
}

func (s *server) importItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	name, text, err := s.importFile(r, p.ID)
	d := &projectData{Project: p, Query: itemQuery{Page: 1}}
	if pi, ok := userFault(err); ok {
		d.Import = &importData{Error: pi.Msg}
		return s.renderProject(w, r, http.StatusBadRequest, d, "")
	}
	if err != nil {
		return err
	}
	commit := r.PostFormValue("step") == "commit"
	opt := projects.ImportOptions{Apply: commit, SkipInvalid: r.PostFormValue("skip_invalid") != ""}
	res, err := s.Projects.ImportItems(r.Context(), p.ID, name, strings.NewReader(text), opt)
	if pi, ok := userFault(err); ok && !errors.Is(err, projects.ErrImportHasErrors) {
		d.Import = &importData{Error: pi.Msg}
		return s.renderProject(w, r, http.StatusBadRequest, d, "")
	}
	if err != nil && !errors.Is(err, projects.ErrImportHasErrors) {
		return err
	}
	if commit && err == nil {
		return redirect(w, r, fmt.Sprintf("/projects/%d?imported=%d", p.ID, res.Added))
	}
	if s.Projects.Sealer == nil {
		return errors.New("no key to seal bulk-add files")
	}
	sealed, serr := s.Projects.Sealer.Seal(text, importAAD(p.ID, r))
	if serr != nil {
		return serr
	}
	im := &importData{Result: res, Name: name, Sealed: sealed, Shown: res.Valid}
	if len(im.Shown) > previewRows {
		im.Shown, im.More = im.Shown[:previewRows], len(im.Shown)-previewRows
	}
	status := http.StatusOK
	if err != nil {
		im.Error = fmt.Sprintf("%d row(s) have errors, so nothing was added; fix them, or tick \"Skip invalid rows\" to add the %d valid row(s)",
			res.ErrorCount, len(res.Valid))
		status = http.StatusBadRequest
	}
	d.Import = im
	return s.renderProject(w, r, status, d, "")
}

// ---- Settings and closing

// lines splits a text area into its non-empty lines (or comma-separated values).
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func formDate(r *http.Request, field string) (*time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return &time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, time.Local)
	if err != nil {
		return nil, fault.InvalidField(field, "write a date like 2024-01-31")
	}
	return &t, nil
}

func (s *server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.Settings
	dnr := r.PostFormValue("do_not_retry") != ""
	inc, exc := lines(r.PostFormValue("include")), lines(r.PostFormValue("exclude"))
	types := r.PostForm["item_types"]
	if types == nil {
		types = []string{}
	}
	in.DoNotRetry, in.Include, in.Exclude, in.ItemTypes = &dnr, &inc, &exc, &types
	firstLabel, spamTrash := r.PostFormValue("gmail_first_label_only") != "", r.PostFormValue("gmail_spam_and_trash") != ""
	in.FirstLabelOnly, in.SpamAndTrash = &firstLabel, &spamTrash
	in.MaxConcurrent, err = formInt(r, "max_concurrent")
	if err == nil {
		in.MaxErrors, err = formInt(r, "max_errors")
	}
	if err == nil {
		in.DateFrom, err = formDate(r, "date_from")
	}
	if err == nil {
		in.DateTo, err = formDate(r, "date_to")
	}
	if err == nil && len(types) == 0 {
		err = fault.InvalidField("item_types", "choose at least one kind of item to migrate")
	}
	if err == nil {
		in.PreflightLimits, err = formLimits(r)
	}
	if err == nil {
		_, err = s.Projects.UpdateSettings(r.Context(), p.ID, in)
	}
	if pi, ok := userFault(err); ok {
		d := &projectData{Project: p, Query: itemQuery{Page: 1}}
		d.Settings.Error, d.Settings.Field = pi.Msg, pi.Field
		return s.renderProject(w, r, http.StatusBadRequest, d, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?settings=1", p.ID))
}

// formLimits reads the pre-flight limits of the settings form (empty: the
// destination's); nil when the form has none of them.
func formLimits(r *http.Request) (*projects.Limits, error) {
	var l projects.Limits
	seen := false
	for _, f := range []struct {
		name  string
		set   func(n int)
		field string
	}{
		{"limit_message_size_mb", func(n int) { l.MaxMessageSize = int64(n) * 1_000_000 }, "max_message_size"},
		{"limit_folder_items", func(n int) { l.MaxFolderItems = int64(n) }, "max_folder_items"},
		{"limit_folder_depth", func(n int) { l.MaxFolderDepth = n }, "max_folder_depth"},
		{"limit_folder_name", func(n int) { l.MaxFolderNameLength = n }, "max_folder_name_length"},
		{"limit_folder_path", func(n int) { l.MaxFolderPathLength = n }, "max_folder_path_length"},
	} {
		if _, ok := r.PostForm[f.name]; !ok {
			continue
		}
		seen = true
		n, err := formInt(r, f.name)
		if err != nil {
			return nil, err
		}
		if n != nil {
			if *n < 0 {
				return nil, fault.InvalidField("preflight_limits."+f.field, "a limit is a positive number, or empty for the destination's own")
			}
			f.set(*n)
		}
	}
	if !seen {
		return nil, nil
	}
	return &l, nil
}

func (s *server) closeProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	if _, err := s.Projects.CloseProject(r.Context(), p.ID); err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?closed=1", p.ID))
}

// ---- Pre-flight

func (s *server) startPreflight(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	_, err = s.Projects.StartPreflight(r.Context(), p.ID)
	if pi, ok := userFault(err); ok {
		q, _ := parseItemQuery(r)
		return s.renderProject(w, r, http.StatusBadRequest, &projectData{Project: p, Query: q, PreflightError: pi.Msg}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?preflight=queued#h-preflight", p.ID))
}

// preflightCSV downloads the latest pre-flight's findings.
func (s *server) preflightCSV(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	v, err := s.Projects.Preflight(r.Context(), p.ID)
	if err != nil {
		return err
	}
	var findings []preflight.Finding
	if v.Report != nil {
		findings = v.Report.Findings
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="preflight-project-%d.csv"`, p.ID))
	return preflight.WriteCSV(w, findings)
}
