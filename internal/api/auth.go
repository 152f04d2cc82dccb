package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
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

// ErrBadCredentials: the request's credentials are not valid (401,
// WWW-Authenticate with error="invalid_token"). Errors that wrap it are
// fault.Unauthenticated and say why the token is refused.
var ErrBadCredentials error = &fault.Error{Kind: fault.Unauthenticated, Msg: "the credentials are not valid"}

// badToken refuses a request's token, saying why.
func badToken(why string) error {
	return fault.Wrap(fault.Unauthenticated, ErrBadCredentials, "%v: %s", ErrBadCredentials, why)
}

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
	return nil, fault.New(fault.Unauthenticated, "this API needs an API token: send Authorization: Bearer <token>; create one with: ferry token create --name NAME")
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

// ---- API tokens (made and revoked by the people service, auth.Service)

// TokenPrefix starts every API token, so that leaked tokens are easy to recognise.
const TokenPrefix = auth.TokenPrefix

// TokenStore is what TokenAuthenticator reads (store.Store is one).
type TokenStore interface {
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	User(ctx context.Context, id int64) (store.User, error)
}

// HashToken is what the store keeps of a token: the hex SHA-256 of its value.
func HashToken(token string) string { return auth.HashToken(token) }

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
		return nil, badToken("Ferry API tokens begin with " + TokenPrefix)
	}
	t, err := a.Store.TokenByHash(r.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, badToken("the token is unknown or was revoked; create one with: ferry token create --name NAME")
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
		return nil, badToken("the token's account was deleted")
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, badToken("the token's account is disabled")
	}
	p := auth.PrincipalOf(u, KindToken)
	p.Name = u.Email + " (token " + t.Name + ")"
	return p, nil
}
