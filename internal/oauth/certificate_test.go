package oauth_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestCertificateAsPFX: a PFX exported without password signs the client
// assertion the token server verifies; one with a password is refused with
// the command that converts it.
func TestCertificateAsPFX(t *testing.T) {
	t.Parallel()
	ts := testoauth.Start(t)
	cert, certPEM := testoauth.NewCertificate(t)
	ts.AddApp(&testoauth.App{ClientID: "app", Certificate: cert, Mailbox: "alice@example.com"})
	var key any
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "PRIVATE KEY" {
			key, _ = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
	}
	for _, tc := range []struct {
		password string
		wantErr  string
	}{
		{"", ""},
		{"locked", "openssl pkcs12"},
	} {
		pfx, err := pkcs12.Modern.Encode(key, cert, nil, tc.password)
		if err != nil {
			t.Fatal(err)
		}
		src, err := oauth.New(oauth.Config{Tenant: "t", ClientID: "app", Certificate: pfx, TokenURL: ts.TokenURL}, nil)
		if tc.wantErr != "" {
			var fe *fault.Error
			if !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &fe) || fe.Field != "oauth2_certificate" {
				t.Fatalf("PFX with a password: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(context.Background(), "alice@example.com"); err != nil {
			t.Fatalf("token with a PFX certificate: %v", err)
		}
	}
	// A certificate the app does not have is refused by the token endpoint, with advice.
	_, otherPEM := testoauth.NewCertificate(t)
	src, err := oauth.New(oauth.Config{Tenant: "t", ClientID: "app", Certificate: otherPEM, TokenURL: ts.TokenURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(context.Background(), "alice@example.com"); err == nil || !strings.Contains(err.Error(), "upload its public part") {
		t.Fatalf("unregistered certificate: %v", err)
	}
}
