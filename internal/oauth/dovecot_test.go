package oauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testoauth"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

// oauthDovecot starts a token server and a real Dovecot whose oauth2
// passdb checks tokens there.
func oauthDovecot(t *testing.T) (*testoauth.Server, *testimap.Dovecot) {
	t.Helper()
	ts := testoauth.Start(t)
	d := testimap.StartDovecot(t, testimap.DovecotOptions{
		Users:                  []testimap.User{{Name: alice, Password: "unused-a"}, {Name: bob, Password: "unused-b"}},
		OAuth2IntrospectionURL: ts.IntrospectURL,
	})
	return ts, d
}

func endpoint(d *testimap.Dovecot, mailbox string, src imapconn.TokenSource) imapconn.Endpoint {
	return imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, User: mailbox, AllowPlaintext: true, Tokens: src}
}

func dial(t *testing.T, ep imapconn.Endpoint) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := imapconn.Dial(ctx, ep, imapconn.Options{})
	if err == nil {
		c.Logout()
	}
	return err
}

func newSource(t *testing.T, cfg oauth.Config) *oauth.Source {
	t.Helper()
	src, err := oauth.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSignInToDovecotWithEachGrant: each kind of credential gets a token
// from the token server and signs in to a real Dovecot with XOAUTH2, on the
// IMAP client and on the pipelined appender.
func TestSignInToDovecotWithEachGrant(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	cert, certPEM := testoauth.NewCertificate(t)
	ts.AddApp(&testoauth.App{ClientID: "app-secret", Secret: "s3cret", Mailbox: alice})
	ts.AddApp(&testoauth.App{ClientID: "app-cert", Certificate: cert, Mailbox: alice})
	saKey := ts.AddServiceAccount(t, "ferry@project.iam.example", oauth.GoogleMailScope)
	for _, tc := range []struct {
		name string
		cfg  oauth.Config
	}{
		{"microsoft client secret", oauth.Config{Tenant: "t1", ClientID: "app-secret", ClientSecret: "s3cret", TokenURL: ts.TokenURL}},
		{"microsoft certificate", oauth.Config{Tenant: "t1", ClientID: "app-cert", Certificate: certPEM, TokenURL: ts.TokenURL}},
		{"google service account (token_uri from the key)", oauth.Config{GoogleServiceAccount: saKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, tc.cfg)
			ep := endpoint(d, alice, src)
			if err := dial(t, ep); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			app, err := imapconn.DialAppender(ctx, ep, imapconn.Options{})
			if err != nil {
				t.Fatalf("appender: %v", err)
			}
			app.Logout()
		})
	}
}

// TestGoogleTokenPerMailboxMicrosoftOnePerTenant: a Google token is for
// one mailbox (sub), so each mailbox gets its own; Microsoft's app token
// is reused and cached.
func TestGoogleTokenPerMailboxMicrosoftOnePerTenant(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	src := newSource(t, oauth.Config{GoogleServiceAccount: ts.AddServiceAccount(t, "sa@p.iam.example", oauth.GoogleMailScope)})
	for _, mb := range []string{alice, bob, alice, bob} {
		if err := dial(t, endpoint(d, mb, src)); err != nil {
			t.Fatalf("%s: %v", mb, err)
		}
	}
	if g := ts.Grants(); g != 2 {
		t.Fatalf("google: %d grants for two mailboxes signed in twice each, want 2 (one per mailbox, cached)", g)
	}
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s", Mailbox: alice})
	ms := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s", TokenURL: ts.TokenURL})
	for range 3 {
		if err := dial(t, endpoint(d, alice, ms)); err != nil {
			t.Fatal(err)
		}
	}
	if g := ts.Grants(); g != 3 {
		t.Fatalf("microsoft: %d grants in all, want 3 (one app token for three logins)", g)
	}
}

// TestTokenExpiredOnTheServerIsRenewed: the server stops accepting the
// cached token before its announced expiry; the next login renews it and
// signs in, without an error.
func TestTokenExpiredOnTheServerIsRenewed(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s", Mailbox: alice})
	src := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s", TokenURL: ts.TokenURL})
	ep := endpoint(d, alice, src)
	if err := dial(t, ep); err != nil {
		t.Fatal(err)
	}
	ts.ExpireAll()
	if err := dial(t, ep); err != nil {
		t.Fatalf("after the token expired on the server: %v", err)
	}
	if g, r := ts.Grants(), ts.Refusals(); g != 2 || r != 1 {
		t.Fatalf("grants %d refusals %d, want 2 and 1", g, r)
	}
}

// TestTokenRenewedBeforeItsEnd: a token near its expiry is replaced
// before the server would refuse it.
func TestTokenRenewedBeforeItsEnd(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	ts.Lifetime = 2 * time.Second // renewed after 4/5 of its life
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s", Mailbox: alice})
	src := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s", TokenURL: ts.TokenURL})
	ctx := context.Background()
	first, err := src.Token(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok, err := src.Token(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if tok != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token was never renewed")
		}
		time.Sleep(50 * time.Millisecond) // polling a clock-driven renewal
	}
	if err := dial(t, endpoint(d, alice, src)); err != nil {
		t.Fatal(err)
	}
	if r := ts.Refusals(); r != 0 {
		t.Fatalf("%d tokens refused; renewal before the end should avoid any", r)
	}
}

