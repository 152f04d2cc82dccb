// Package oauth gets OAuth2 access tokens for IMAP logins (XOAUTH2) from
// an endpoint's administrator credentials, so that a migration needs no
// token fetched by hand:
//
//   - Microsoft 365 app-only: the client-credentials grant (RFC 6749 4.4)
//     with a client secret or a certificate (a client assertion, RFC 7523
//     section 2.2, signed with the certificate's key). One token serves
//     every mailbox of the tenant; the login names the mailbox.
//   - Google Workspace: a service account key with domain-wide delegation;
//     a JWT-bearer grant (RFC 7523 section 2.1) per mailbox, sub=<mailbox>.
//
// Tokens are cached, renewed before they expire, and renewed at once when
// a server refuses one (Source.Refused), so a run longer than a token's
// life goes on. Secrets never appear in errors or String.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/google"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
)

// Scopes Ferry asks for unless Config.Scope overrides them.
const (
	MicrosoftIMAPScope = "https://outlook.office365.com/.default"
	GoogleMailScope    = "https://mail.google.com/"
)

// MicrosoftTokenURL is the Microsoft identity platform's v2.0 token
// endpoint of a tenant (global cloud).
func MicrosoftTokenURL(tenant string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// Config holds an endpoint's OAuth2 administrator credentials. Either the
// Microsoft fields (Tenant, ClientID and ClientSecret or Certificate) or
// GoogleServiceAccount are set.
type Config struct {
	Tenant       string
	ClientID     string
	ClientSecret string
	// Certificate is a PEM file (certificate and private key) or a PFX
	// (PKCS #12), registered with the app.
	Certificate []byte
	// CertificatePassword unlocks a PFX exported with a password (a
	// secret: sealed at rest with the certificate).
	CertificatePassword string
	// TokenURL overrides the token endpoint (sovereign clouds, tests).
	TokenURL string
	// Scope overrides the scope asked for (space separated).
	Scope string
	// GoogleServiceAccount is a service account's JSON key.
	GoogleServiceAccount []byte
	// Mechanism is the SASL mechanism the tokens go with: "XOAUTH2",
	// "OAUTHBEARER", or empty to choose from the server's capabilities
	// (imapconn.ParseOAuth2Mechanism reads it).
	Mechanism string
}

// Set reports whether any OAuth2 credential is configured.
func (c Config) Set() bool {
	return c.Tenant != "" || c.ClientID != "" || c.ClientSecret != "" || len(c.Certificate) > 0 || c.CertificatePassword != "" || len(c.GoogleServiceAccount) > 0
}

// Validate checks that the fields make one complete set of credentials,
// naming the field at fault.
func (c Config) Validate() error {
	_, err := New(c, nil)
	return err
}

// Source hands out access tokens per mailbox. It is safe for concurrent
// use; one Source serves all mailboxes of an endpoint.
type Source struct {
	http     *http.Client
	provider string // "Microsoft 365" or "Google Workspace"
	clientID string
	tenant   string
	tokenURL string

	// fetch gets a new token for mailbox from the token endpoint.
	fetch func(ctx context.Context, mailbox string) (*oauth2.Token, error)
	// perMailbox: Google issues one token per mailbox (sub); Microsoft's
	// app token serves them all.
	perMailbox bool
	// secrets are cut out of the token endpoint's words before they are
	// shown or stored (a server may echo what it was sent).
	secrets []string

	mu     sync.Mutex
	tokens map[string]*cachedToken
}

type cachedToken struct {
	mu    sync.Mutex // one fetch at a time per key
	token *oauth2.Token
	renew time.Time // fetch a new one from then on
}

// New builds a Source from cfg. hc may be nil (a client with a 30 s
// timeout is used).
func New(cfg Config, hc *http.Client) (*Source, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Source{http: hc, tokens: map[string]*cachedToken{}}
	if _, err := imapconn.ParseOAuth2Mechanism(cfg.Mechanism); err != nil {
		return nil, fault.InvalidField("oauth2_mechanism", "%v", err)
	}
	ms := cfg.Tenant != "" || cfg.ClientID != "" || cfg.ClientSecret != "" || len(cfg.Certificate) > 0 || cfg.CertificatePassword != ""
	google := len(cfg.GoogleServiceAccount) > 0
	switch {
	case ms && google:
		return nil, fault.InvalidField("oauth2", "give either Microsoft 365 credentials (tenant, client ID, secret or certificate) or a Google service account key, not both")
	case google:
		return s, s.setGoogle(cfg)
	case ms:
		return s, s.setMicrosoft(cfg)
	}
	return nil, fault.InvalidField("oauth2", "no OAuth2 credentials: give a tenant, client ID and client secret or certificate (Microsoft 365), or a service account key (Google Workspace)")
}

func (s *Source) setMicrosoft(cfg Config) error {
	s.provider, s.clientID, s.tenant = "Microsoft 365", cfg.ClientID, cfg.Tenant
	s.secrets = []string{cfg.ClientSecret, cfg.CertificatePassword}
	if cfg.ClientID == "" {
		return fault.InvalidField("oauth2_client_id", "the application (client) ID is missing: copy it from the app registration's Overview page")
	}
	if cfg.Tenant == "" && cfg.TokenURL == "" {
		return fault.InvalidField("oauth2_tenant", "the tenant (directory) ID is missing: copy it from the app registration's Overview page")
	}
	if cfg.ClientSecret != "" && len(cfg.Certificate) > 0 {
		return fault.InvalidField("oauth2_certificate", "give a client secret or a certificate, not both")
	}
	if cfg.CertificatePassword != "" && len(cfg.Certificate) == 0 {
		return fault.InvalidField("oauth2_certificate_password", "a certificate password needs the certificate (PFX) it unlocks")
	}
	s.tokenURL = cfg.TokenURL
	if s.tokenURL == "" {
		s.tokenURL = MicrosoftTokenURL(cfg.Tenant)
	}
	if err := checkURL(s.tokenURL); err != nil {
		return err
	}
	scopes := strings.Fields(cfg.Scope)
	if len(scopes) == 0 {
		scopes = []string{MicrosoftIMAPScope}
	}
	cc := clientcredentials.Config{ClientID: cfg.ClientID, TokenURL: s.tokenURL, Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams}
	switch {
	case cfg.ClientSecret != "":
		cc.ClientSecret = cfg.ClientSecret
		s.fetch = func(ctx context.Context, _ string) (*oauth2.Token, error) {
			return cc.Token(s.ctx(ctx))
		}
	case len(cfg.Certificate) > 0:
		signer, err := newAssertionSigner(cfg.Certificate, cfg.CertificatePassword, cfg.ClientID, s.tokenURL)
		if err != nil {
			return err
		}
		s.fetch = func(ctx context.Context, _ string) (*oauth2.Token, error) {
			assertion, err := signer.sign()
			if err != nil {
				return nil, err
			}
			withAssertion := cc
			withAssertion.EndpointParams = url.Values{
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {assertion},
			}
			return withAssertion.Token(s.ctx(ctx))
		}
	default:
		return fault.InvalidField("oauth2_client_secret", "give the app's client secret or its certificate")
	}
	return nil
}

func (s *Source) setGoogle(cfg Config) error {
	s.provider, s.perMailbox = "Google Workspace", true
	scope := cfg.Scope
	if scope == "" {
		scope = GoogleMailScope
	}
	base, err := google.JWTConfigFromJSON(cfg.GoogleServiceAccount, strings.Fields(scope)...)
	if err != nil {
		return fault.InvalidField("google_service_account", "the service account key is not a Google JSON key file (%v): create a key of type JSON for the service account in the Google Cloud console", err)
	}
	if _, err := jwt.ParseRSAPrivateKeyFromPEM(base.PrivateKey); err != nil {
		return fault.InvalidField("google_service_account", "the service account key's private_key cannot be read (%v): download a new JSON key", err)
	}
	if cfg.TokenURL != "" {
		base.TokenURL = cfg.TokenURL
	}
	if base.TokenURL == "" {
		base.TokenURL = google.JWTTokenURL
	}
	if err := checkURL(base.TokenURL); err != nil {
		return err
	}
	s.tokenURL, s.clientID = base.TokenURL, base.Email
	s.fetch = func(ctx context.Context, mailbox string) (*oauth2.Token, error) {
		conf := *base
		conf.Subject = mailbox
		// A new TokenSource per fetch: its own cache is empty, so this
		// really asks the token endpoint (the cache here decides when).
		return conf.TokenSource(s.ctx(ctx)).Token()
	}
	return nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fault.InvalidField("oauth2_token_url", "%q is not a token endpoint URL: write https://host/path", raw)
	}
	return nil
}

