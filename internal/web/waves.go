package web

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/waves"
)

func init() {
	addRoutes(
		route{Pattern: "GET /projects/{id}/waves", Action: auth.ActionReadProject, Handle: (*server).wavesPage},
		route{Pattern: "POST /projects/{id}/waves/plan", Action: auth.ActionReadProject, Handle: (*server).planWaves},
		route{Pattern: "POST /projects/{id}/waves", Action: auth.ActionAcceptWaves, Handle: (*server).acceptWaves},
	)
}

// waveForm is the planning form, as typed (the files read into text, so
// that Accept sends what was planned).
type waveForm struct {
	Permissions, Mailboxes                string
	MaxPerWave, MaxGB, Start, Every, Zone string
	PrestageDays, OlderThan, GoNoGoHours  string
}

type wavesData struct {
	Project  store.Project
	Form     waveForm
	Plan     *waves.Plan
	Graph    template.HTML // server-side SVG
	Timeline template.HTML
	Accepted []store.Wave
	Result   *projects.WaveAcceptResult
	Error    string
	Field    string
}

func (s *server) wavesPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	d := &wavesData{Project: p}
	d.Form.defaults()
	return s.renderWaves(w, r, http.StatusOK, d)
}

// defaults fills the fields left empty with what the service would take.
func (f *waveForm) defaults() {
	for _, d := range []struct {
		v   *string
		def string
	}{{&f.Every, "Fri 18:00"}, {&f.Zone, "UTC"}, {&f.PrestageDays, strconv.Itoa(projects.DefaultPrestageDaysBefore)},
		{&f.OlderThan, strconv.Itoa(projects.DefaultPrestageOlderThan)}, {&f.GoNoGoHours, strconv.Itoa(projects.DefaultGoNoGoHoursBefore)}} {
		if *d.v == "" {
			*d.v = d.def
		}
	}
}

// renderWaves shows the page with the accepted waves on their timeline.
func (s *server) renderWaves(w http.ResponseWriter, r *http.Request, status int, d *wavesData) error {
	ws, err := s.Projects.Waves(r.Context(), d.Project.ID)
	if err != nil {
		return err
	}
	d.Accepted = ws
	if d.Plan == nil && len(ws) > 0 {
		d.Timeline = template.HTML(acceptedPlan(ws).TimelineSVG()) // Ferry's own SVG, its text escaped
	}
	return s.render(w, r, status, "waves.html", newView(r, "Waves · "+d.Project.Name, "customers", d))
}

// acceptedPlan is the accepted waves in the planner's terms, for the timeline.
func acceptedPlan(ws []store.Wave) *waves.Plan {
	p := &waves.Plan{}
	for _, w := range ws {
		pw := waves.Wave{Number: w.Number, Name: w.Name, Cutover: w.Cutover, SizeMB: w.SizeMB, Estimate: w.Estimate, EstimateNote: w.EstimateNote, OverLimit: w.OverLimit}
		for _, it := range w.Items {
			pw.Mailboxes = append(pw.Mailboxes, waves.WaveMailbox{Mailbox: waves.Mailbox{Address: it.Source}, Batch: it.Batch})
		}
		p.Waves = append(p.Waves, pw)
	}
	return p
}

// readWaveForm reads the form; a file chosen wins over the text carried from the plan.
func readWaveForm(r *http.Request) (waveForm, error) {
	f := waveForm{Permissions: r.PostFormValue("permissions"), Mailboxes: r.PostFormValue("mailboxes"),
		MaxPerWave: strings.TrimSpace(r.PostFormValue("max_per_wave")), MaxGB: strings.TrimSpace(r.PostFormValue("max_gb_per_wave")),
		Start: strings.TrimSpace(r.PostFormValue("start")), Every: strings.TrimSpace(r.PostFormValue("every")), Zone: strings.TrimSpace(r.PostFormValue("time_zone")),
		PrestageDays: strings.TrimSpace(r.PostFormValue("prestage_days_before")), OlderThan: strings.TrimSpace(r.PostFormValue("older_than_days")),
		GoNoGoHours: strings.TrimSpace(r.PostFormValue("go_no_go_hours_before"))}
	for field, dst := range map[string]*string{"permissions_file": &f.Permissions, "mailboxes_file": &f.Mailboxes} {
		file, _, err := r.FormFile(field)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(file, maxImport+1))
		file.Close()
		if err != nil {
			return f, err
		}
		if len(b) > maxImport {
			return f, fault.InvalidField(strings.TrimSuffix(field, "_file"), "the file is larger than %d MB", maxImport>>20)
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			*dst = string(b)
		}
	}
	return f, nil
}

func (f waveForm) input() (projects.WaveAcceptInput, error) {
	in := projects.WaveAcceptInput{WavePlanInput: projects.WavePlanInput{Permissions: f.Permissions, Mailboxes: f.Mailboxes,
		Start: f.Start, Every: f.Every, TimeZone: f.Zone}}
	num := func(field, v string, dst *int) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fault.InvalidField(field, "write a whole number, like 50")
		}
		*dst = n
		return nil
	}
	for _, e := range []error{num("max_per_wave", f.MaxPerWave, &in.MaxPerWave), num("prestage_days_before", f.PrestageDays, &in.PrestageDaysBefore),
		num("older_than_days", f.OlderThan, &in.OlderThanDays), num("go_no_go_hours_before", f.GoNoGoHours, &in.GoNoGoHoursBefore)} {
		if e != nil {
			return in, e
		}
	}
	if f.MaxGB != "" {
		g, err := strconv.ParseFloat(f.MaxGB, 64)
		if err != nil {
			return in, fault.InvalidField("max_gb_per_wave", "write a number of GB, like 500")
		}
		in.MaxGBPerWave = g
	}
	return in, nil
}

func (s *server) planWaves(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	d := &wavesData{Project: p}
	d.Form, err = readWaveForm(r)
	d.Form.defaults()
	var in projects.WaveAcceptInput
	if err == nil {
		in, err = d.Form.input()
	}
	if err == nil {
		d.Plan, err = s.Projects.PlanWaves(r.Context(), p.ID, in.WavePlanInput)
	}
	if fe, ok := userFault(err); ok {
		d.Plan, d.Error, d.Field = nil, fe.Msg, fe.Field
		return s.renderWaves(w, r, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	// Ferry's own SVG: every text in it (addresses, names) is escaped.
	d.Graph, d.Timeline = template.HTML(d.Plan.GraphSVG()), template.HTML(d.Plan.TimelineSVG())
	return s.renderWaves(w, r, http.StatusOK, d)
}

func (s *server) acceptWaves(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	d := &wavesData{Project: p}
	d.Form, err = readWaveForm(r)
	var in projects.WaveAcceptInput
	if err == nil {
		in, err = d.Form.input()
	}
	if err == nil {
		d.Result, err = s.Projects.AcceptWaves(r.Context(), p.ID, in)
	}
	if fe, ok := userFault(err); ok {
		d.Error, d.Field = fe.Msg, fe.Field
		if d.Field != "" {
			d.Error = fmt.Sprintf("%s: %s", d.Field, fe.Msg)
		}
		return s.renderWaves(w, r, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	return s.renderWaves(w, r, http.StatusOK, d)
}