// TestRevokedCredentialsGiveAClearPermanentError: after the app's secret is
// revoked the cached token is refused, the renewal is refused by the token
// endpoint, and the error says what to do.
func TestRevokedCredentialsGiveAClearPermanentError(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s", Mailbox: alice})
	saKey := ts.AddServiceAccount(t, "sa@p.iam.example", oauth.GoogleMailScope)
	ms := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s", TokenURL: ts.TokenURL})
	g := newSource(t, oauth.Config{GoogleServiceAccount: saKey})
	for _, src := range []*oauth.Source{ms, g} {
		if err := dial(t, endpoint(d, alice, src)); err != nil {
			t.Fatal(err)
		}
	}
	ts.Revoke("app")
	ts.Revoke("sa@p.iam.example")
	for _, tc := range []struct {
		src  *oauth.Source
		want string
	}{
		{ms, "AADSTS7000215"},
		{g, "invalid_grant"},
	} {
		err := dial(t, endpoint(d, alice, tc.src))
		if err == nil || imapconn.IsTemporary(err) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("err = %v (temporary %v), want a permanent error with %q", err, imapconn.IsTemporary(err), tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("the error shows the secret: %v", err)
		}
	}
}

// TestExpiredTokenFromAFileSaysHowToRenew: a token given as is cannot be
// renewed; when the server refuses it the error says to give the app's
// credentials instead.
func TestExpiredTokenFromAFileSaysHowToRenew(t *testing.T) {
	t.Parallel()
	ts, d := oauthDovecot(t)
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s", Mailbox: alice})
	tok, err := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s", TokenURL: ts.TokenURL}).Token(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	ep := endpoint(d, alice, nil)
	ep.OAuth2Token = tok
	if err := dial(t, ep); err != nil {
		t.Fatal(err)
	}
	ts.ExpireAll()
	err = dial(t, ep)
	if err == nil || imapconn.IsTemporary(err) || !strings.Contains(err.Error(), "oauth2-client-id") || strings.Contains(err.Error(), tok) {
		t.Fatalf("err = %v", err)
	}
}

// TestSignInWithOAUTHBEARER: RFC 7628's OAUTHBEARER against a real
// Dovecot's oauth2 passdb, on the IMAP client and the pipelined appender:
// chosen by itself when the server offers OAUTHBEARER and not XOAUTH2,
// or by the endpoint's option on a server offering both; a token the
// server expired is renewed over OAUTHBEARER too. Forcing XOAUTH2 on a
// server without it fails, which proves which mechanism went out.
func TestSignInWithOAUTHBEARER(t *testing.T) {
	t.Parallel()
	ts := testoauth.Start(t)
	users := []testimap.User{{Name: alice, Password: "unused-a"}}
	onlyBearer := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL, OAuth2Mechanisms: "oauthbearer"})
	both := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL})
	ts.AddApp(&testoauth.App{ClientID: "app", Secret: "s3cret", Mailbox: alice})
	src := newSource(t, oauth.Config{Tenant: "t", ClientID: "app", ClientSecret: "s3cret", TokenURL: ts.TokenURL})
	for _, tc := range []struct {
		name    string
		d       *testimap.Dovecot
		mech    imapconn.OAuth2Mechanism
		wantErr bool
	}{
		{"server offers only OAUTHBEARER, auto", onlyBearer, "", false},
		{"server offers both, OAUTHBEARER asked", both, imapconn.OAuthBearer, false},
		{"server offers both, XOAUTH2 asked", both, imapconn.XOAuth2, false},
		{"server offers only OAUTHBEARER, XOAUTH2 forced", onlyBearer, imapconn.XOAuth2, true},
	} {
		ep := endpoint(tc.d, alice, src)
		ep.OAuth2Mechanism = tc.mech
		err := dial(t, ep)
		if tc.wantErr {
			if err == nil || imapconn.IsTemporary(err) {
				t.Fatalf("%s: err = %v, want a permanent refusal", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		app, err := imapconn.DialAppender(ctx, ep, imapconn.Options{})
		cancel()
		if err != nil {
			t.Fatalf("%s: appender: %v", tc.name, err)
		}
		app.Logout()
	}
	// A token expired on the server: refused (over either mechanism),
	// renewed, signed in on the same connection (client and appender).
	for _, c := range []struct {
		d        *testimap.Dovecot
		mech     imapconn.OAuth2Mechanism
		appender bool
	}{{onlyBearer, "", false}, {onlyBearer, "", true}, {both, imapconn.XOAuth2, false}, {both, imapconn.XOAuth2, true}} {
		appender := c.appender
		ts.ExpireAll()
		before := ts.Grants()
		ep := endpoint(c.d, alice, src)
		ep.OAuth2Mechanism = c.mech
		var err error
		if appender {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var app *imapconn.Appender
			if app, err = imapconn.DialAppender(ctx, ep, imapconn.Options{}); err == nil {
				app.Logout()
			}
			cancel()
		} else {
			err = dial(t, ep)
		}
		if err != nil {
			t.Fatalf("%q appender %v, after the token expired on the server: %v", c.mech, appender, err)
		}
		if g := ts.Grants(); g != before+1 {
			t.Fatalf("%q appender %v: %d new grants, want 1 (the renewal)", c.mech, appender, g-before)
		}
	}
}