func (s *Source) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.http)
}

// String names the credentials without any secret.
func (s *Source) String() string {
	return fmt.Sprintf("%s app %s (token endpoint %s)", s.provider, s.clientID, s.tokenURL)
}

func (s *Source) key(mailbox string) string {
	if s.perMailbox {
		return strings.ToLower(mailbox)
	}
	return ""
}

func (s *Source) entry(mailbox string) *cachedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.key(mailbox)
	e := s.tokens[k]
	if e == nil {
		e = &cachedToken{}
		s.tokens[k] = e
	}
	return e
}

// Token returns a valid access token for mailbox's XOAUTH2 login: the
// cached one, or a new one when it is near its end. Errors are
// *imapconn.Error (temporary when the token endpoint could not be reached
// or failed on its side) with a hint saying what to do.
func (s *Source) Token(ctx context.Context, mailbox string) (string, error) {
	e := s.entry(mailbox)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != nil && time.Now().Before(e.renew) {
		return e.token.AccessToken, nil
	}
	tok, err := s.fetch(ctx, mailbox)
	if err != nil {
		return "", s.tokenError(mailbox, err)
	}
	if tok.AccessToken == "" {
		return "", s.tokenError(mailbox, errors.New("the token endpoint answered without an access_token"))
	}
	e.token, e.renew = tok, renewAt(tok, time.Now())
	return tok.AccessToken, nil
}

