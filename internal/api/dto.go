package api

// The API's own request and response types for customers and endpoints,
// converted from and to the services' types here and only here: a column
// added to the store does not change the wire format, and
// TestOpenAPISchemasMatchTypes holds these types and openapi.json together.

import (
	"time"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

// Customer is a customer as the API writes it.
type Customer struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Domain   string    `json:"primary_domain"`
	Location string    `json:"location,omitempty"`
	Industry string    `json:"industry,omitempty"`
	Size     string    `json:"size,omitempty"`
	Created  time.Time `json:"created"`
}

func customerOf(c store.Customer) Customer {
	return Customer{ID: c.ID, Name: c.Name, Domain: c.Domain, Location: c.Location, Industry: c.Industry, Size: c.Size, Created: c.Created}
}

// CustomerInput creates a customer.
type CustomerInput struct {
	Name     string `json:"name"`
	Domain   string `json:"primary_domain"`
	Location string `json:"location,omitempty"`
	Industry string `json:"industry,omitempty"`
	Size     string `json:"size,omitempty"`
}

func (in CustomerInput) service() customers.CustomerInput {
	return customers.CustomerInput{Name: in.Name, Domain: in.Domain, Location: in.Location, Industry: in.Industry, Size: in.Size}
}

// Endpoint is an endpoint as the API writes it: whether it has
// credentials, never their value.
type Endpoint struct {
	ID             int64     `json:"id"`
	CustomerID     int64     `json:"customer_id"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Host           string    `json:"host"`
	Port           int       `json:"port"`
	Security       string    `json:"security"`
	AllowPlaintext bool      `json:"allow_plaintext"`
	AdminUser      string    `json:"admin_user,omitempty"`
	HasCredentials bool      `json:"has_credentials"`
	MaxMessageSize int64     `json:"max_message_size"`
	DailyDownload  int64     `json:"daily_download,omitempty"`
	DailyUpload    int64     `json:"daily_upload,omitempty"`
	Created        time.Time `json:"created"`
	// The public part of the app's OAuth2 credentials, when set.
	OAuth2Tenant   string `json:"oauth2_tenant,omitempty"`
	OAuth2ClientID string `json:"oauth2_client_id,omitempty"`
	OAuth2TokenURL string `json:"oauth2_token_url,omitempty"`
	OAuth2Scope    string `json:"oauth2_scope,omitempty"`
	// Limits this endpoint sets over its type's for pre-flight, when any.
	Limits *Limits `json:"limits,omitempty"`
	// Where calendars, contacts and tasks are (docs/workloads.md).
	DAVURL   string `json:"dav_url,omitempty"`
	GraphURL string `json:"graph_url,omitempty"`
	EWSURL   string `json:"ews_url,omitempty"`
	// OAuth2Mechanism: the SASL mechanism of the token, empty for automatic.
	OAuth2Mechanism string `json:"oauth2_mechanism,omitempty"`
}

func endpointOf(e store.Endpoint) Endpoint {
	return Endpoint{ID: e.ID, CustomerID: e.CustomerID, Name: e.Name, Type: e.Type, Host: e.Host, Port: e.Port, Security: e.Security,
		AllowPlaintext: e.AllowPlaintext, AdminUser: e.AdminUser, HasCredentials: e.HasCredentials, MaxMessageSize: e.MaxMessageSize,
		DailyDownload: e.DailyDownload, DailyUpload: e.DailyUpload, Created: e.Created,
		OAuth2Tenant: e.OAuth2Tenant, OAuth2ClientID: e.OAuth2ClientID, OAuth2TokenURL: e.OAuth2TokenURL, OAuth2Scope: e.OAuth2Scope, OAuth2Mechanism: e.OAuth2Mechanism, Limits: limitsPtr(e.Limits),
		DAVURL: e.DAVURL, GraphURL: e.GraphURL, EWSURL: e.EWSURL}
}

func endpointsOf(es []store.Endpoint) []Endpoint {
	out := make([]Endpoint, 0, len(es))
	for _, e := range es {
		out = append(out, endpointOf(e))
	}
	return out
}

// EndpointInput creates an endpoint. With password (or oauth2_token) and
// admin_user the endpoint has administrator credentials used for every
// mailbox; without, each item carries its own.
type EndpointInput struct {
	CustomerID     int64  `json:"customer_id"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Host           string `json:"host"`
	Port           int    `json:"port,omitempty"`
	Security       string `json:"security,omitempty"`
	AllowPlaintext bool   `json:"allow_plaintext,omitempty"`
	AdminUser      string `json:"admin_user,omitempty"`
	Password       string `json:"password,omitempty"`
	Token          string `json:"oauth2_token,omitempty"`
	// An app's OAuth2 credentials instead of an administrator (Microsoft
	// 365 app-only, Google service account); the secrets are write-only.
	OAuth2Tenant       string `json:"oauth2_tenant,omitempty"`
	OAuth2ClientID     string `json:"oauth2_client_id,omitempty"`
	OAuth2ClientSecret string `json:"oauth2_client_secret,omitempty"`
	OAuth2Certificate  []byte `json:"oauth2_certificate,omitempty"`
	// OAuth2CertificatePassword unlocks a PFX exported with a password.
	OAuth2CertificatePassword string `json:"oauth2_certificate_password,omitempty"`
	OAuth2TokenURL            string `json:"oauth2_token_url,omitempty"`
	OAuth2Scope               string `json:"oauth2_scope,omitempty"`
	// OAuth2Mechanism: XOAUTH2 or OAUTHBEARER; empty chooses from the server.
	OAuth2Mechanism      string `json:"oauth2_mechanism,omitempty"`
	GoogleServiceAccount string `json:"google_service_account,omitempty"`
	MaxMessageSize       int64  `json:"max_message_size,omitempty"`
	DailyDownload        int64  `json:"daily_download,omitempty"`
	DailyUpload          int64  `json:"daily_upload,omitempty"`
	// Limits override the type's for pre-flight (fields left out: the type's).
	Limits   *Limits `json:"limits,omitempty"`
	DAVURL   string  `json:"dav_url,omitempty"`
	GraphURL string  `json:"graph_url,omitempty"`
	EWSURL   string  `json:"ews_url,omitempty"`
}

