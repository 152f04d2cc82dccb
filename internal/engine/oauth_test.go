package engine_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestDovecotOAuth2TokenExpiresMidRun copies a mailbox between two real
// Dovecots that take only XOAUTH2 tokens checked at a token server: the
// source with a Google service account (a token per mailbox), the
// destination with a Microsoft app secret. Every token is good for one
// login only, as if it expired on the server right after, and the source
// connection is cut several times mid-run: each reconnection meets a
// refused token, renews it and goes on. The copy ends exact: nothing lost,
// nothing doubled.
func TestDovecotOAuth2TokenExpiresMidRun(t *testing.T) {
	t.Parallel()
	ts := testoauth.Start(t)
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users, OAuth2IntrospectionURL: ts.IntrospectURL})
	mail := corpus.Generate(corpus.Spec{Seed: 17, Messages: 300, Folders: 5, MaxSize: 1 << 20})
	if err := corpus.Load(context.Background(), testimap.Dial(t, src.Addr, user, pass), mail); err != nil {
		t.Fatal(err)
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)

	google, err := oauth.New(oauth.Config{GoogleServiceAccount: ts.AddServiceAccount(t, "ferry@p.iam.example", oauth.GoogleMailScope)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Secret: "app-secret", Mailbox: user})
	microsoft, err := oauth.New(oauth.Config{Tenant: "contoso", ClientID: "ferry-app", ClientSecret: "app-secret", TokenURL: ts.TokenURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.OneLogin = true

	proxy := testimap.StartProxy(t, src.Addr)
	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	job.Source.Password, job.Dest.Password = "", ""
	job.Source.Tokens, job.Dest.Tokens = google, microsoft
	host, port, _ := net.SplitHostPort(proxy.Addr)
	job.Source.Host = host
	job.Source.Port, _ = strconv.Atoi(port)

	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stopCuts := proxy.CutEach(1<<20, 1<<20+1200<<10, 1<<20+2400<<10)
	r := engine.New(st, engine.Options{MaxBackoff: 20 * time.Millisecond}).Migrate(context.Background(), job, &engine.Progress{})
	stopCuts()
	requireOK(t, r)
	if proxy.Cuts() < 2 {
		t.Fatalf("only %d cuts happened", proxy.Cuts())
	}
	if ts.Refusals() < int(proxy.Cuts()) {
		t.Fatalf("%d tokens refused for %d reconnections: the expiry path was not taken", ts.Refusals(), proxy.Cuts())
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("after %d cuts and %d renewed tokens the destination differs:\n%s", proxy.Cuts(), ts.Refusals(), d)
	}
}
