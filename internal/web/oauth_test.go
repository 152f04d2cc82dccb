package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestEndpointFormTakesAppCredentials: the endpoint form takes an app's
// OAuth2 credentials, files included; a missing field comes back on the
// form with its name, and no secret ever shows on a page.
func TestEndpointFormTakesAppCredentials(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 0)
	c := b.partner
	const secret, pfxPassword = "App-Client-Secret-77", "Pfx-Export-Pa55"
	key := string(testoauth.Start(t).AddServiceAccount(t, "ferry@p.iam.example", "https://mail.google.com/"))
	path := fmt.Sprintf("/customers/%d/endpoints", b.customer.ID)
	var bodies []string

	res := c.postMultipart(path, map[string]string{"name": "M365", "type": "office365", "host": "outlook.office365.com", "credentials": "provide",
		"oauth2_tenant": "contoso.onmicrosoft.com", "oauth2_client_secret": secret}, "", "", "")
	bodies = append(bodies, res.body)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "oauth2_client_id") || !strings.Contains(res.body, `value="contoso.onmicrosoft.com"`) {
		t.Fatalf("missing client ID: %d %s", res.status, res.body)
	}
	res = c.postMultipart(path, map[string]string{"name": "M365", "type": "office365", "host": "outlook.office365.com", "credentials": "provide",
		"oauth2_tenant": "contoso.onmicrosoft.com", "oauth2_client_id": "app-id", "oauth2_client_secret": secret, "oauth2_mechanism": "OAUTHBEARER"}, "", "", "")
	if res.status != http.StatusSeeOther {
		t.Fatalf("app secret: %d %s", res.status, res.body)
	}
	res = c.postMultipart(path, map[string]string{"name": "Gmail", "type": "gmail", "host": "imap.gmail.com", "credentials": "provide"},
		"google_service_account", "sa.json", key)
	if res.status != http.StatusSeeOther {
		t.Fatalf("service account key: %d %s", res.status, res.body)
	}
	_, pfx := testoauth.NewCertificatePFX(t, pfxPassword)
	res = c.postMultipart(path, map[string]string{"name": "M365 PFX", "type": "office365", "host": "outlook.office365.com", "credentials": "provide",
		"oauth2_tenant": "contoso.onmicrosoft.com", "oauth2_client_id": "app-id", "oauth2_certificate_password": "not-the-one"}, "oauth2_certificate", "app.pfx", string(pfx))
	bodies = append(bodies, res.body)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "password is wrong") || !strings.Contains(res.body, `id="f-oauth2_certificate_password" name="oauth2_certificate_password" type="password" value="" autocomplete="off" aria-invalid="true"`) {
		t.Fatalf("PFX with a wrong password: %d %s", res.status, res.body)
	}
	res = c.postMultipart(path, map[string]string{"name": "M365 PFX", "type": "office365", "host": "outlook.office365.com", "credentials": "provide",
		"oauth2_tenant": "contoso.onmicrosoft.com", "oauth2_client_id": "app-id", "oauth2_certificate_password": pfxPassword}, "oauth2_certificate", "app.pfx", string(pfx))
	if res.status != http.StatusSeeOther {
		t.Fatalf("PFX with its password: %d %s", res.status, res.body)
	}
	es, _ := b.tp.app.Store.Endpoints(context.Background(), b.customer.ID)
	byName := map[string]store.Endpoint{}
	for _, e := range es {
		byName[e.Name] = e
	}
	m, g, p := byName["M365"], byName["Gmail"], byName["M365 PFX"]
	if m.SealedOAuth2 == "" || m.OAuth2ClientID != "app-id" || g.SealedOAuth2 == "" || !g.HasCredentials || p.SealedOAuth2 == "" || strings.Contains(p.SealedOAuth2, pfxPassword) {
		t.Fatalf("stored: %+v / %+v / %+v", m, g, p)
	}
	page := c.get(fmt.Sprintf("/endpoints/%d", m.ID))
	bodies = append(bodies, page.body, c.get(fmt.Sprintf("/endpoints/%d", g.ID)).body)
	if m.OAuth2Mechanism != "OAUTHBEARER" || !strings.Contains(page.body, `<option value="OAUTHBEARER" selected>`) {
		t.Fatalf("mechanism %q not kept or not shown", m.OAuth2Mechanism)
	}
	if !strings.Contains(page.body, "OAuth2 app app-id in tenant contoso.onmicrosoft.com") {
		t.Fatalf("endpoint page does not say which app: %s", page.body)
	}
	for _, body := range bodies {
		if strings.Contains(body, secret) || strings.Contains(body, pfxPassword) || strings.Contains(body, "not-the-one") || strings.Contains(body, "PRIVATE KEY") {
			t.Fatal("a secret appears in a page")
		}
	}
}