// renewAt is when a token fetched at now should be replaced: five minutes
// before it expires, or after four fifths of its life when it is short.
// A token without expiry is renewed after 50 minutes (Microsoft and Google
// issue one-hour tokens).
func renewAt(tok *oauth2.Token, now time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return now.Add(50 * time.Minute)
	}
	life := tok.Expiry.Sub(now)
	if life <= 0 { // issued expired (clocks apart): use it once, then ask again
		return now
	}
	return tok.Expiry.Add(-min(5*time.Minute, life/5))
}

// Refused tells the Source that a server refused token for mailbox (it
// expired or was revoked before its time): the next Token call fetches a
// new one. A token other than the cached one (already renewed by another
// connection) changes nothing.
func (s *Source) Refused(mailbox, token string) {
	e := s.entry(mailbox)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != nil && e.token.AccessToken == token {
		e.token = nil
	}
}

// assertionSigner makes Microsoft's client assertion: a JWT signed with
// the certificate's RSA key, x5t = the certificate's SHA-1 thumbprint.
type assertionSigner struct {
	key      *rsa.PrivateKey
	x5t      string
	clientID string
	audience string
}

func newAssertionSigner(data []byte, password, clientID, audience string) (*assertionSigner, error) {
	cert, key, err := parseCertificate(data, password)
	if err != nil {
		return nil, err
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fault.InvalidField("oauth2_certificate", "the certificate's key is %T; Microsoft accepts only RSA keys for client assertions", key)
	}
	thumb := sha1.Sum(cert.Raw)
	return &assertionSigner{key: rsaKey, x5t: base64.RawURLEncoding.EncodeToString(thumb[:]), clientID: clientID, audience: audience}, nil
}

func (a *assertionSigner) sign() (string, error) {
	now := time.Now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := jwt.RegisteredClaims{
		Issuer:    a.clientID,
		Subject:   a.clientID,
		Audience:  jwt.ClaimStrings{a.audience},
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["x5t"] = a.x5t
	return t.SignedString(a.key)
}

// parseCertificate reads a PEM file holding a certificate and its private
// key, or a PFX (locked with password, or not). Errors never quote the
// password.
func parseCertificate(data []byte, password string) (*x509.Certificate, any, error) {
	if !strings.Contains(string(data), "-----BEGIN") {
		key, cert, _, err := pkcs12.DecodeChain(data, password)
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword) && password == "":
			return nil, nil, fault.InvalidField("oauth2_certificate_password", "the PFX file is locked with a password: give its certificate password too (or convert it to PEM with: openssl pkcs12 -in cert.pfx -out cert.pem -nodes)")
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			return nil, nil, fault.InvalidField("oauth2_certificate_password", "the PFX file's password is wrong: give the password it was exported with")
		case err != nil:
			return nil, nil, fault.InvalidField("oauth2_certificate", "the PFX file cannot be read (%v): export the certificate with its private key as PFX, or convert it to PEM with: openssl pkcs12 -in cert.pfx -out cert.pem -nodes", err)
		}
		return cert, key, nil
	}
	if password != "" {
		return nil, nil, fault.InvalidField("oauth2_certificate_password", "a certificate password unlocks only a PFX file; this certificate is PEM, whose key must be unencrypted (openssl pkey -in key.pem -out plain.pem)")
	}
	var cert *x509.Certificate
	var key any
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE" && cert == nil:
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fault.InvalidField("oauth2_certificate", "the certificate cannot be read: %v", err)
			}
			cert = c
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			k, err := parsePrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, fault.InvalidField("oauth2_certificate", "the private key cannot be read (%v): give it unencrypted (openssl pkey -in key.pem -out plain.pem)", err)
			}
			key = k
		}
	}
	if cert == nil || key == nil {
		return nil, nil, fault.InvalidField("oauth2_certificate", "the PEM file must hold both the certificate and its private key (cat cert.pem key.pem > both.pem)")
	}
	return cert, key, nil
}

func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return x509.ParseECPrivateKey(der)
}

// secrets is the part of a Config kept sealed at rest.
type secrets struct {
	ClientSecret         string `json:"client_secret,omitempty"`
	Certificate          []byte `json:"certificate,omitempty"`
	CertificatePassword  string `json:"certificate_password,omitempty"`
	GoogleServiceAccount []byte `json:"google_service_account,omitempty"`
}

// Secrets returns the secret fields as one value for the sealer (the
// other fields are stored in the clear).
func (c Config) Secrets() string {
	b, _ := json.Marshal(secrets{c.ClientSecret, c.Certificate, c.CertificatePassword, c.GoogleServiceAccount})
	return string(b)
}

// SetSecrets puts back the secret fields of an opened Secrets value.
func (c *Config) SetSecrets(opened string) error {
	var s secrets
	if err := json.Unmarshal([]byte(opened), &s); err != nil {
		return fmt.Errorf("stored OAuth2 credentials cannot be read: %w", err)
	}
	c.ClientSecret, c.Certificate, c.CertificatePassword, c.GoogleServiceAccount = s.ClientSecret, s.Certificate, s.CertificatePassword, s.GoogleServiceAccount
	return nil
}
