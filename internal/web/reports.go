package web

import (
	"fmt"
	"net/http"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
)

func init() {
	addRoutes(route{Pattern: "GET /engagements/{id}/report", Action: auth.ActionReadReport, Handle: (*server).engagementReport})
}

// engagementReport hands the engagement's report on as a file (Markdown,
// the default; CSV of its tasks; or JSON), as the API's report does.
func (s *server) engagementReport(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "markdown"
	}
	f, ok := engagements.ReportFormats[format]
	if !ok {
		return &pageError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("%q is not a report format; use markdown, csv or json.", format)}
	}
	rep, err := s.Engagements.BuildReport(r.Context(), e.ID)
	if err != nil {
		return err
	}
	b, err := rep.Export(format)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="engagement-%d-report.%s"`, e.ID, f.Ext))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}
