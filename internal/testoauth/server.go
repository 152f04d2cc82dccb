// Package testoauth is an OAuth2 token server for tests: RFC 6749 client
// credentials (with a client secret or an RFC 7523 client assertion signed
// by a registered certificate, as Microsoft's identity platform takes
// them), RFC 7523 JWT-bearer grants (Google service accounts with
// domain-wide delegation) and RFC 7662 introspection, which a real
// Dovecot's oauth2 passdb asks (testimap.DovecotOptions.OAuth2). Tokens can
// be expired and credentials revoked on demand. Its refusals carry the
// words Microsoft and Google use, so clients' error handling is tested
// against them.
package testoauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"software.sslmate.com/src/go-pkcs12"
)

const (
	grantClientCredentials = "client_credentials"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	assertionTypeJWT       = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Server is a running token server.
type Server struct {
	URL           string // base URL
	TokenURL      string // token endpoint (POST)
	IntrospectURL string // RFC 7662 introspection (POST token=...)

	// Lifetime is the expires_in of new tokens (default one hour).
	Lifetime time.Duration
	// OneLogin makes every token inactive after its first successful
	// introspection: each new IMAP login needs a new token, as after an
	// expiry on the server's side between two connections.
	OneLogin bool

	mu       sync.Mutex
	apps     map[string]*App
	accounts map[string]*ServiceAccount
	tokens   map[string]*issued
	grants   int
	refusals int
}

// App is a registered application (Microsoft 365 app-only access).
type App struct {
	ClientID string
	Secret   string // empty: only the certificate is accepted
	// Certificate, when set, verifies client assertions (x5t must match).
	Certificate *x509.Certificate
	// Mailbox is the user name introspection returns for this app's
	// tokens: Dovecot's oauth2 passdb checks one user per token, where
	// Exchange checks the app's mailbox permissions.
	Mailbox string
	// SecretExpired answers AADSTS7000222 to the secret.
	SecretExpired bool
	revoked       bool
}

// ServiceAccount is a Google service account with domain-wide delegation.
type ServiceAccount struct {
	Email string
	key   *rsa.PrivateKey
	// Scopes delegated to it; a grant for another scope is refused with
	// unauthorized_client.
	Scopes  []string
	revoked bool
}

type issued struct {
	active  bool
	expires time.Time
	user    string
	client  string
	scope   string
}

// Start runs a token server until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{Lifetime: time.Hour, apps: map[string]*App{}, accounts: map[string]*ServiceAccount{}, tokens: map[string]*issued{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /introspect", s.introspect)
	hs := httptest.NewServer(mux)
	tb.Cleanup(hs.Close)
	s.URL, s.TokenURL, s.IntrospectURL = hs.URL, hs.URL+"/token", hs.URL+"/introspect"
	return s
}

// AddApp registers an application.
func (s *Server) AddApp(a *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ClientID] = a
}

// AddServiceAccount registers a service account delegated the scopes and
// returns its JSON key, whose token_uri is this server.
func (s *Server) AddServiceAccount(tb testing.TB, email string, scopes ...string) []byte {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.accounts[email] = &ServiceAccount{Email: email, key: key, Scopes: scopes}
	s.mu.Unlock()
	js, _ := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "ferry-test",
		"private_key_id": "test-key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "100000000000000000001",
		"token_uri":      s.TokenURL,
	})
	return js
}

// ExpireAll makes every token issued so far inactive, as when they expire
// on the server's side.
func (s *Server) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.active = false
	}
}

// Revoke withdraws an app's or a service account's credentials: its
// tokens turn inactive and new grants are refused.
func (s *Server) Revoke(clientIDOrEmail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[clientIDOrEmail]; a != nil {
		a.revoked = true
	}
	if sa := s.accounts[clientIDOrEmail]; sa != nil {
		sa.revoked = true
	}
	for _, t := range s.tokens {
		if t.client == clientIDOrEmail {
			t.active = false
		}
	}
}

// Grants is how many tokens were issued; Refusals how many introspections
// answered inactive.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

func (s *Server) Refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case grantClientCredentials:
		s.clientCredentials(w, r)
	case grantJWTBearer:
		s.jwtBearer(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+r.PostForm.Get("grant_type"))
	}
}

