package store

import (
	"context"
	"time"
)

// User is a person who signs in to the portal.
type User struct {
	ID    int64  `json:"id"`
	Email string `json:"email"` // the sign-in name, lower case
	Name  string `json:"name"`
	Role  string `json:"role"` // see auth.Roles
	// Customers the person may see when their role does not see every customer.
	Customers     []int64   `json:"customers,omitempty"`
	PasswordHash  string    `json:"-"` // argon2id, encoded
	FailedSignIns int       `json:"failed_signins"`
	LockedUntil   time.Time `json:"locked_until,omitzero"`
	Disabled      bool      `json:"disabled"`
	Created       time.Time `json:"created"`
	LastSignIn    time.Time `json:"last_signin,omitzero"`
}

// Session is a signed-in browser. Only the hash of its cookie is stored.
type Session struct {
	Hash     string
	UserID   int64
	CSRF     string // the token every form of this session carries
	Created  time.Time
	Expires  time.Time
	LastSeen time.Time
}

// AuditEntry is one change someone made: who, when, to what, before and after.
type AuditEntry struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	Who          string    `json:"who"`
	CustomerID   int64     `json:"customer_id,omitempty"`
	EngagementID int64     `json:"engagement_id,omitempty"`
	ProjectID    int64     `json:"project_id,omitempty"`
	Object       string    `json:"object"` // e.g. "endpoint 4 (Old Exchange)"
	Action       string    `json:"action"` // an auth.Action, e.g. "tasks.update"
	Before       string    `json:"before,omitempty"`
	After        string    `json:"after,omitempty"`
}

// AuditFilter selects audit entries, newest first. Zero fields do not filter.
type AuditFilter struct {
	CustomerID   int64
	EngagementID int64
	ProjectID    int64
	Limit        int // default 100
}

// Portal is the part of the store for people, their sessions and API tokens.
type Portal interface {
	// CreateUser stores a user; an email in use fails with ErrDuplicate.
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id int64) (User, error)
	// UserByEmail finds a user by sign-in name (any case), or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	Users(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
	// UpdateUser saves every field of the user, its customers included.
	UpdateUser(ctx context.Context, u User) error

	CreateSession(ctx context.Context, s Session) error
	// Session returns a live or expired session by hash, or ErrNotFound.
	Session(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, hash string, lastSeen, expires time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	// DeleteUserSessions signs a user out everywhere.
	DeleteUserSessions(ctx context.Context, userID int64) error

	// CreateToken stores an API token (internal/api; see Token) by the
	// SHA-256 hash of its value (the value itself is never stored); a name
	// in use fails with ErrDuplicate.
	CreateToken(ctx context.Context, name, hash string) (int64, error)
	// CreateUserToken is CreateToken for a token that acts as a user.
	CreateUserToken(ctx context.Context, userID int64, name, hash string) (int64, error)
	// TokenByHash returns the token with that hash, or ErrNotFound, and
	// notes the use in LastUsed (to the minute).
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens lists the tokens, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken deletes a token; ErrNotFound when there is none.
	RevokeToken(ctx context.Context, id int64) error
	// RevokeUserTokens deletes every API token that acts as the user (a new
	// password or a disabled account ends them).
	RevokeUserTokens(ctx context.Context, userID int64) error
}

// Audit is the part of the store for the audit log (internal/audit).
type Audit interface {
	AddAudit(ctx context.Context, e *AuditEntry) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
