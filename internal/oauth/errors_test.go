package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestTokenEndpointAnswersSayWhatToDo maps each refusal of the token
// endpoint, in Microsoft's and Google's words, to its advice, and tells
// temporary failures from permanent ones.
func TestTokenEndpointAnswersSayWhatToDo(t *testing.T) {
	t.Parallel()
	ts := testoauth.Start(t)
	googleKey := ts.AddServiceAccount(t, "sa@p.iam.example", oauth.GoogleMailScope)
	for _, tc := range []struct {
		name      string
		status    int
		code      string
		desc      string
		google    bool
		want      string
		temporary bool
	}{
		{"wrong secret", 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1", false, "Certificates & secrets", false},
		{"app not in tenant", 400, "unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.", false, "check the tenant ID", false},
		{"expired secret", 401, "invalid_client", "AADSTS7000222: The provided client secret keys for app 'x' are expired.", false, "has expired: add a new one", false},
		{"consent missing", 400, "invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application.", false, "Grant admin consent", false},
		{"unknown tenant", 400, "invalid_request", "AADSTS90002: Tenant 'nope' not found.", false, "Directory (tenant) ID", false},
		{"certificate not uploaded", 401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.", false, "upload its public part", false},
		{"delegation not granted", 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.", true, "Domain Wide Delegation", false},
		{"token endpoint down", 503, "temporarily_unavailable", "AADSTS90033: A transient error has occurred.", false, "", true},
		{"throttled", 429, "", "", true, "", true},
		{"a server that echoes the secret", 401, "invalid_client", "AADSTS7000215: Invalid client secret provided: very-secret.", false, "Certificates & secrets", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				if tc.code != "" {
					json.NewEncoder(w).Encode(map[string]string{"error": tc.code, "error_description": tc.desc})
				}
			}))
			defer canned.Close()
			cfg := oauth.Config{Tenant: "contoso", ClientID: "app-id", ClientSecret: "very-secret", TokenURL: canned.URL}
			if tc.google {
				cfg = oauth.Config{GoogleServiceAccount: googleKey, TokenURL: canned.URL}
			}
			src, err := oauth.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background(), "alice@example.com")
			if err == nil {
				t.Fatal("no error")
			}
			if got := imapconn.IsTemporary(err); got != tc.temporary {
				t.Fatalf("temporary = %v, want %v: %v", got, tc.temporary, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "alice@example.com") {
				t.Fatalf("error %q does not say %q for the mailbox", err, tc.want)
			}
			if strings.Contains(err.Error(), "very-secret") || strings.Contains(err.Error(), "Trace ID") {
				t.Fatalf("error shows a secret or Microsoft's trace lines: %q", err)
			}
		})
	}
}

// TestIMAPRefusalsSayWhatToDo: what a server says when it refuses a new
// token, mapped to the steps that fix it.
func TestIMAPRefusalsSayWhatToDo(t *testing.T) {
	t.Parallel()
	ms, err := oauth.New(oauth.Config{Tenant: "contoso.onmicrosoft.com", ClientID: "app-id", ClientSecret: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := testoauth.Start(t)
	g, err := oauth.New(oauth.Config{GoogleServiceAccount: ts.AddServiceAccount(t, "sa@p.iam.example", oauth.GoogleMailScope)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src   *oauth.Source
		words string
		want  []string
	}{
		{ms, "NO User is authenticated but not connected.", []string{"New-ServicePrincipal -AppId app-id", `Add-MailboxPermission -Identity "alice@example.com"`, "Connect-ExchangeOnline -Organization contoso.onmicrosoft.com"}},
		{ms, "NO AUTHENTICATE failed.", []string{"revoked", "IMAP.AccessAsApp"}},
		{g, "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", []string{"IMAP is enabled", "https://mail.google.com/"}},
	} {
		if hint := tc.src.Hint("alice@example.com", tc.words); !containsAll(hint, tc.want) {
			t.Errorf("%q: hint %q lacks %q", tc.words, hint, tc.want)
		}
	}
}

// TestAccessTokenExpiredIsReconnected: Exchange Online refuses commands of
// a session whose token expired; that is a reason to reconnect (and renew
// the token), not to fail the mailbox.
func TestAccessTokenExpiredIsReconnected(t *testing.T) {
	t.Parallel()
	for _, words := range []string{"Session invalidated - AccessTokenExpired", "Token expired"} {
		e := imapconn.Classify("fetch", &imap.Error{Type: imap.StatusResponseTypeNo, Text: words})
		if !e.Temporary {
			t.Errorf("%q is not temporary", words)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