// clientCredentials answers as Microsoft's identity platform does.
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	a := s.apps[f.Get("client_id")]
	if a == nil {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+f.Get("client_id")+"' was not found in the directory 'test'. This can happen if the application has not been installed by the administrator of the tenant.")
		return
	}
	switch {
	case f.Get("client_assertion_type") == assertionTypeJWT:
		if err := s.checkAssertion(a, f.Get("client_assertion")); err != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: Client assertion failed signature validation: "+err.Error())
			return
		}
	case f.Get("client_secret") == "" || f.Get("client_secret") != a.Secret || a.revoked:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0000")
		return
	case a.SecretExpired:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000222: The provided client secret keys for app '"+a.ClientID+"' are expired.")
		return
	}
	if a.revoked {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	if sc := f.Get("scope"); sc != "https://outlook.office365.com/.default" && sc != "https://graph.microsoft.com/.default" {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
		return
	}
	s.issue(w, a.Mailbox, a.ClientID, f.Get("scope"))
}

func (s *Server) checkAssertion(a *App, assertion string) error {
	if a.Certificate == nil || a.revoked {
		return fmt.Errorf("no certificate registered for app %s", a.ClientID)
	}
	thumb := sha1.Sum(a.Certificate.Raw)
	_, err := jwt.Parse(assertion, func(t *jwt.Token) (any, error) {
		if t.Header["x5t"] != base64.RawURLEncoding.EncodeToString(thumb[:]) {
			return nil, fmt.Errorf("x5t %v is not the registered certificate's thumbprint", t.Header["x5t"])
		}
		return a.Certificate.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithAudience(s.TokenURL), jwt.WithIssuer(a.ClientID),
		jwt.WithSubject(a.ClientID), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return err
}

// jwtBearer answers as Google's token endpoint does for a service account.
func (s *Server) jwtBearer(w http.ResponseWriter, r *http.Request) {
	var claims struct {
		jwt.RegisteredClaims
		Scope string `json:"scope"`
	}
	var sa *ServiceAccount
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		if sa = s.accounts[iss]; sa == nil {
			return nil, fmt.Errorf("unknown service account %q", iss)
		}
		return &sa.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.TokenURL), jwt.WithExpirationRequired())
	if err != nil || sa.revoked {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	delegated := false
	for _, sc := range sa.Scopes {
		delegated = delegated || sc == claims.Scope
	}
	if !delegated {
		oauthError(w, http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
		return
	}
	if claims.Subject == "" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return
	}
	s.issue(w, claims.Subject, sa.Email, claims.Scope)
}

func (s *Server) issue(w http.ResponseWriter, user, client, scope string) {
	var b [24]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	s.tokens[tok] = &issued{active: true, expires: time.Now().Add(s.Lifetime), user: user, client: client, scope: scope}
	s.grants++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.Lifetime.Seconds())})
}

// introspect answers RFC 7662. Dovecot reads "active" and the user name.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[r.PostForm.Get("token")]
	w.Header().Set("Content-Type", "application/json")
	if t == nil || !t.active || time.Now().After(t.expires) {
		s.refusals++
		// Dovecot wants a user name even for an inactive token, else it
		// reports an internal failure instead of a refused login.
		user := ""
		if t != nil {
			user = t.user
		}
		json.NewEncoder(w).Encode(map[string]any{"active": false, "username": user})
		return
	}
	if s.OneLogin {
		t.active = false
	}
	json.NewEncoder(w).Encode(map[string]any{"active": true, "username": t.user, "client_id": t.client, "scope": t.scope, "exp": t.expires.Unix(), "token_type": "Bearer"})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// NewCertificate makes a self-signed RSA certificate for an app and
// returns it with a PEM file holding it and its key (what Ferry takes).
func NewCertificate(tb testing.TB) (*x509.Certificate, []byte) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	var b strings.Builder
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return cert, []byte(b.String())
}

// NewCertificatePFX makes a self-signed RSA certificate for an app and
// returns it with a PFX (PKCS #12) file holding it and its key, locked
// with password (as Windows' certificate export makes it).
func NewCertificatePFX(tb testing.TB, password string) (*x509.Certificate, []byte) {
	tb.Helper()
	cert, certPEM := NewCertificate(tb)
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
	pfx, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		tb.Fatal(err)
	}
	return cert, pfx
}
