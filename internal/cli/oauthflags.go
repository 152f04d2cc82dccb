package cli

import (
	"errors"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
)

// oauthFlags are one side's OAuth2 administrator credentials: Ferry gets
// and renews the tokens itself (internal/oauth).
type oauthFlags struct {
	prefix                                  string // "--from", "--to", or "--" (ferry endpoint)
	tenant, clientID, tokenURL, scope       string
	secretFile, certificateFile, googleFile string
	certificatePasswordFile                 string
	mechanism                               string // ferry endpoint only; migrate has --from/--to-oauth2-mechanism
}

func (o *oauthFlags) register(fl *pflag.FlagSet, side, prefix string) {
	o.prefix = prefix
	n := func(flag string) string { return strings.TrimPrefix(o.flag(flag), "--") }
	fl.StringVar(&o.tenant, n("oauth2-tenant"), "", "Microsoft 365 tenant `ID` (or domain) of the app that signs in to the "+side)
	fl.StringVar(&o.clientID, n("oauth2-client-id"), "", "application (client) `ID` of the app that signs in to the "+side)
	fl.StringVar(&o.secretFile, n("oauth2-client-secret-file"), "", "`FILE` holding the app's client secret ("+side+")")
	fl.StringVar(&o.certificateFile, n("oauth2-certificate-file"), "", "PEM (certificate and key) or PFX `FILE` registered with the app, instead of a secret ("+side+")")
	fl.StringVar(&o.certificatePasswordFile, n("oauth2-certificate-password-file"), "", "`FILE` holding the password of a PFX certificate exported with one ("+side+")")
	fl.StringVar(&o.tokenURL, n("oauth2-token-url"), "", "token endpoint `URL` instead of Microsoft's global one or the key's token_uri ("+side+")")
	fl.StringVar(&o.scope, n("oauth2-scope"), "", "OAuth2 `SCOPE` instead of https://outlook.office365.com/.default or https://mail.google.com/ ("+side+")")
	if prefix == "--" {
		fl.StringVar(&o.mechanism, "oauth2-mechanism", "", "SASL `MECHANISM` the tokens go with: xoauth2 or oauthbearer (default: XOAUTH2 unless the server offers only OAUTHBEARER)")
	}
	fl.StringVar(&o.googleFile, n("google-service-account-file"), "", "Google service account JSON key `FILE` with domain-wide delegation; gets a token for each "+side+" mailbox (sub = the mailbox)")
}

// source builds the side's token source, nil when no OAuth2 flag is given.
func (o *oauthFlags) source() (imapconn.TokenSource, error) {
	cfg, err := o.config()
	if err != nil || !cfg.Set() {
		return nil, err
	}
	src, err := oauth.New(cfg, nil)
	if err != nil {
		return nil, o.usage(err)
	}
	return src, nil
}

// config reads the flags and files; an empty Config when none is given.
func (o *oauthFlags) config() (oauth.Config, error) {
	cfg := oauth.Config{Tenant: o.tenant, ClientID: o.clientID, TokenURL: o.tokenURL, Scope: o.scope, Mechanism: o.mechanism}
	var err error
	if cfg.ClientSecret, err = readSecret(o.secretFile, "", "client secret"); err != nil {
		return cfg, err
	}
	if cfg.Certificate, err = readFileFlag(o.certificateFile, o.flag("oauth2-certificate-file")); err != nil {
		return cfg, err
	}
	if cfg.CertificatePassword, err = readSecret(o.certificatePasswordFile, "", "certificate password"); err != nil {
		return cfg, err
	}
	if cfg.GoogleServiceAccount, err = readFileFlag(o.googleFile, o.flag("google-service-account-file")); err != nil {
		return cfg, err
	}
	if !cfg.Set() && (o.tokenURL != "" || o.scope != "") {
		return cfg, usageErr("%s and %s need the app's credentials (%s ...) or %s", o.flag("oauth2-token-url"), o.flag("oauth2-scope"), o.flag("oauth2-client-id"), o.flag("google-service-account-file"))
	}
	if cfg.Set() {
		if err := cfg.Validate(); err != nil {
			return cfg, o.usage(err)
		}
	}
	return cfg, nil
}

func (o *oauthFlags) flag(name string) string {
	if o.prefix == "--" {
		return "--" + name
	}
	return o.prefix + "-" + name
}

// usage turns oauth's field error into a usage error naming the flag.
func (o *oauthFlags) usage(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return usageErr("%s: %s", o.flagOf(fe.Field), fe.Msg)
	}
	return usageErr("%s: %v", o.flag("oauth2"), err)
}

// flagOf names the flag of an oauth.Config field reported at fault.
func (o *oauthFlags) flagOf(field string) string {
	switch field {
	case "oauth2_tenant":
		return o.flag("oauth2-tenant")
	case "oauth2_client_id":
		return o.flag("oauth2-client-id")
	case "oauth2_client_secret":
		return o.flag("oauth2-client-secret-file")
	case "oauth2_certificate":
		return o.flag("oauth2-certificate-file")
	case "oauth2_certificate_password":
		return o.flag("oauth2-certificate-password-file")
	case "oauth2_token_url":
		return o.flag("oauth2-token-url")
	case "oauth2_mechanism":
		return o.flag("oauth2-mechanism")
	case "google_service_account":
		return o.flag("google-service-account-file")
	}
	return o.flag("oauth2-client-id")
}

func readFileFlag(file, flag string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, usageErr("cannot read %s: %v", flag, err)
	}
	if len(b) == 0 {
		return nil, usageErr("%s %s is empty", flag, file)
	}
	return b, nil
}
