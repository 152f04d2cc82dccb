package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// tsFormat has a fixed width so that times compare correctly as text.
const tsFormat = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(tsFormat)
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(tsFormat, s)
	return t
}

func lines(v []string) string { return strings.Join(v, "\n") }

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func notFound(err error, what string, id int64) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %d: %w", what, id, store.ErrNotFound)
	}
	return err
}

// isUnique reports a unique-constraint violation on either dialect.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key")
}

func (s *Store) CreateCustomer(ctx context.Context, c *store.Customer) error {
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	err := s.queryRow(ctx, nil, `INSERT INTO customers(name, domain, location, industry, size, created) VALUES (?,?,?,?,?,?) RETURNING id`,
		c.Name, c.Domain, c.Location, c.Industry, c.Size, ts(c.Created)).Scan(&c.ID)
	if isUnique(err) {
		return fmt.Errorf("customer %q: %w", c.Name, store.ErrDuplicate)
	}
	return err
}

const customerCols = `id, name, domain, location, industry, size, created`

func scanCustomer(sc interface{ Scan(...any) error }) (store.Customer, error) {
	var c store.Customer
	var created string
	err := sc.Scan(&c.ID, &c.Name, &c.Domain, &c.Location, &c.Industry, &c.Size, &created)
	c.Created = parseTS(created)
	return c, err
}

func (s *Store) Customer(ctx context.Context, id int64) (store.Customer, error) {
	c, err := scanCustomer(s.queryRow(ctx, nil, `SELECT `+customerCols+` FROM customers WHERE id = ?`, id))
	return c, notFound(err, "customer", id)
}

