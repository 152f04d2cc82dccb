package imapconn

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// TokenSource hands out OAuth2 access tokens per mailbox (internal/oauth
// implements it from an endpoint's administrator credentials).
type TokenSource interface {
	// Token returns a bearer token for mailbox's XOAUTH2 login. Its errors
	// are *Error, classified and with a hint.
	Token(ctx context.Context, mailbox string) (string, error)
	// Refused says a server refused token for mailbox (expired or revoked
	// on its side before its time): the next Token call gets a new one.
	Refused(mailbox, token string)
	// Hint says what to do when a server refuses even a new token.
	Hint(mailbox, serverWords string) string
}

// usesOAuth2 reports whether the endpoint logs in with XOAUTH2.
func (e Endpoint) usesOAuth2() bool { return e.Tokens != nil || e.OAuth2Token != "" }

// xoauth2Login signs in with XOAUTH2 through try (one AUTHENTICATE on the
// caller's connection). A refused token from a TokenSource is renewed and
// tried once more on the same connection: a token the server expired or
// revoked mid-run costs one token request, not the mailbox. Only a refusal
// of the new token is final, with the source's hint.
func xoauth2Login(ctx context.Context, ep Endpoint, op string, try func(token string) error) error {
	if ep.Tokens == nil {
		return try(ep.OAuth2Token)
	}
	mailbox := ep.Mailbox()
	token, err := ep.Tokens.Token(ctx, mailbox)
	if err != nil {
		return err
	}
	err = try(token)
	if !refusedLogin(err) {
		return err
	}
	ep.Tokens.Refused(mailbox, token)
	if token, err = ep.Tokens.Token(ctx, mailbox); err != nil {
		return err
	}
	err = try(token)
	if refusedLogin(err) {
		e := Classify(op, err)
		e.Hint = ep.Tokens.Hint(mailbox, ServerWords(err))
		return e
	}
	return err
}

// refusedLogin: the server answered the AUTHENTICATE with NO (the
// connection itself is fine).
func refusedLogin(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo
}

// expiredToken recognises a server ending a session because its OAuth2
// token expired (Exchange Online: "* BYE Session invalidated -
// AccessTokenExpired"): the run reconnects with a renewed token.
func expiredToken(text string) bool {
	lower := strings.ToLower(text)
	return strings.Contains(lower, "accesstokenexpired") || strings.Contains(lower, "token expired") || strings.Contains(lower, "token has expired")
}
