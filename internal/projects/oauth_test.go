package projects_test

import (
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestPassSignsInWithTheEndpointsAppCredentials: a project whose
// destination endpoint holds a Microsoft app's sealed credentials (no
// administrator, no item password) runs its pass: the migration service
// opens them, gets one app token for all mailboxes and signs in to each
// mailbox of a real Dovecot with XOAUTH2, or with the OAUTHBEARER the
// endpoint asks for (which a Dovecot without it refuses: the endpoint's
// choice is what goes out).
func TestPassSignsInWithTheEndpointsAppCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, offered, mechanism string
		fails                    bool
	}{
		{"automatic", "", "", false},
		{"OAUTHBEARER asked, offered alone", "oauthbearer", "oauthbearer", false},
		{"OAUTHBEARER asked, only XOAUTH2 offered", "xoauth2", "OAUTHBEARER", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			passWithAppCredentials(t, tc.offered, tc.mechanism, tc.fails)
		})
	}
}

// passWithAppCredentials runs a pass into a Dovecot offering the OAuth2
// mechanisms offered, from an endpoint asking for mechanism.
func passWithAppCredentials(t *testing.T, offered, mechanism string, fails bool) {
	b := setup(t, 1)
	ctx := operator
	ts := testoauth.Start(t)
	var users []testimap.User
	for _, u := range b.users {
		users = append(users, testimap.User{Name: u, Password: "seed-" + u})
	}
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL, OAuth2Mechanisms: offered})
	// Dovecot checks one user per token (Exchange checks the app's mailbox
	// permissions instead): the app's tokens name the item's mailbox.
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Secret: "app-secret", Mailbox: b.users[0]})

	app := oauth.Config{Tenant: "contoso", ClientID: "ferry-app", ClientSecret: "app-secret", TokenURL: ts.TokenURL, Mechanism: mechanism}
	ep, err := b.customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: b.project.CustomerID, Name: "m365", Type: "imap", Host: dst.Host, Port: dst.Port,
		Security: "starttls", AllowPlaintext: true, OAuth2: app})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: b.project.CustomerID, Name: "To M365", SourceID: b.project.SourceID, DestID: ep.ID})
	if err != nil {
		t.Fatal(err)
	}
	u := b.users[0]
	if _, err := b.svc.AddItem(ctx, p.ID, projects.ItemInput{Source: u, Dest: u, SourcePassword: "pw-" + u}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.StartPass(ctx, p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		items, _, _ := b.st.Items(ctx, p.ID, store.ItemFilter{})
		if len(items) == 1 && items[0].Status == store.StatusCompleted && !fails {
			break
		}
		if len(items) == 1 && items[0].Status == store.StatusFailed && fails {
			return // the mechanism asked for was sent, and refused
		}
		if len(items) == 1 && items[0].Status == store.StatusFailed || time.Now().After(deadline) {
			detail, _ := b.svc.Item(ctx, items[0].ID)
			t.Fatalf("item %s: %+v", items[0].Status, detail.History)
		}
		time.Sleep(30 * time.Millisecond) // polling the queue's progress
	}
	if d := testimap.TakeSnapshot(t, b.src.Addr, u, "pw-"+u).Diff(testimap.TakeSnapshot(t, dst.Addr, u, "seed-"+u)); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}
	if ts.Grants() != 1 {
		t.Fatalf("%d token grants, want 1 (one app token, cached)", ts.Grants())
	}
}
