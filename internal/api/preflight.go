package api

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/ferryhq/ferry/internal/preflight"
)

// startPreflight queues a pre-flight of every item of the project.
func (s *server) startPreflight(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	run, err := s.svc.StartPreflight(r.Context(), p.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/projects/%d/preflight", p.ID))
	return writeJSON(w, http.StatusAccepted, preflightRunOut(run))
}

// getPreflight answers the latest pre-flight with its report, or its findings as CSV.
func (s *server) getPreflight(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return invalid("format", "%q: use csv or json", format)
	}
	v, err := s.svc.Preflight(r.Context(), p.ID)
	if err != nil {
		return err
	}
	if format != "csv" {
		return writeJSON(w, http.StatusOK, preflightOut(v))
	}
	var findings []preflight.Finding
	if v.Report != nil {
		findings = v.Report.Findings
	}
	var buf bytes.Buffer
	if err := preflight.WriteCSV(&buf, findings); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="preflight-project-%d.csv"`, p.ID))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

// waiveChecklistItem accepts a checklist item as it is, with a reason.
func (s *server) waiveChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	itemID, err := s.checklistItemOf(r, e)
	if err != nil {
		return err
	}
	var in WaiveInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.eng.WaiveChecklistItem(r.Context(), e.ID, itemID, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, checklistItemOut(c))
}
