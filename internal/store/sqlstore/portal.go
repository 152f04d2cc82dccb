package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

const userColumns = `id, email, name, role, password_hash, failed_signins, locked_until, disabled, created, last_signin`

func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, `INSERT INTO users(email, name, role, password_hash, failed_signins, locked_until, disabled, created, last_signin)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`,
			u.Email, u.Name, u.Role, u.PasswordHash, u.FailedSignIns, ts(u.LockedUntil), u.Disabled, ts(u.Created), ts(u.LastSignIn)).Scan(&u.ID)
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", u.Email, store.ErrDuplicate)
		}
		if err != nil {
			return err
		}
		return s.setUserCustomers(ctx, tx, u.ID, u.Customers)
	})
}

func (s *Store) setUserCustomers(ctx context.Context, tx *sql.Tx, userID int64, customers []int64) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM user_customers WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, c := range customers {
		if _, err := s.exec(ctx, tx, `INSERT INTO user_customers(user_id, customer_id) VALUES (?,?) ON CONFLICT DO NOTHING`, userID, c); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
				return fmt.Errorf("customer %d: %w", c, store.ErrNotFound)
			}
			return err
		}
	}
	return nil
}

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var locked, created, last string
	err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.FailedSignIns, &locked, &u.Disabled, &created, &last)
	u.LockedUntil, u.Created, u.LastSignIn = parseTS(locked), parseTS(created), parseTS(last)
	return u, err
}

func (s *Store) userCustomers(ctx context.Context, u *store.User) error {
	rows, err := s.query(ctx, `SELECT customer_id FROM user_customers WHERE user_id = ? ORDER BY customer_id`, u.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	u.Customers = nil
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return err
		}
		u.Customers = append(u.Customers, c)
	}
	return rows.Err()
}

func (s *Store) User(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, nil, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return u, notFound(err, "user", id)
	}
	return u, s.userCustomers(ctx, &u)
}

func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, nil, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", email, store.ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	return u, s.userCustomers(ctx, &u)
}

func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.userCustomers(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, nil, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE users SET email = ?, name = ?, role = ?, password_hash = ?, failed_signins = ?, locked_until = ?,
			disabled = ?, last_signin = ? WHERE id = ?`,
			u.Email, u.Name, u.Role, u.PasswordHash, u.FailedSignIns, ts(u.LockedUntil), u.Disabled, ts(u.LastSignIn), u.ID)
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", u.Email, store.ErrDuplicate)
		}
		if err := affected(res, err, "user", u.ID); err != nil {
			return err
		}
		return s.setUserCustomers(ctx, tx, u.ID, u.Customers)
	})
}

func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.exec(ctx, nil, `INSERT INTO sessions(hash, user_id, csrf, created, expires, last_seen) VALUES (?,?,?,?,?,?)`,
		se.Hash, se.UserID, se.CSRF, ts(se.Created), ts(se.Expires), ts(se.LastSeen))
	return err
}

func (s *Store) Session(ctx context.Context, hash string) (store.Session, error) {
	var se store.Session
	var created, expires, last string
	err := s.queryRow(ctx, nil, `SELECT hash, user_id, csrf, created, expires, last_seen FROM sessions WHERE hash = ?`, hash).
		Scan(&se.Hash, &se.UserID, &se.CSRF, &created, &expires, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return se, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	se.Created, se.Expires, se.LastSeen = parseTS(created), parseTS(expires), parseTS(last)
	return se, err
}

func (s *Store) TouchSession(ctx context.Context, hash string, lastSeen, expires time.Time) error {
	_, err := s.exec(ctx, nil, `UPDATE sessions SET last_seen = ?, expires = ? WHERE hash = ?`, ts(lastSeen), ts(expires), hash)
	return err
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.exec(ctx, nil, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := s.exec(ctx, nil, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

func (s *Store) AddAudit(ctx context.Context, e *store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	return s.queryRow(ctx, nil, `INSERT INTO audit(at, who, customer_id, engagement_id, project_id, object, action, before, after)
		VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`,
		ts(e.At), e.Who, e.CustomerID, e.EngagementID, e.ProjectID, e.Object, e.Action, e.Before, e.After).Scan(&e.ID)
}

func (s *Store) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	q := `SELECT id, at, who, customer_id, engagement_id, project_id, object, action, before, after FROM audit WHERE 1=1`
	var args []any
	for _, c := range []struct {
		col string
		v   int64
	}{{"customer_id", f.CustomerID}, {"engagement_id", f.EngagementID}, {"project_id", f.ProjectID}} {
		if c.v != 0 {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.CustomerID, &e.EngagementID, &e.ProjectID, &e.Object, &e.Action, &e.Before, &e.After); err != nil {
			return nil, err
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
