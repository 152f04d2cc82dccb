package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// lastUsedGranularity: a token's last use is written at most this often, so
// that API reads do not each become a write.
const lastUsedGranularity = time.Minute

func (s *Store) CreateToken(ctx context.Context, name, hash string) (int64, error) {
	return s.CreateUserToken(ctx, 0, name, hash)
}

func (s *Store) CreateUserToken(ctx context.Context, userID int64, name, hash string) (int64, error) {
	var id int64
	err := s.queryRow(ctx, nil, `INSERT INTO tokens(name, hash, created, user_id) VALUES (?,?,?,?) RETURNING id`, name, hash, ts(time.Now()), userID).Scan(&id)
	if isUnique(err) {
		return 0, fmt.Errorf("token %q: %w", name, store.ErrDuplicate)
	}
	return id, err
}

func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	var created, lastUsed string
	err := s.queryRow(ctx, nil, `SELECT id, name, user_id, created, last_used FROM tokens WHERE hash = ?`, hash).Scan(&t.ID, &t.Name, &t.UserID, &created, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, err
	}
	t.Created, t.LastUsed = parseTS(created), parseTS(lastUsed)
	now := time.Now()
	if now.Sub(t.LastUsed) >= lastUsedGranularity {
		if _, err := s.exec(ctx, nil, `UPDATE tokens SET last_used = ? WHERE id = ?`, ts(now), t.ID); err != nil {
			return t, err
		}
		t.LastUsed = parseTS(ts(now))
	}
	return t, nil
}

func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.query(ctx, `SELECT id, name, user_id, created, last_used FROM tokens ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var created, lastUsed string
		if err := rows.Scan(&t.ID, &t.Name, &t.UserID, &created, &lastUsed); err != nil {
			return nil, err
		}
		t.Created, t.LastUsed = parseTS(created), parseTS(lastUsed)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, nil, `DELETE FROM tokens WHERE id = ?`, id)
	return affected(res, err, "token", id)
}

func (s *Store) RevokeUserTokens(ctx context.Context, userID int64) error {
	if userID == 0 {
		return fmt.Errorf("revoke a user's tokens: no user given (0 would be the command line's tokens)")
	}
	_, err := s.exec(ctx, nil, `DELETE FROM tokens WHERE user_id = ?`, userID)
	return err
}
