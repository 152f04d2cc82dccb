package imapconn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// usesOAuth2 reports whether the endpoint logs in with an OAuth2 token.
func (e Endpoint) usesOAuth2() bool { return e.Tokens != nil || e.OAuth2Token != "" }

// OAuth2Mechanism is a SASL mechanism carrying an OAuth2 bearer token.
type OAuth2Mechanism string

const (
	// XOAUTH2 is Google's and Microsoft's mechanism (what both document).
	XOAuth2 OAuth2Mechanism = "XOAUTH2"
	// OAuthBearer is RFC 7628's standard one.
	OAuthBearer OAuth2Mechanism = "OAUTHBEARER"
)

// ParseOAuth2Mechanism reads a user's choice: "" or "auto" (from the
// server's capabilities), "xoauth2" or "oauthbearer", any case.
func ParseOAuth2Mechanism(s string) (OAuth2Mechanism, error) {
	switch m := OAuth2Mechanism(strings.ToUpper(strings.TrimSpace(s))); m {
	case "", "AUTO":
		return "", nil
	case XOAuth2, OAuthBearer:
		return m, nil
	}
	return "", fmt.Errorf("unknown OAuth2 mechanism %q: use auto, xoauth2 or oauthbearer", s)
}

// oauth2Mechanism is the mechanism to log in with on a server announcing
// caps: the endpoint's choice, else XOAUTH2 unless the server offers
// OAUTHBEARER and not XOAUTH2.
func (e Endpoint) oauth2Mechanism(caps imap.CapSet) OAuth2Mechanism {
	if e.OAuth2Mechanism != "" {
		return e.OAuth2Mechanism
	}
	if caps.Has(imap.Cap("AUTH=OAUTHBEARER")) && !caps.Has(imap.Cap("AUTH=XOAUTH2")) {
		return OAuthBearer
	}
	return XOAuth2
}

// oauth2Response is the SASL initial response of mech for user's token.
// OAUTHBEARER (RFC 7628 3.1) carries the user as the GS2 authorization
// identity (',' and '=' escaped as RFC 5801 says) and the server's host
// and port.
func oauth2Response(mech OAuth2Mechanism, user, host string, port int, token string) []byte {
	if mech == OAuthBearer {
		authzid := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
		return []byte("n,a=" + authzid + ",\x01host=" + host + "\x01port=" + strconv.Itoa(port) + "\x01auth=Bearer " + token + "\x01\x01")
	}
	return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// xoauth2Login signs in with an OAuth2 token (XOAUTH2 or OAUTHBEARER) through try (one AUTHENTICATE on the
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
