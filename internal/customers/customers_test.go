package customers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// stopper records which projects' passes were stopped.
type stopper struct{ stopped []int64 }

func (s *stopper) Stop(_ context.Context, projectID int64, sel projects.Selection) (int, error) {
	if !sel.All {
		return 0, errors.New("stop: want all of the project's items")
	}
	s.stopped = append(s.stopped, projectID)
	return 1, nil
}

type env struct {
	st     *sqlstore.Store
	keys   *secrets.Keyring
	passes *stopper
	svc    *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, keys: keys, passes: &stopper{}}
	e.svc = New(st, keys, e.passes)
	return e
}

func as(p *auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

var (
	admin    = as(auth.Operator("test operator"))
	engineer = as(&auth.Principal{Name: "eve@ferry.example", Role: auth.FastTrackEngineer})
	nobody   = context.Background()
)

func partnerOf(ids ...int64) context.Context {
	return as(&auth.Principal{Name: "pat@partner.example", Role: auth.Partner, Customers: ids})
}

// wantFault checks err's kind and field.
func wantFault(t *testing.T, what string, err error, kind fault.Kind, field string) {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok || fe.Kind != kind || fe.Field != field {
		t.Errorf("%s: %v (kind %v), want %v of %q", what, err, fault.KindOf(err), kind, field)
	}
}

func TestCreateCustomerRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "Contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		in    CustomerInput
		kind  fault.Kind
		field string
	}{
		{"no name", admin, CustomerInput{Name: " ", Domain: "x.com"}, fault.Invalid, "name"},
		{"not a domain", admin, CustomerInput{Name: "X", Domain: "nodot"}, fault.Invalid, "primary_domain"},
		{"a domain with a path", admin, CustomerInput{Name: "X", Domain: "x.com/evil"}, fault.Invalid, "primary_domain"},
		{"name taken", admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"}, fault.Conflict, "name"},
		{"an engineer", engineer, CustomerInput{Name: "X", Domain: "x.com"}, fault.Forbidden, ""},
		{"a partner", partnerOf(1), CustomerInput{Name: "X", Domain: "x.com"}, fault.Forbidden, ""},
		{"nobody", nobody, CustomerInput{Name: "X", Domain: "x.com"}, fault.Forbidden, ""},
	} {
		_, err := e.svc.CreateCustomer(tc.ctx, tc.in)
		wantFault(t, tc.name, err, tc.kind, tc.field)
	}
	cs, _ := e.st.Customers(context.Background())
	if len(cs) != 1 || cs[0].Domain != "contoso.com" {
		t.Fatalf("customers %+v", cs)
	}
}

func TestEndpointRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, _ := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	other, _ := e.svc.CreateCustomer(admin, CustomerInput{Name: "Fabrikam", Domain: "fabrikam.com"})
	ok := EndpointInput{CustomerID: c.ID, Name: "old", Type: "dovecot", Host: "mail.contoso.com", AdminUser: "master", Password: "pw"}
	if _, err := e.svc.CreateEndpoint(partnerOf(c.ID), ok); err != nil {
		t.Fatalf("a partner of the customer: %v", err)
	}
	with := func(f func(in *EndpointInput)) EndpointInput { in := ok; in.Name = "new"; f(&in); return in }
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		in    EndpointInput
		kind  fault.Kind
		field string
	}{
		{"no such customer", admin, with(func(in *EndpointInput) { in.CustomerID = 777 }), fault.Invalid, "customer_id"},
		{"unknown type", admin, with(func(in *EndpointInput) { in.Type = "pop3" }), fault.Invalid, "type"},
		{"no name", admin, with(func(in *EndpointInput) { in.Name = "" }), fault.Invalid, "name"},
		{"host with a scheme", admin, with(func(in *EndpointInput) { in.Host = "imap://h" }), fault.Invalid, "host"},
		{"port out of range", admin, with(func(in *EndpointInput) { in.Port = 70000 }), fault.Invalid, "port"},
		{"unknown security", admin, with(func(in *EndpointInput) { in.Security = "ssl" }), fault.Invalid, "security"},
		{"password without admin", admin, with(func(in *EndpointInput) { in.AdminUser = "" }), fault.Invalid, "admin_user"},
		{"admin without password", admin, with(func(in *EndpointInput) { in.Password = "" }), fault.Invalid, "password"},
		{"office365 admin not an address", admin, with(func(in *EndpointInput) { in.Type = "office365" }), fault.Invalid, "admin_user"},
		{"name taken", admin, with(func(in *EndpointInput) { in.Name = "old" }), fault.Conflict, "name"},
		{"a partner of another customer", partnerOf(other.ID), with(func(*EndpointInput) {}), fault.NotFound, ""}, // hidden, as if missing
		{"nobody", nobody, with(func(*EndpointInput) {}), fault.Forbidden, ""},
	} {
		_, err := e.svc.CreateEndpoint(tc.ctx, tc.in)
		wantFault(t, tc.name, err, tc.kind, tc.field)
	}
	eps, _ := e.st.Endpoints(context.Background(), c.ID)
	if len(eps) != 1 || !eps[0].HasCredentials || eps[0].Port != 993 {
		t.Fatalf("endpoints %+v", eps)
	}
	if _, err := e.svc.SetEndpointCredentials(partnerOf(other.ID), eps[0].ID, "", "", "", oauth.Config{}); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("a partner of another customer removes credentials: %v", err)
	}
	if _, err := e.svc.DeleteEndpoint(partnerOf(other.ID), eps[0].ID); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("a partner of another customer deletes an endpoint: %v", err)
	}
	if _, err := e.svc.DeleteEndpoint(admin, 777); fault.KindOf(err) != fault.NotFound {
		t.Errorf("delete a missing endpoint: %v", err)
	}
}

