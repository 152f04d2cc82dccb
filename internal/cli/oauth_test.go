package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestMigrateWithOAuth2AppCredentials: `ferry migrate` signs in to each
// side of real Dovecots with tokens it gets itself: the source with a
// Google service account key, the destination with a Microsoft app's
// certificate (a PFX locked with a password, as Windows exports it),
// through a token server standing in for both; the destination offers
// only OAUTHBEARER. No secret shows in the output.
func TestMigrateWithOAuth2AppCredentials(t *testing.T) {
	t.Parallel()
	const mailbox = "carol@example.org"
	ts := testoauth.Start(t)
	users := []testimap.User{{Name: mailbox, Password: "seed-only"}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL})
	// The destination offers OAUTHBEARER only (RFC 7628): Ferry signs in with it by itself.
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, OAuth2IntrospectionURL: ts.IntrospectURL, OAuth2Mechanisms: "oauthbearer"})
	mail := corpus.Generate(corpus.Spec{Seed: 5, Messages: 20, Folders: 2, MaxSize: 64 << 10})
	if err := corpus.Load(t.Context(), testimap.Dial(t, src.Addr, mailbox, "seed-only"), mail); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "sa.json")
	os.WriteFile(keyFile, ts.AddServiceAccount(t, "ferry@p.iam.example", "https://mail.google.com/"), 0o600)
	cert, pfx := testoauth.NewCertificatePFX(t, "Pfx-Pass-31")
	certFile := filepath.Join(dir, "app.pfx")
	os.WriteFile(certFile, pfx, 0o600)
	passFile := filepath.Join(dir, "pfx-password")
	os.WriteFile(passFile, []byte("Pfx-Pass-31\n"), 0o600)
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Certificate: cert, Mailbox: mailbox})

	code, out, errs := run("migrate", "--state", filepath.Join(dir, "state.db"), "--allow-plaintext",
		"--from", fmt.Sprintf("imap://%s@%s", mailbox, src.Addr), "--from-google-service-account-file", keyFile,
		"--to", fmt.Sprintf("imap://%s@%s", mailbox, dst.Addr), "--to-oauth2-tenant", "contoso", "--to-oauth2-client-id", "ferry-app",
		"--to-oauth2-certificate-file", certFile, "--to-oauth2-certificate-password-file", passFile, "--to-oauth2-token-url", ts.TokenURL)
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "PRIVATE KEY") || strings.Contains(out+errs, "private_key") || strings.Contains(out+errs, "Pfx-Pass-31") {
		t.Fatalf("a key shows in the output:\n%s%s", out, errs)
	}
	if d := testimap.TakeSnapshot(t, src.Addr, mailbox, "seed-only").Diff(testimap.TakeSnapshot(t, dst.Addr, mailbox, "seed-only")); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}
}

// TestOAuth2FlagMistakesNameTheFlag: incomplete or conflicting OAuth2
// flags are usage errors that name the flag to fix.
func TestOAuth2FlagMistakesNameTheFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("tok\n"), 0o600)
	_, pfx := testoauth.NewCertificatePFX(t, "s3cret-pfx")
	pfxFile := filepath.Join(dir, "app.pfx")
	os.WriteFile(pfxFile, pfx, 0o600)
	base := []string{"migrate", "--state", filepath.Join(dir, "s.db"), "--from", "imaps://a@src.example", "--to", "imaps://a@dst.example", "--from-password-file", secret}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-secret-file", secret}, "--to-oauth2-client-id"},
		{[]string{"--to-oauth2-client-id", "c", "--to-oauth2-client-secret-file", secret}, "--to-oauth2-tenant"},
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c"}, "--to-oauth2-client-secret-file"},
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-client-secret-file", secret, "--to-oauth2-token-file", token}, "not both"},
		{[]string{"--to-google-service-account-file", secret}, "--to-google-service-account-file"},
		{[]string{"--to-oauth2-scope", "x"}, "--to-oauth2-scope"},
		{[]string{"--to-oauth2-mechanism", "cram-md5"}, "--to-oauth2-mechanism"},
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-certificate-file", pfxFile}, "--to-oauth2-certificate-password-file"},
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-certificate-file", pfxFile, "--to-oauth2-certificate-password-file", token}, "password is wrong"},
		{[]string{"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-certificate-password-file", secret}, "--to-oauth2-certificate-password-file"},
		{[]string{"--to-password-file", secret, "--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-client-secret-file", secret}, "not both"},
	} {
		code, out, errs := run(append(base, tc.flags...)...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) || strings.Contains(out+errs, "s3cret") {
			t.Errorf("%v: exit %d, want usage error naming %s:\n%s%s", tc.flags, code, tc.want, out, errs)
		}
	}
}

// TestEndpointAddWithAppCredentials: `ferry endpoint add` and `ferry
// endpoint credentials` take an app's OAuth2 credentials; list shows the
// app, never the secret.
func TestEndpointAddWithAppCredentials(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	var c, ep idJSON
	e.okJSON(&c, "customer", "add", "--name", "Contoso", "--domain", "contoso.com")
	secret := filepath.Join(e.dir, "app-secret")
	os.WriteFile(secret, []byte("App-Secret-Value-9\n"), 0o600)
	out, errOut := e.usage("endpoint", "add", "--customer", id(c.ID), "--name", "m365", "--type", "office365", "--host", "outlook.office365.com",
		"--oauth2-tenant", "contoso.onmicrosoft.com", "--oauth2-client-secret-file", secret)
	if !strings.Contains(errOut, "--oauth2-client-id") {
		t.Fatalf("missing client ID not named:\n%s%s", out, errOut)
	}
	out, errOut = e.usage("endpoint", "add", "--customer", id(c.ID), "--name", "m365", "--type", "office365", "--host", "outlook.office365.com",
		"--oauth2-tenant", "contoso.onmicrosoft.com", "--oauth2-client-id", "app-id", "--oauth2-client-secret-file", secret, "--oauth2-mechanism", "cram-md5")
	if !strings.Contains(errOut, "--oauth2-mechanism") {
		t.Fatalf("unknown mechanism not named:\n%s%s", out, errOut)
	}
	e.okJSON(&ep, "endpoint", "add", "--customer", id(c.ID), "--name", "m365", "--type", "office365", "--host", "outlook.office365.com",
		"--oauth2-tenant", "contoso.onmicrosoft.com", "--oauth2-client-id", "app-id", "--oauth2-client-secret-file", secret, "--oauth2-mechanism", "oauthbearer")
	list := e.ok("endpoint", "list", "--customer", id(c.ID))
	if !strings.Contains(list, "OAuth2 app app-id") || strings.Contains(list, "App-Secret-Value-9") {
		t.Fatalf("endpoint list:\n%s", list)
	}
	key := filepath.Join(e.dir, "sa.json")
	os.WriteFile(key, testoauth.Start(t).AddServiceAccount(t, "sa@p.iam.example", "https://mail.google.com/"), 0o600)
	if out := e.ok("endpoint", "credentials", id(ep.ID), "--google-service-account-file", key); !strings.Contains(out, "Google service account") {
		t.Fatalf("credentials:\n%s", out)
	}
}
