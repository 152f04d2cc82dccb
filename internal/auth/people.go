package auth

// The people service: accounts (signin.go) and API tokens. Every change
// is authorized here and recorded in the audit log here, so the portal,
// the API and the command line cannot differ or forget.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// KindOperator: a person running Ferry's commands on its database (the
// command line). Whoever may open the database administers Ferry.
const KindOperator = "cli"

// Operator is the principal of a person running Ferry's commands, named so
// that the audit log says who changed what.
func Operator(name string) *Principal {
	return &Principal{Name: name, Kind: KindOperator, Role: Administrator}
}

// What the audit log calls changes to accounts and tokens.
const (
	auditCreateUser  = "users.create"
	auditUpdateUser  = "users.update"
	auditDisableUser = "users.disable"
	auditEnableUser  = "users.enable"
	auditUnlockUser  = "users.unlock"
	auditCreateToken = "tokens.create"
	auditRevokeToken = "tokens.revoke"
)

// record writes an audit entry for a change made by the context's
// principal. The change is made already: failing to record it is logged,
// not returned.
func (s *Service) record(ctx context.Context, e store.AuditEntry) {
	p := PrincipalFrom(ctx)
	if p == nil {
		return
	}
	e.Who = p.Name
	if e.Who == "" {
		e.Who = "(unnamed " + p.Kind + ")"
	}
	if err := s.Store.AddAudit(ctx, &e); err != nil {
		slog.Error("audit: cannot record a change", "who", e.Who, "object", e.Object, "action", e.Action, "err", err)
	}
}

func accountEntry(u store.User, action string, before, after map[string]any) store.AuditEntry {
	return store.AuditEntry{Object: fmt.Sprintf("account %d (%s)", u.ID, u.Email), Action: action, Before: auditText(before), After: auditText(after)}
}

// accountFields are what a person decides about an account (never its password hash).
func accountFields(u store.User) map[string]any {
	m := map[string]any{"email": u.Email, "name": u.Name, "role": u.Role}
	if len(u.Customers) > 0 {
		m["customers"] = slices.Clone(u.Customers)
	}
	return m
}

// changedFields keeps the fields whose value differs, before and after.
func changedFields(before, after map[string]any) (b, a map[string]any) {
	b, a = map[string]any{}, map[string]any{}
	for k, v := range before {
		if w, ok := after[k]; !ok || !reflect.DeepEqual(v, w) {
			b[k] = v
		}
	}
	for k, w := range after {
		if v, ok := before[k]; !ok || !reflect.DeepEqual(v, w) {
			a[k] = w
		}
	}
	return b, a
}

func auditText(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}

// ---- API tokens

// TokenPrefix starts every API token, so that leaked tokens are easy to recognise.
const TokenPrefix = "fy_"

// authorizeToken: a person keeps their own tokens; tokens of others, and
// administrator tokens (userID 0), are for those who manage accounts.
func authorizeToken(p *Principal, userID int64) error {
	if userID != 0 && p != nil && p.UserID == userID {
		return Authorize(p, ActionOwnTokens, 0)
	}
	return Authorize(p, ActionManageUsers, 0)
}

// CreateToken makes an API token named name acting as the account userID
// (0: an administrator token, as made on the command line). It returns the
// token's value, which is shown once and never stored (only its hash is).
func (s *Service) CreateToken(ctx context.Context, userID int64, name string) (string, store.Token, error) {
	if err := authorizeToken(PrincipalFrom(ctx), userID); err != nil {
		return "", store.Token{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", store.Token{}, invalid("name", "a token needs a name saying who or what uses it, e.g. ci")
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", store.Token{}, invalid("name", "use a name of at most 100 characters")
	}
	var owner string
	if userID != 0 {
		u, err := s.Store.User(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return "", store.Token{}, invalid("user", "there is no account %d", userID)
		} else if err != nil {
			return "", store.Token{}, err
		}
		owner = u.Email
	}
	value := TokenPrefix + RandomToken(32)
	id, err := s.Store.CreateUserToken(ctx, userID, name, HashToken(value))
	if errors.Is(err, store.ErrDuplicate) {
		return "", store.Token{}, &fault.Error{Kind: fault.Conflict, Field: "name",
			Msg: fmt.Sprintf("a token named %q exists already; choose another name or revoke it first", name)}
	} else if err != nil {
		return "", store.Token{}, err
	}
	t := store.Token{ID: id, Name: name, UserID: userID, Created: s.now()}
	s.record(ctx, tokenEntry(t, owner, auditCreateToken))
	return value, t, nil
}

// RevokeToken revokes an API token by id: requests with it fail from now on.
func (s *Service) RevokeToken(ctx context.Context, id int64) (store.Token, error) {
	all, err := s.Store.Tokens(ctx)
	if err != nil {
		return store.Token{}, err
	}
	i := slices.IndexFunc(all, func(t store.Token) bool { return t.ID == id })
	if i < 0 {
		return store.Token{}, fault.New(fault.NotFound, "token %d does not exist (or was revoked)", id)
	}
	t := all[i]
	if err := authorizeToken(PrincipalFrom(ctx), t.UserID); err != nil {
		return t, err
	}
	if err := s.Store.RevokeToken(ctx, id); err != nil {
		return t, err
	}
	owner := ""
	if t.UserID != 0 {
		if u, err := s.Store.User(ctx, t.UserID); err == nil {
			owner = u.Email
		}
	}
	s.record(ctx, tokenEntry(t, owner, auditRevokeToken))
	return t, nil
}

func tokenEntry(t store.Token, owner, action string) store.AuditEntry {
	acts := "administrator token"
	if owner != "" {
		acts = "acts as " + owner
	}
	e := store.AuditEntry{Object: fmt.Sprintf("token %d (%s)", t.ID, t.Name), Action: action}
	m := auditText(map[string]any{"name": t.Name, "acts": acts})
	if action == auditRevokeToken {
		e.Before, e.After = m, "revoked"
	} else {
		e.After = m
	}
	return e
}
