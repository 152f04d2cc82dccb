package projects_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// TestRefusedLoginWordsOnlyForEndpointManagers: the source server refuses
// an item's login and quotes the user name and password. The item's
// history and errors never hold the password; people who manage the
// customer's endpoints read the server's words, a viewer reads only that
// the server refused the login.
func TestRefusedLoginWordsOnlyForEndpointManagers(t *testing.T) {
	t.Parallel()
	const pw = "Wr0ng-Pass-Phrase"
	b := setup(t, 0)
	ctx := operator
	b.src.EchoCredentialsOnFailedLogin.Store(true)
	it, err := b.svc.AddItem(ctx, b.project.ID, projects.ItemInput{Source: "kim@fabrikam.com", Dest: "kim@fabrikam.com", SourcePassword: pw, DestPassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, store.StatusFailed, 30*time.Second)
	detail := func(p *auth.Principal) string {
		t.Helper()
		d, err := b.svc.Item(auth.WithPrincipal(ctx, p), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(d)
		return string(j)
	}
	manager := detail(&auth.Principal{Name: "pat", Role: auth.Partner, Customers: []int64{b.project.CustomerID}})
	viewer := detail(&auth.Principal{Name: "vic", Role: auth.Viewer, Customers: []int64{b.project.CustomerID}})
	for who, d := range map[string]string{"manager": manager, "viewer": viewer} {
		if strings.Contains(d, pw) {
			t.Errorf("the %s reads the password: %s", who, d)
		}
		if !strings.Contains(d, imapconn.LoginRefused) {
			t.Errorf("the %s is not told the server refused the login: %s", who, d)
		}
	}
	if !strings.Contains(manager, "Authentication failed for user") {
		t.Errorf("the manager does not read the server's words: %s", manager)
	}
	if strings.Contains(viewer, "Authentication failed") || strings.Contains(viewer, "as kim@") {
		t.Errorf("the viewer reads the server's words or the login: %s", viewer)
	}
}
