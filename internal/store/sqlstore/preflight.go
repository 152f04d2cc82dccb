package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// limitsText stores limits as JSON, or nothing when none is set.
func limitsText(l store.Limits) string {
	if l == (store.Limits{}) {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func parseLimits(s string) store.Limits {
	var l store.Limits
	if s != "" {
		json.Unmarshal([]byte(s), &l)
	}
	return l
}

const preflightCols = `id, project_id, job_id, state, requested_by, queued, started, finished, heartbeat, error, report`

func scanPreflightRun(sc interface{ Scan(...any) error }) (store.PreflightRun, error) {
	var r store.PreflightRun
	var queued, started, finished, heartbeat string
	err := sc.Scan(&r.ID, &r.ProjectID, &r.JobID, &r.State, &r.RequestedBy, &queued, &started, &finished, &heartbeat, &r.Error, &r.Report)
	r.Queued, r.Started, r.Finished, r.Heartbeat = parseTS(queued), parseTS(started), parseTS(finished), parseTS(heartbeat)
	return r, err
}

func (s *Store) AddPreflightRun(ctx context.Context, r *store.PreflightRun) error {
	if r.Queued.IsZero() {
		r.Queued = time.Now()
	}
	if r.State == "" {
		r.State = store.PreflightQueued
	}
	return s.queryRow(ctx, nil, `INSERT INTO preflight_runs(project_id, job_id, state, requested_by, queued, started, finished, heartbeat, error, report)
		VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		r.ProjectID, r.JobID, r.State, r.RequestedBy, ts(r.Queued), ts(r.Started), ts(r.Finished), ts(r.Heartbeat), r.Error, r.Report).Scan(&r.ID)
}

func (s *Store) UpdatePreflightRun(ctx context.Context, r store.PreflightRun) error {
	res, err := s.exec(ctx, nil, `UPDATE preflight_runs SET job_id=?, state=?, started=?, finished=?, heartbeat=?, error=?, report=? WHERE id=?`,
		r.JobID, r.State, ts(r.Started), ts(r.Finished), ts(r.Heartbeat), r.Error, r.Report, r.ID)
	return affected(res, err, "pre-flight run", r.ID)
}

func (s *Store) PreflightRun(ctx context.Context, id int64) (store.PreflightRun, error) {
	r, err := scanPreflightRun(s.queryRow(ctx, nil, `SELECT `+preflightCols+` FROM preflight_runs WHERE id = ?`, id))
	if err != nil {
		return r, notFound(err, "pre-flight run", id)
	}
	return r, nil
}

func (s *Store) PreflightRuns(ctx context.Context, projectID int64, limit int) ([]store.PreflightRun, error) {
	q := `SELECT ` + preflightCols + ` FROM preflight_runs WHERE project_id = ? ORDER BY id DESC`
	args := []any{projectID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return collect(s, ctx, scanPreflightRun, q, args...)
}
