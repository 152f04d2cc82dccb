package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "POST /items/{id}/edit", Action: auth.ActionEditItem, Handle: (*server).editItem},
		route{Pattern: "POST /items/{id}/delete", Action: auth.ActionDeleteItems, Handle: (*server).deleteItem},
		route{Pattern: "POST /projects/{id}/items/delete", Action: auth.ActionDeleteItems, Handle: (*server).deleteItems},
		route{Pattern: "POST /projects/{id}/items/edit", Action: auth.ActionEditItem, Handle: (*server).editItems},
		route{Pattern: "GET /projects/{id}/statistics", Action: auth.ActionReadProject, Handle: (*server).mailboxStatistics},
		route{Pattern: "POST /engagements/{id}/issues/{issue}", Action: auth.ActionUpdateIssue, Handle: (*server).updateIssue},
	)
}

// itemEditForm is the item page's edit form after a refused edit.
type itemEditForm struct {
	Dest, SourceLogin, DestLogin string
	Error, Field                 string
	Set                          bool // the values are the person's, not the item's
}

// editItem changes an item from its page; an empty password field keeps
// the password (passwords are write-only: the form never shows them).
func (s *server) editItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := itemEditForm{Dest: r.PostFormValue("destination"), SourceLogin: strings.TrimSpace(r.PostFormValue("source_login")),
		DestLogin: strings.TrimSpace(r.PostFormValue("destination_login")), Set: true}
	e := projects.ItemEdit{Dest: &f.Dest, SourceLogin: &f.SourceLogin, DestLogin: &f.DestLogin}
	if pw := r.PostFormValue("source_password"); pw != "" {
		e.SourcePassword = &pw
	}
	if pw := r.PostFormValue("destination_password"); pw != "" {
		e.DestPassword = &pw
	}
	it, err := s.Projects.EditItem(r.Context(), id, e)
	if fe, ok := userFault(err); ok {
		f.Error, f.Field = fe.Msg, fe.Field
		return s.renderItem(w, r, http.StatusBadRequest, id, f)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/items/%d?saved=1", it.ID))
}

func (s *server) deleteItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	it, err := s.Store.Item(r.Context(), id)
	if err != nil {
		return err
	}
	err = s.Projects.DeleteItems(r.Context(), it.ProjectID, []int64{id})
	if fe, ok := userFault(err); ok {
		return s.renderItem(w, r, http.StatusBadRequest, id, itemEditForm{Error: fe.Msg, Field: "delete"})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?deleted=1", it.ProjectID))
}

// deleteItems deletes the mailboxes selected in the project's table.
func (s *server) deleteItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	ids, err := formIDs(r, "item")
	if err == nil {
		err = s.Projects.DeleteItems(r.Context(), p.ID, ids)
	}
	if fe, ok := userFault(err); ok {
		q, _ := parseItemQuery(r)
		return s.renderProject(w, r, http.StatusBadRequest, &projectData{Project: p, Query: q,
			Pass: passForm{Error: fe.Msg, Scope: "selected", IDs: ids}}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, fmt.Sprintf("/projects/%d?deleted=%d", p.ID, len(ids)))
}

// bulkEditForm is the project table's form that fixes the logins or
// passwords of the selected mailboxes at once, after a refused edit.
type bulkEditForm struct {
	SourceLogin, DestLogin string
	Error                  string
}

// editItems sets one login or password on the mailboxes selected in the
// project's table, then (unless unticked) runs Retry errors for them. An
// empty field keeps what each mailbox has; passwords are write-only.
func (s *server) editItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	f := bulkEditForm{SourceLogin: strings.TrimSpace(r.PostFormValue("bulk_source_login")), DestLogin: strings.TrimSpace(r.PostFormValue("bulk_destination_login"))}
	var e projects.ItemEdit
	for _, l := range []struct {
		value, address string
		to             **string
	}{{f.SourceLogin, "bulk_source_login_address", &e.SourceLogin}, {f.DestLogin, "bulk_destination_login_address", &e.DestLogin}} {
		switch {
		case r.PostFormValue(l.address) != "":
			*l.to = new(string)
		case l.value != "":
			*l.to = &l.value
		}
	}
	if pw := r.PostFormValue("bulk_source_password"); pw != "" {
		e.SourcePassword = &pw
	}
	if pw := r.PostFormValue("bulk_destination_password"); pw != "" {
		e.DestPassword = &pw
	}
	ids, err := formIDs(r, "item")
	var edited []store.Item
	if err == nil {
		edited, err = s.Projects.EditItems(r.Context(), p.ID, ids, e)
	}
	if fe, ok := userFault(err); ok {
		f.Error = faultMessage(fe)
		q, _ := parseItemQuery(r)
		return s.renderProject(w, r, http.StatusBadRequest, &projectData{Project: p, Query: q, Bulk: f,
			Pass: passForm{Scope: "selected", IDs: ids}}, "")
	}
	if err != nil {
		return err
	}
	to := fmt.Sprintf("/projects/%d?edited=%d", p.ID, len(edited))
	if r.PostFormValue("bulk_retry") != "" {
		changed := make([]int64, len(edited))
		for i, it := range edited {
			changed[i] = it.ID
		}
		req := projects.PassRequest{Pass: "retry", Selection: projects.Selection{ItemIDs: changed}}
		res, err := s.Projects.StartPass(r.Context(), p.ID, req)
		if pi, ok := userFault(err); ok {
			pi2 := *pi
			pi2.Msg = fmt.Sprintf("%d mailbox(es) changed, but Retry errors did not start: %s", len(edited), pi.Msg)
			return s.passRefused(w, r, p, passForm{Pass: req.Pass, Scope: "selected", IDs: changed}, &pi2)
		}
		if err != nil {
			return err
		}
		to += fmt.Sprintf("&queued=%d&already=%d&excluded=%d&pass=%s", res.Queued, res.AlreadyQueued, res.Excluded, req.Pass)
	}
	return redirect(w, r, to)
}

// mailboxStatistics offers the project's per-mailbox statistics as a
// file: CSV (the default) or JSON.
func (s *server) mailboxStatistics(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	stats, err := s.Projects.MailboxStatistics(r.Context(), p.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := projects.WriteMailboxStatistics(&buf, format, stats); err != nil {
		return err
	}
	ct := "text/csv; charset=utf-8"
	if format == "json" {
		ct = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+projects.StatisticsFileName(p, format)+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

// updateIssue assigns, works, closes or reopens a post-migration issue from
// the engagement page: the form sends the status and owner as they are to
// stay or become, and why.
func (s *server) updateIssue(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	issueID, err := pathID(r, "issue")
	if err != nil {
		return err
	}
	status, owner := r.PostFormValue("status"), strings.TrimSpace(r.PostFormValue("owner"))
	_, err = s.Engagements.UpdateIssue(r.Context(), e.ID, issueID, engagements.IssueUpdate{Status: &status, Owner: &owner, Note: r.PostFormValue("note")})
	return s.formDone(w, r, e, "issues", err)
}
