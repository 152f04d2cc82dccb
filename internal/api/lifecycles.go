package api

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"

	"github.com/ferryhq/ferry/internal/engagements"

	"github.com/ferryhq/ferry/internal/projects"
)

// ---- Items: edit and delete

func (s *server) editItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in projects.ItemEdit
	if err := decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.svc.EditItem(r.Context(), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, itemOut(it))
}

// editItems makes one edit to several items of a project, all or nothing.
func (s *server) editItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in ItemsEdit
	if err := decode(w, r, &in); err != nil {
		return err
	}
	its, err := s.svc.EditItems(r.Context(), p.ID, in.IDs, projects.ItemEdit{SourceLogin: in.SourceLogin, DestLogin: in.DestLogin,
		SourcePassword: in.SourcePassword, DestPassword: in.DestPassword, Workloads: in.Workloads})
	if err != nil {
		return err
	}
	out := EditedItems{Items: make([]Item, 0, len(its))}
	for _, it := range its {
		out.Items = append(out.Items, itemOut(it))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) deleteItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.st.Item(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteItems(r.Context(), it.ProjectID, []int64{id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) deleteItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in ItemDeletion
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.svc.DeleteItems(r.Context(), p.ID, in.IDs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- Post-migration issues: update and history

func (s *server) updateIssue(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	issueID, err := pathInt(r, "issue")
	if err != nil {
		return err
	}
	var in engagements.IssueUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.eng.UpdateIssue(r.Context(), e.ID, issueID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, issueOut(p))
}

func (s *server) issueHistory(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	issueID, err := pathInt(r, "issue")
	if err != nil {
		return err
	}
	events, err := s.eng.IssueHistory(r.Context(), e.ID, issueID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": convert(events, issueEventOut)})
}

// ---- Per-mailbox statistics

func (s *server) mailboxStatistics(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if !slices.Contains(projects.StatisticsFormats, format) {
		return invalid("format", "%q: use csv or json", format)
	}
	stats, err := s.svc.MailboxStatistics(r.Context(), p.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := projects.WriteMailboxStatistics(&buf, format, stats); err != nil {
		return err
	}
	ct := "application/json; charset=utf-8"
	if format == "csv" {
		ct = "text/csv; charset=utf-8"
		w.Header().Set("Content-Disposition", `attachment; filename="`+projects.StatisticsFileName(p, format)+`"`)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

// ---- Upcoming events

func (s *server) upcomingEvents(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	count := 10
	if v := r.URL.Query().Get("count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil {
			return invalid("count", "%q: a whole number from 1 to 500", v)
		}
	}
	occ, err := s.eng.UpcomingEvents(r.Context(), e.ID, count)
	if err != nil {
		return err
	}
	out := make([]Occurrence, 0, len(occ))
	for _, o := range occ {
		out = append(out, Occurrence(o))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"occurrences": out})
}
