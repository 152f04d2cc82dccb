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

// TestCertificateAsPFX: a PFX exported without password, or with one
// given as CertificatePassword, signs the client assertion the token
// server verifies; a locked PFX without its password, or with a wrong one,
// is refused saying which password to give. The password is never echoed.
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
		name      string
		password  string // the PFX's
		given     string // Config.CertificatePassword
		legacy    bool   // pkcs12.LegacyRC2 (what older Windows exports)
		wantErr   string
		wantField string
	}{
		{name: "no password", wantErr: ""},
		{name: "locked, password given", password: "s3cret-pfx", given: "s3cret-pfx"},
		{name: "locked legacy RC2, password given", password: "s3cret-pfx", given: "s3cret-pfx", legacy: true},
		{name: "locked, no password", password: "s3cret-pfx", wantErr: "certificate password", wantField: "oauth2_certificate_password"},
		{name: "locked, wrong password", password: "s3cret-pfx", given: "wrong-pw", wantErr: "password is wrong", wantField: "oauth2_certificate_password"},
		{name: "password for a PEM", given: "s3cret-pfx", wantErr: "only a PFX", wantField: "oauth2_certificate_password"},
	} {
		var pfx []byte
		var err error
		switch {
		case tc.name == "password for a PEM":
			pfx = certPEM
		case tc.legacy:
			pfx, err = pkcs12.LegacyRC2.Encode(key, cert, nil, tc.password)
		default:
			pfx, err = pkcs12.Modern.Encode(key, cert, nil, tc.password)
		}
		if err != nil {
			t.Fatal(err)
		}
		src, err := oauth.New(oauth.Config{Tenant: "t", ClientID: "app", Certificate: pfx, CertificatePassword: tc.given, TokenURL: ts.TokenURL}, nil)
		if tc.wantErr != "" {
			var fe *fault.Error
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &fe) || fe.Field != tc.wantField {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if tc.given != "" && strings.Contains(err.Error(), tc.given) {
				t.Fatalf("%s: the error shows the password: %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := src.Token(context.Background(), "alice@example.com"); err != nil {
			t.Fatalf("%s: token with a PFX certificate: %v", tc.name, err)
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

// TestCertificatePasswordSealed: the PFX password travels with the other
// secrets (sealed at rest), never with the public fields.
func TestCertificatePasswordSealed(t *testing.T) {
	t.Parallel()
	in := oauth.Config{Tenant: "t", ClientID: "app", Certificate: []byte("pfx"), CertificatePassword: "s3cret-pfx"}
	sealed := in.Secrets()
	if !strings.Contains(sealed, "certificate_password") {
		t.Fatalf("the password is not among the secrets: %s", sealed)
	}
	var out oauth.Config
	if err := out.SetSecrets(sealed); err != nil {
		t.Fatal(err)
	}
	if out.CertificatePassword != in.CertificatePassword || string(out.Certificate) != "pfx" {
		t.Fatalf("SetSecrets(Secrets()) = %+v", out)
	}
}