func (in EndpointInput) service() customers.EndpointInput {
	var lim store.Limits
	if in.Limits != nil {
		lim = store.Limits(*in.Limits)
	}
	return customers.EndpointInput{CustomerID: in.CustomerID, Name: in.Name, Type: in.Type, Host: in.Host, Port: in.Port,
		Security: in.Security, AllowPlaintext: in.AllowPlaintext, AdminUser: in.AdminUser, Password: in.Password, Token: in.Token,
		OAuth2:         oauthConfig(in.OAuth2Tenant, in.OAuth2ClientID, in.OAuth2ClientSecret, in.OAuth2Certificate, in.OAuth2CertificatePassword, in.OAuth2TokenURL, in.OAuth2Scope, in.GoogleServiceAccount, in.OAuth2Mechanism),
		MaxMessageSize: in.MaxMessageSize, DailyDownload: in.DailyDownload, DailyUpload: in.DailyUpload, Limits: lim,
		Locations: customers.Locations{DAVURL: in.DAVURL, GraphURL: in.GraphURL, EWSURL: in.EWSURL}}
}

func oauthConfig(tenant, clientID, secret string, cert []byte, certPassword, tokenURL, scope, googleKey, mechanism string) oauth.Config {
	return oauth.Config{Tenant: tenant, ClientID: clientID, ClientSecret: secret, Certificate: cert, CertificatePassword: certPassword, TokenURL: tokenURL, Scope: scope, Mechanism: mechanism,
		GoogleServiceAccount: []byte(googleKey)}
}

// EndpointType is a kind of mail system Ferry knows, with its limits.
type EndpointType struct {
	Name           string            `json:"name"`
	Label          string            `json:"label"`
	Host           string            `json:"default_host,omitempty"`
	Port           int               `json:"default_port"`
	Security       string            `json:"default_security"`
	Auth           string            `json:"auth"`
	Folders        map[string]string `json:"folders,omitempty"`
	MaxMessageSize int64             `json:"max_message_size"`
	MaxConnections int               `json:"max_connections,omitempty"`
	DailyDownload  int64             `json:"daily_download,omitempty"`
	DailyUpload    int64             `json:"daily_upload,omitempty"`
	Throttling     string            `json:"throttling,omitempty"`
	UserIsEmail    bool              `json:"user_is_email"`
	Labels         bool              `json:"labels,omitempty"`
	// The folder limits pre-flight checks a destination of this type against.
	MaxFolderItems      int64 `json:"max_folder_items,omitempty"`
	MaxFolderDepth      int   `json:"max_folder_depth,omitempty"`
	MaxFolderNameLength int   `json:"max_folder_name_length,omitempty"`
	MaxFolderPathLength int   `json:"max_folder_path_length,omitempty"`
}

func endpointTypesOf(ts []presets.System) []EndpointType {
	out := make([]EndpointType, 0, len(ts))
	for _, t := range ts {
		out = append(out, EndpointType{Name: t.Name, Label: t.Label, Host: t.Host, Port: t.Port, Security: t.Security, Auth: string(t.Auth),
			Folders: t.Folders, MaxMessageSize: t.MaxMessageSize, MaxConnections: t.MaxConnections, DailyDownload: t.DailyDownload,
			DailyUpload: t.DailyUpload, Throttling: t.Throttling, UserIsEmail: t.UserIsEmail, Labels: t.Labels,
			MaxFolderItems: t.MaxFolderItems, MaxFolderDepth: t.MaxFolderDepth, MaxFolderNameLength: t.MaxFolderNameLength, MaxFolderPathLength: t.MaxFolderPathLength})
	}
	return out
}