// TestSealedCredentialsOpenForPasses: what CreateEndpoint and
// SetEndpointCredentials seal, the migration service opens (it rebuilds
// the same associated data to run passes and to reseal).
func TestSealedCredentialsOpenForPasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, _ := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	a, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "a", Type: "dovecot", Host: "a.contoso.com", AdminUser: "master", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "b", Type: "imap", Host: "b.contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetEndpointCredentials(admin, b.ID, "admin", "", "oauth-token", oauth.Config{}); err != nil {
		t.Fatal(err)
	}
	// A new key, the old one kept for opening: every value is opened and sealed again.
	newer, _ := secrets.NewKeyring(bytes.Repeat([]byte{9}, 32), bytes.Repeat([]byte{7}, 32))
	migration := &projects.Service{Store: e.st, Sealer: newer}
	n, err := migration.ResealAll(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("resealing the endpoints' credentials with a new key: %d, %v", n, err)
	}
	ea, _ := e.st.Endpoint(context.Background(), a.ID)
	if plain, err := newer.Open(ea.SealedPassword, fmt.Sprintf("endpoint:%d:password", a.ID)); err != nil || plain != "pw" {
		t.Fatalf("open the resealed password: %q %v", plain, err)
	}
}

// TestBadInputSaysWhatToDo: a refusal names the field and tells the
// person what to write (the cases the migration service's old customer
// and endpoint methods answered, now this service's alone).
func TestBadInputSaysWhatToDo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "Fabrikam", Domain: "fabrikam.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
		want  string
	}{
		{"customer without a domain", func() error {
			_, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "X", Domain: "nodot"})
			return err
		}, "primary_domain", "contoso.com"},
		{"duplicate customer", func() error {
			_, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "Fabrikam", Domain: "f.com"})
			return err
		}, "name", "exists already"},
		{"unknown endpoint type", func() error {
			_, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "x", Type: "pop3", Host: "h"})
			return err
		}, "type", "office365"},
		{"an alias is not a stored type", func() error {
			_, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "x", Type: "m365", Host: "h"})
			return err
		}, "type", "office365"},
		{"office 365 admin must be an email", func() error {
			_, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "o", Type: "office365", Host: "outlook.office365.com", AdminUser: "admin", Password: "p"})
			return err
		}, "admin_user", "email addresses"},
		{"credentials without an administrator", func() error {
			_, err := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "n", Type: "imap", Host: "h", Password: "p"})
			return err
		}, "admin_user", "acts for every mailbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe, ok := fault.As(tc.call())
			if !ok || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
				t.Fatalf("%v; want field %q and a message with %q", fe, tc.field, tc.want)
			}
		})
	}
}

func TestDeleteCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	src, _ := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "a", Type: "dovecot", Host: "a.contoso.com", AdminUser: "m", Password: "pw"})
	dst, _ := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "b", Type: "dovecot", Host: "b.contoso.com", AdminUser: "m", Password: "pw"})
	busy := store.Project{CustomerID: c.ID, Name: "busy", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 1, MaxErrors: 1}
	idle := store.Project{CustomerID: c.ID, Name: "idle", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 1, MaxErrors: 1}
	for _, p := range []*store.Project{&busy, &idle} {
		if err := e.st.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.CreateItems(ctx, []*store.Item{{ProjectID: busy.ID, Source: "a@contoso.com", Dest: "a@contoso.com", Status: store.StatusQueued}}); err != nil {
		t.Fatal(err)
	}

	if _, err := e.svc.DeleteCustomer(engineer, c.ID, true); !errors.Is(err, fault.ErrForbidden) {
		t.Errorf("an engineer deletes a customer: %v", err)
	}
	if _, err := e.svc.DeleteCustomer(admin, 777, true); fault.KindOf(err) != fault.NotFound {
		t.Errorf("delete a missing customer: %v", err)
	}
	d, err := e.svc.DeleteCustomer(admin, c.ID, false)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Refused || fe.Rule != RuleCustomerHasProjects || !strings.Contains(fe.Msg, "2 project(s) with 1 item(s)") {
		t.Fatalf("delete unconfirmed: %v", err)
	}
	if len(e.passes.stopped) != 0 {
		t.Fatalf("an unconfirmed delete stopped passes: %v", e.passes.stopped)
	}
	if d, err = e.svc.DeleteCustomer(admin, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if d.Projects != 2 || d.Items != 1 || d.Stopped != 1 || len(e.passes.stopped) != 1 || e.passes.stopped[0] != busy.ID {
		t.Fatalf("deleted %+v, stopped %v: want the busy project's passes stopped", d, e.passes.stopped)
	}
	if _, err := e.st.Customer(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the customer is still there: %v", err)
	}
	entries, _ := e.st.Audit(ctx, store.AuditFilter{CustomerID: c.ID})
	if len(entries) == 0 || entries[0].Action != string(auth.ActionDeleteCustomer) || entries[0].Who != "test operator" {
		t.Fatalf("audit %+v", entries)
	}
}

// TestOAuth2AppCredentialsValidatedAndSealed: an endpoint's app
// credentials are checked field by field, replace an administrator, and
// their secrets are sealed (and resealed with a new key) like passwords.
func TestOAuth2AppCredentialsValidatedAndSealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	in := EndpointInput{CustomerID: c.ID, Type: "office365", Host: "outlook.office365.com"}
	app := oauth.Config{Tenant: "contoso.onmicrosoft.com", ClientID: "app-id", ClientSecret: "app-secret-value"}
	for _, tc := range []struct {
		name  string
		admin string
		cfg   oauth.Config
		field string
	}{
		{"no client ID", "", oauth.Config{Tenant: "t", ClientSecret: "s"}, "oauth2_client_id"},
		{"no tenant", "", oauth.Config{ClientID: "c", ClientSecret: "s"}, "oauth2_tenant"},
		{"no secret or certificate", "", oauth.Config{Tenant: "t", ClientID: "c"}, "oauth2_client_secret"},
		{"not a certificate", "", oauth.Config{Tenant: "t", ClientID: "c", Certificate: []byte("-----BEGIN NOTHING-----")}, "oauth2_certificate"},
		{"not a Google key", "", oauth.Config{GoogleServiceAccount: []byte(`{"type":"user"}`)}, "google_service_account"},
		{"bad token URL", "", oauth.Config{Tenant: "t", ClientID: "c", ClientSecret: "s", TokenURL: "ftp://x"}, "oauth2_token_url"},
		{"with an administrator too", "admin@contoso.com", app, "admin_user"},
	} {
		bad := in
		bad.Name, bad.OAuth2, bad.AdminUser = tc.name, tc.cfg, tc.admin
		if tc.admin != "" {
			bad.Password = "pw"
		}
		_, err := e.svc.CreateEndpoint(admin, bad)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err = %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
	in.Name, in.OAuth2 = "m365", app
	ep, err := e.svc.CreateEndpoint(admin, in)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.st.Endpoint(ctx, ep.ID)
	if !stored.HasCredentials || stored.OAuth2ClientID != "app-id" || stored.OAuth2Tenant != app.Tenant || stored.SealedOAuth2 == "" ||
		strings.Contains(stored.SealedOAuth2, "app-secret-value") || stored.AdminUser != "" {
		t.Fatalf("stored %+v", stored)
	}
	// Replaced by a Google key through SetEndpointCredentials, then resealed with a new key.
	b, _ := e.svc.CreateEndpoint(admin, EndpointInput{CustomerID: c.ID, Name: "g", Type: "gmail", Host: "imap.gmail.com"})
	googleKey := []byte(`{"type":"service_account","client_email":"sa@p.iam.gserviceaccount.com","private_key":"` + strings.ReplaceAll(string(testRSAKey(t)), "\n", `\n`) + `","token_uri":"https://oauth2.googleapis.com/token"}`)
	if _, err := e.svc.SetEndpointCredentials(admin, b.ID, "", "", "", oauth.Config{GoogleServiceAccount: googleKey}); err != nil {
		t.Fatal(err)
	}
	newer, _ := secrets.NewKeyring(bytes.Repeat([]byte{9}, 32), bytes.Repeat([]byte{7}, 32))
	if n, err := (&projects.Service{Store: e.st, Sealer: newer}).ResealAll(ctx); err != nil || n != 2 {
		t.Fatalf("resealing: %d, %v", n, err)
	}
	gb, _ := e.st.Endpoint(ctx, b.ID)
	opened, err := newer.Open(gb.SealedOAuth2, fmt.Sprintf("endpoint:%d:oauth2", b.ID))
	var back oauth.Config
	if err != nil || back.SetSecrets(opened) != nil || string(back.GoogleServiceAccount) != string(googleKey) {
		t.Fatalf("open the resealed key: %v", err)
	}
	// All empty removes them.
	if cleared, err := e.svc.SetEndpointCredentials(admin, b.ID, "", "", "", oauth.Config{}); err != nil || cleared.HasCredentials || cleared.SealedOAuth2 != "" {
		t.Fatalf("cleared %+v %v", cleared, err)
	}
}

func testRSAKey(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