func (s *Store) Customers(ctx context.Context) ([]store.Customer, error) {
	rows, err := s.query(ctx, `SELECT `+customerCols+` FROM customers ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) DeleteCustomer(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Projects reference endpoints; remove them first, then the rest cascades.
		if _, err := s.exec(ctx, tx, `DELETE FROM projects WHERE customer_id = ?`, id); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `DELETE FROM customers WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("customer %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

const endpointCols = `id, customer_id, name, type, host, port, security, allow_plaintext, admin_user, sealed_password, sealed_token, max_message_size, daily_download, daily_upload, created,
	oauth2_tenant, oauth2_client_id, oauth2_token_url, oauth2_scope, sealed_oauth2, limits, dav_url, graph_url, ews_url, oauth2_mechanism`

func scanEndpoint(sc interface{ Scan(...any) error }) (store.Endpoint, error) {
	var e store.Endpoint
	var created, limits string
	err := sc.Scan(&e.ID, &e.CustomerID, &e.Name, &e.Type, &e.Host, &e.Port, &e.Security, &e.AllowPlaintext, &e.AdminUser,
		&e.SealedPassword, &e.SealedToken, &e.MaxMessageSize, &e.DailyDownload, &e.DailyUpload, &created,
		&e.OAuth2Tenant, &e.OAuth2ClientID, &e.OAuth2TokenURL, &e.OAuth2Scope, &e.SealedOAuth2, &limits, &e.DAVURL, &e.GraphURL, &e.EWSURL, &e.OAuth2Mechanism)
	e.Created = parseTS(created)
	e.Limits = parseLimits(limits)
	e.HasCredentials = e.SealedPassword != "" || e.SealedToken != "" || e.SealedOAuth2 != ""
	return e, err
}

func (s *Store) CreateEndpoint(ctx context.Context, e *store.Endpoint) error {
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	err := s.queryRow(ctx, nil, `INSERT INTO endpoints(customer_id, name, type, host, port, security, allow_plaintext, admin_user, sealed_password, sealed_token,
		max_message_size, daily_download, daily_upload, created, oauth2_tenant, oauth2_client_id, oauth2_token_url, oauth2_scope, sealed_oauth2, limits,
		dav_url, graph_url, ews_url, oauth2_mechanism)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		e.CustomerID, e.Name, e.Type, e.Host, e.Port, e.Security, e.AllowPlaintext, e.AdminUser, e.SealedPassword, e.SealedToken,
		e.MaxMessageSize, e.DailyDownload, e.DailyUpload, ts(e.Created), e.OAuth2Tenant, e.OAuth2ClientID, e.OAuth2TokenURL, e.OAuth2Scope, e.SealedOAuth2, limitsText(e.Limits),
		e.DAVURL, e.GraphURL, e.EWSURL, e.OAuth2Mechanism).Scan(&e.ID)
	if isUnique(err) {
		return fmt.Errorf("endpoint %q: %w", e.Name, store.ErrDuplicate)
	}
	e.HasCredentials = e.SealedPassword != "" || e.SealedToken != "" || e.SealedOAuth2 != ""
	return err
}

func (s *Store) Endpoint(ctx context.Context, id int64) (store.Endpoint, error) {
	e, err := scanEndpoint(s.queryRow(ctx, nil, `SELECT `+endpointCols+` FROM endpoints WHERE id = ?`, id))
	return e, notFound(err, "endpoint", id)
}

func (s *Store) Endpoints(ctx context.Context, customerID int64) ([]store.Endpoint, error) {
	rows, err := s.query(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE customer_id = ? ORDER BY name`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) UpdateEndpoint(ctx context.Context, e store.Endpoint) error {
	res, err := s.exec(ctx, nil, `UPDATE endpoints SET name=?, type=?, host=?, port=?, security=?, allow_plaintext=?, admin_user=?, sealed_password=?, sealed_token=?,
		max_message_size=?, daily_download=?, daily_upload=?, oauth2_tenant=?, oauth2_client_id=?, oauth2_token_url=?, oauth2_scope=?, sealed_oauth2=?, limits=?,
		dav_url=?, graph_url=?, ews_url=?, oauth2_mechanism=? WHERE id=?`,
		e.Name, e.Type, e.Host, e.Port, e.Security, e.AllowPlaintext, e.AdminUser, e.SealedPassword, e.SealedToken,
		e.MaxMessageSize, e.DailyDownload, e.DailyUpload, e.OAuth2Tenant, e.OAuth2ClientID, e.OAuth2TokenURL, e.OAuth2Scope, e.SealedOAuth2, limitsText(e.Limits),
		e.DAVURL, e.GraphURL, e.EWSURL, e.OAuth2Mechanism, e.ID)
	if isUnique(err) {
		return fmt.Errorf("endpoint %q: %w", e.Name, store.ErrDuplicate)
	}
	return affected(res, err, "endpoint", e.ID)
}

func affected(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %d: %w", what, id, store.ErrNotFound)
	}
	return nil
}

// ErrInUse is returned when an endpoint still belongs to a project.
var ErrInUse = errors.New("in use")

func (s *Store) DeleteEndpoint(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM projects WHERE source_id = ? OR dest_id = ?`, id, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("endpoint %d is used by %d project(s): %w", id, n, ErrInUse)
		}
		res, err := s.exec(ctx, tx, `DELETE FROM endpoints WHERE id = ?`, id)
		return affected(res, err, "endpoint", id)
	})
}

const projectCols = `id, customer_id, engagement_id, name, kind, source_id, dest_id, max_concurrent, max_errors, do_not_retry, include, exclude, date_from, date_to, item_types, closed, created, first_label_only, spam_and_trash, limits`

func scanProject(sc interface{ Scan(...any) error }) (store.Project, error) {
	var p store.Project
	var include, exclude, from, to, types, created, limits string
	err := sc.Scan(&p.ID, &p.CustomerID, &p.EngagementID, &p.Name, &p.Kind, &p.SourceID, &p.DestID, &p.MaxConcurrent, &p.MaxErrors, &p.DoNotRetry,
		&include, &exclude, &from, &to, &types, &p.Closed, &created, &p.FirstLabelOnly, &p.SpamAndTrash, &limits)
	p.Limits = parseLimits(limits)
	p.Include, p.Exclude, p.ItemTypes = splitLines(include), splitLines(exclude), splitLines(types)
	p.DateFrom, p.DateTo, p.Created = parseTS(from), parseTS(to), parseTS(created)
	return p, err
}

func (s *Store) CreateProject(ctx context.Context, p *store.Project) error {
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	err := s.queryRow(ctx, nil, `INSERT INTO projects(customer_id, engagement_id, name, kind, source_id, dest_id, max_concurrent, max_errors, do_not_retry, include, exclude,
		date_from, date_to, item_types, closed, created, first_label_only, spam_and_trash, limits) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		p.CustomerID, p.EngagementID, p.Name, p.Kind, p.SourceID, p.DestID, p.MaxConcurrent, p.MaxErrors, p.DoNotRetry, lines(p.Include), lines(p.Exclude),
		ts(p.DateFrom), ts(p.DateTo), lines(p.ItemTypes), p.Closed, ts(p.Created), p.FirstLabelOnly, p.SpamAndTrash, limitsText(p.Limits)).Scan(&p.ID)
	if isUnique(err) {
		return fmt.Errorf("project %q: %w", p.Name, store.ErrDuplicate)
	}
	return err
}

func (s *Store) withCounts(ctx context.Context, p *store.Project) error {
	rows, err := s.query(ctx, `SELECT status, COUNT(*) FROM items WHERE project_id = ? GROUP BY status`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.StatusBreakdown = map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		p.StatusBreakdown[st] = n
		p.ItemCount += n
	}
	return rows.Err()
}

func (s *Store) Project(ctx context.Context, id int64) (store.Project, error) {
	p, err := scanProject(s.queryRow(ctx, nil, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if err != nil {
		return p, notFound(err, "project", id)
	}
	return p, s.withCounts(ctx, &p)
}

func (s *Store) ProjectsOf(ctx context.Context, customerID int64) ([]store.Project, error) {
	rows, err := s.query(ctx, `SELECT `+projectCols+` FROM projects WHERE customer_id = ? ORDER BY name`, customerID)
	if err != nil {
		return nil, err
	}
	var out []store.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	for i := range out {
		if err := s.withCounts(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) UpdateProject(ctx context.Context, p store.Project) error {
	res, err := s.exec(ctx, nil, `UPDATE projects SET engagement_id=?, name=?, source_id=?, dest_id=?, max_concurrent=?, max_errors=?, do_not_retry=?, include=?, exclude=?,
		date_from=?, date_to=?, item_types=?, closed=?, first_label_only=?, spam_and_trash=?, limits=? WHERE id=?`,
		p.EngagementID, p.Name, p.SourceID, p.DestID, p.MaxConcurrent, p.MaxErrors, p.DoNotRetry, lines(p.Include), lines(p.Exclude),
		ts(p.DateFrom), ts(p.DateTo), lines(p.ItemTypes), p.Closed, p.FirstLabelOnly, p.SpamAndTrash, limitsText(p.Limits), p.ID)
	if isUnique(err) {
		return fmt.Errorf("project %q: %w", p.Name, store.ErrDuplicate)
	}
	return affected(res, err, "project", p.ID)
}

const itemCols = `id, project_id, source, dest, source_login, dest_login, sealed_source_password, sealed_dest_password, status, last_pass, errors, mailbox_id, job_id, done_job_id, updated, workloads, dav_mailbox_id`

func scanItem(sc interface{ Scan(...any) error }) (store.Item, error) {
	var it store.Item
	var updated, workloads string
	err := sc.Scan(&it.ID, &it.ProjectID, &it.Source, &it.Dest, &it.SourceLogin, &it.DestLogin, &it.SealedSourcePassword, &it.SealedDestPassword,
		&it.Status, &it.LastPass, &it.Errors, &it.MailboxID, &it.JobID, &it.DoneJobID, &updated, &workloads, &it.DAVMailboxID)
	it.Updated = parseTS(updated)
	it.Workloads = splitLines(workloads)
	return it, err
}

func (s *Store) CreateItems(ctx context.Context, items []*store.Item) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			if it.Status == "" {
				it.Status = store.StatusNotSubmitted
			}
			it.Updated = time.Now()
			err := s.queryRow(ctx, tx, `INSERT INTO items(project_id, source, dest, source_key, dest_key, source_login, dest_login, sealed_source_password,
				sealed_dest_password, status, updated, workloads) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
				it.ProjectID, it.Source, it.Dest, strings.ToLower(it.Source), strings.ToLower(it.Dest), it.SourceLogin, it.DestLogin,
				it.SealedSourcePassword, it.SealedDestPassword, it.Status, ts(it.Updated), workloadLines(it.Workloads)).Scan(&it.ID)
			if isUnique(err) {
				return fmt.Errorf("%s → %s is already in the project: %w", it.Source, it.Dest, store.ErrDuplicate)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// likeEscaper makes a search text match itself in LIKE ... ESCAPE '\': % and _ are characters to find.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *Store) Item(ctx context.Context, id int64) (store.Item, error) {
	it, err := scanItem(s.queryRow(ctx, nil, `SELECT `+itemCols+` FROM items WHERE id = ?`, id))
	return it, notFound(err, "item", id)
}

func (s *Store) Items(ctx context.Context, projectID int64, f store.ItemFilter) ([]store.Item, int, error) {
	where := []string{"project_id = ?"}
	args := []any{projectID}
	if len(f.Status) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Status)), ",")+")")
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	if len(f.IDs) > 0 {
		where = append(where, "id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.IDs)), ",")+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.Search != "" {
		if utf8.RuneCountInString(f.Search) > store.MaxSearch {
			return nil, 0, fault.InvalidField("search", "search for at most %d characters (a part of an address)", store.MaxSearch)
		}
		where = append(where, `(source_key LIKE ? ESCAPE '\' OR dest_key LIKE ? ESCAPE '\')`)
		pat := "%" + likeEscaper.Replace(strings.ToLower(f.Search)) + "%"
		args = append(args, pat, pat)
	}
	if !f.UpdatedSince.IsZero() {
		where = append(where, "updated >= ?")
		args = append(args, ts(f.UpdatedSince))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.queryRow(ctx, nil, `SELECT COUNT(*) FROM items WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	q := `SELECT ` + itemCols + ` FROM items WHERE ` + cond + ` ORDER BY ` + itemOrder(f.Sort)
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", f.Limit, max(f.Offset, 0))
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []store.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, it)
	}
	return out, total, rows.Err()
}

// itemOrder turns ItemFilter.Sort into an ORDER BY clause (unknown values: by id).
func itemOrder(sort string) string {
	col, dir := strings.TrimPrefix(sort, "-"), "ASC"
	if strings.HasPrefix(sort, "-") {
		dir = "DESC"
	}
	c, ok := map[string]string{"source": "source_key", "destination": "dest_key", "status": "status", "updated": "updated", "errors": "errors"}[col]
	if !ok {
		return "id"
	}
	return c + " " + dir + ", id " + dir
}

func (s *Store) UpdateItem(ctx context.Context, it store.Item) error {
	res, err := s.exec(ctx, nil, `UPDATE items SET source=?, dest=?, source_key=?, dest_key=?, source_login=?, dest_login=?, sealed_source_password=?,
		sealed_dest_password=?, status=?, last_pass=?, errors=?, mailbox_id=?, job_id=?, done_job_id=?, updated=?, workloads=?, dav_mailbox_id=? WHERE id=?`,
		it.Source, it.Dest, strings.ToLower(it.Source), strings.ToLower(it.Dest), it.SourceLogin, it.DestLogin, it.SealedSourcePassword,
		it.SealedDestPassword, it.Status, it.LastPass, it.Errors, it.MailboxID, it.JobID, it.DoneJobID, ts(time.Now()), workloadLines(it.Workloads), it.DAVMailboxID, it.ID)
	if isUnique(err) {
		return fmt.Errorf("%s → %s is already in the project: %w", it.Source, it.Dest, store.ErrDuplicate)
	}
	return affected(res, err, "item", it.ID)
}

func (s *Store) SetItemStatus(ctx context.Context, id int64, status, pass string, errs int) error {
	res, err := s.exec(ctx, nil, `UPDATE items SET status=?, last_pass=CASE WHEN ? = '' THEN last_pass ELSE ? END, errors=?, updated=? WHERE id=?`,
		status, pass, pass, errs, ts(time.Now()), id)
	return affected(res, err, "item", id)
}

func (s *Store) EraseProjectCredentials(ctx context.Context, projectID int64) error {
	_, err := s.exec(ctx, nil, `UPDATE items SET sealed_source_password='', sealed_dest_password='' WHERE project_id = ?`, projectID)
	return err
}

func (s *Store) AcquireLease(ctx context.Context, l store.Lease, maxLeases int) (bool, error) {
	got := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			// Serialise slot accounting per project across every worker.
			var id int64
			if err := s.queryRow(ctx, tx, `SELECT id FROM projects WHERE id = ? FOR UPDATE`, l.ProjectID).Scan(&id); err != nil {
				return notFound(err, "project", l.ProjectID)
			}
		}
		// Expired leases of other items stay for ReapExpiredLeases: each is
		// a dead attempt whose job must be run again. They hold no slot.
		now := ts(time.Now())
		var owner, expires string
		err := s.queryRow(ctx, tx, `SELECT owner, expires FROM item_leases WHERE item_id = ?`, l.ItemID).Scan(&owner, &expires)
		switch {
		case err == nil && owner != l.Owner && expires >= now:
			return store.ErrLeaseHeld // another attempt runs this item, here or elsewhere
		case err == nil && owner == l.Owner && expires >= now:
			_, err = s.exec(ctx, tx, `UPDATE item_leases SET expires = ? WHERE item_id = ?`, ts(l.Expires), l.ItemID)
			got = err == nil
			return err
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM item_leases WHERE project_id = ? AND expires >= ?`, l.ProjectID, now).Scan(&n); err != nil {
			return err
		}
		if n >= maxLeases {
			return nil
		}
		// This item's own expired lease, if any, is taken over: this attempt
		// is its item's run again, so nothing else needs to resume it.
		if _, err := s.exec(ctx, tx, `DELETE FROM item_leases WHERE item_id = ?`, l.ItemID); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO item_leases(item_id, project_id, owner, expires) VALUES (?,?,?,?)`, l.ItemID, l.ProjectID, l.Owner, ts(l.Expires))
		got = err == nil
		return err
	})
	return got, err
}

func (s *Store) Leases(ctx context.Context, projectID int64) ([]store.Lease, error) {
	return scanLeases(s.query(ctx, `SELECT item_id, project_id, owner, expires FROM item_leases WHERE project_id = ? AND expires >= ? ORDER BY item_id`, projectID, ts(time.Now())))
}

func (s *Store) RenewLease(ctx context.Context, l store.Lease) error {
	res, err := s.exec(ctx, nil, `UPDATE item_leases SET expires = ? WHERE item_id = ? AND owner = ?`, ts(l.Expires), l.ItemID, l.Owner)
	return affected(res, err, "lease of item", l.ItemID)
}

func (s *Store) ReleaseLease(ctx context.Context, itemID int64, owner string) error {
	_, err := s.exec(ctx, nil, `DELETE FROM item_leases WHERE item_id = ? AND owner = ?`, itemID, owner)
	return err
}

func (s *Store) WithdrawLease(ctx context.Context, itemID int64) error {
	_, err := s.exec(ctx, nil, `DELETE FROM item_leases WHERE item_id = ?`, itemID)
	return err
}

func (s *Store) ReapExpiredLeases(ctx context.Context) ([]store.Lease, error) {
	return scanLeases(s.query(ctx, `DELETE FROM item_leases WHERE expires < ? RETURNING item_id, project_id, owner, expires`, ts(time.Now())))
}

// scanLeases reads rows of (item_id, project_id, owner, expires).
func scanLeases(rows *sql.Rows, err error) ([]store.Lease, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var l store.Lease
		var exp string
		if err := rows.Scan(&l.ItemID, &l.ProjectID, &l.Owner, &exp); err != nil {
			return nil, err
		}
		l.Expires = parseTS(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}

func (s *Store) RequeueUnleased(ctx context.Context) (int, error) {
	res, err := s.exec(ctx, nil, `UPDATE items SET status = ? WHERE status = ? AND NOT EXISTS (SELECT 1 FROM item_leases l WHERE l.item_id = items.id AND l.expires >= ?)`,
		store.StatusQueued, store.StatusRunning, ts(time.Now()))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *Store) SealedCredentials(ctx context.Context) ([]store.SealedCredential, error) {
	var out []store.SealedCredential
	for _, src := range []struct{ table, col string }{
		{"endpoints", "sealed_password"}, {"endpoints", "sealed_token"}, {"endpoints", "sealed_oauth2"}, {"items", "sealed_source_password"}, {"items", "sealed_dest_password"},
	} {
		rows, err := s.query(ctx, `SELECT id, `+src.col+` FROM `+src.table+` WHERE `+src.col+` <> ''`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			c := store.SealedCredential{Table: src.table, Column: src.col}
			if err := rows.Scan(&c.ID, &c.Value); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		rows.Close()
	}
	return out, nil
}

func (s *Store) Reseal(ctx context.Context, c store.SealedCredential) error {
	switch c.Table + "." + c.Column {
	case "endpoints.sealed_password", "endpoints.sealed_token", "endpoints.sealed_oauth2", "items.sealed_source_password", "items.sealed_dest_password":
	default:
		return fmt.Errorf("no sealed column %s.%s", c.Table, c.Column)
	}
	res, err := s.exec(ctx, nil, `UPDATE `+c.Table+` SET `+c.Column+` = ? WHERE id = ?`, c.Value, c.ID)
	return affected(res, err, c.Table, c.ID)
}

// workloadLines stores an item's workloads; none means mail.
func workloadLines(w []string) string {
	if len(w) == 0 {
		return store.WorkloadMail
	}
	return lines(w)
}
