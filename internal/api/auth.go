package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Principal is who makes a request (see auth.Principal).
type Principal = auth.Principal

// KindToken is the Kind of principals authenticated by an API token.
const KindToken = auth.KindToken

// Authenticator says who made a request. It returns nil, nil when the
// request carries no credentials of its kind (the next authenticator is
// asked), and an error wrapping ErrBadCredentials when it carries wrong ones.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// ErrBadCredentials: the request's credentials are not valid (401).
var ErrBadCredentials = errors.New("the credentials are not valid")

// ErrForbidden: the principal may not do this (403).
var ErrForbidden = auth.ErrForbidden

// PrincipalFrom returns the principal of an authenticated request's context, or nil.
func PrincipalFrom(ctx context.Context) *Principal { return auth.PrincipalFrom(ctx) }

func (s *server) authenticate(r *http.Request) (*Principal, error) {
	for _, a := range s.auth {
		p, err := a.Authenticate(r)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return p, nil
		}
	}
	return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		Message: "this API needs an API token: send Authorization: Bearer <token>; create one with: ferry token create --name NAME"}
}

// ---- Authorization: one layer for the API and the portal (internal/auth).

// Action is what a request does, for authorization.
type Action = auth.Action

// Authorize is the default authorization: auth.Authorize.
func Authorize(p *Principal, action Action, customerID int64) error {
	return auth.Authorize(p, action, customerID)
}

type actionKey struct{}

func withAction(ctx context.Context, a Action) context.Context {
	return context.WithValue(ctx, actionKey{}, a)
}

// allow checks the request's principal may do the route's action on a customer's resources (0: none in particular).
func (s *server) allow(r *http.Request, customerID int64) error {
	a, _ := r.Context().Value(actionKey{}).(Action)
	return auth.Hide(r, s.authorize(PrincipalFrom(r.Context()), a, customerID))
}

// sees reports whether the request's principal may see a customer (to filter lists).
func (s *server) sees(r *http.Request, customerID int64) bool {
	return s.authorize(PrincipalFrom(r.Context()), auth.ActionReadCustomer, customerID) == nil
}

// ---- API tokens

// TokenPrefix starts every API token, so that leaked tokens are easy to recognise.
const TokenPrefix = "fy_"

// TokenStore keeps API tokens (store.Store is one).
type TokenStore interface {
	CreateUserToken(ctx context.Context, userID int64, name, hash string) (int64, error)
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	Tokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64) error
	User(ctx context.Context, id int64) (store.User, error)
}

// HashToken is what the store keeps of a token: the hex SHA-256 of its value.
func HashToken(token string) string { return auth.HashToken(token) }

// CreateToken makes an API token named name and returns its value, which
// is shown once and never stored (only its hash is). A bad or taken name is
// a *projects.InvalidError.
func CreateToken(ctx context.Context, st TokenStore, name string) (string, error) {
	return CreateUserToken(ctx, st, 0, name)
}

// CreateUserToken is CreateToken for a token that acts as a user (0: an
// administrator token, as made on the command line).
func CreateUserToken(ctx context.Context, st TokenStore, userID int64, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", &projects.InvalidError{Field: "name", Msg: "a token needs a name saying who or what uses it, e.g. --name ci"}
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", &projects.InvalidError{Field: "name", Msg: "use a name of at most 100 characters"}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	if _, err := st.CreateUserToken(ctx, userID, name, HashToken(token)); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return "", &projects.InvalidError{Field: "name", Msg: fmt.Sprintf("a token named %q exists already; choose another name or revoke it first", name)}
		}
		return "", err
	}
	return token, nil
}

// ListTokens lists the API tokens (names and dates; their values are not kept).
func ListTokens(ctx context.Context, st TokenStore) ([]store.Token, error) {
	return st.Tokens(ctx)
}

// RevokeToken revokes an API token by id: requests with it fail from now on.
// An unknown id is store.ErrNotFound.
func RevokeToken(ctx context.Context, st TokenStore, id int64) error {
	return st.RevokeToken(ctx, id)
}

// TokenAuthenticator authenticates API tokens: Authorization: Bearer fy_...
type TokenAuthenticator struct {
	Store TokenStore
}

// Authenticate implements Authenticator.
func (a TokenAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, nil
	}
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, fmt.Errorf("%w: Ferry API tokens begin with %s", ErrBadCredentials, TokenPrefix)
	}
	t, err := a.Store.TokenByHash(r.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: the token is unknown or was revoked; create one with: ferry token create --name NAME", ErrBadCredentials)
	}
	if err != nil {
		return nil, err
	}
	if t.UserID == 0 {
		// Made on the command line by whoever runs Ferry: an administrator.
		return &Principal{Name: t.Name, Kind: KindToken, Role: auth.Administrator}, nil
	}
	u, err := a.Store.User(r.Context(), t.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: the token's account was deleted", ErrBadCredentials)
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, fmt.Errorf("%w: the token's account is disabled", ErrBadCredentials)
	}
	p := auth.PrincipalOf(u, KindToken)
	p.Name = u.Email + " (token " + t.Name + ")"
	return p, nil
}
