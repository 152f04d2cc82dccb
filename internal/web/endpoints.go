package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /customers/{id}/endpoints/new", Action: auth.ActionCreateEndpoint, Handle: (*server).newEndpoint},
		route{Pattern: "POST /customers/{id}/endpoints", Action: auth.ActionCreateEndpoint, Handle: (*server).createEndpoint},
		route{Pattern: "GET /endpoints/{id}", Action: auth.ActionReadEndpoint, Handle: (*server).endpoint},
		route{Pattern: "POST /endpoints/{id}/credentials", Action: auth.ActionSetCredentials, Handle: (*server).setEndpointCredentials},
		route{Pattern: "POST /endpoints/{id}/delete", Action: auth.ActionDeleteEndpoint, Handle: (*server).deleteEndpoint},
	)
}

// endpointForm is what the endpoint form shows again after an error. It
// never holds a password or token: credentials are write-only.
type endpointForm struct {
	Name, Type, Host, Security string
	Port                       string
	AllowPlaintext             bool
	Provide                    bool // "Provide credentials" is chosen
	AdminUser                  string
	// The public part of an app's OAuth2 credentials; the secrets and
	// files are never shown again.
	OAuth2Tenant, OAuth2ClientID, OAuth2TokenURL, OAuth2Scope string
	OAuth2Mechanism                                           string
	MaxMessageMB, DownMB, UpMB                                string
	Error, Field                                              string
}

type endpointNewData struct {
	Customer store.Customer
	Types    []presets.System
	Form     endpointForm
}

func (s *server) newEndpoint(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	d := &endpointNewData{Customer: c, Types: presets.All, Form: endpointForm{Type: "imap", Security: "tls", Provide: true}}
	return s.renderEndpointNew(w, r, http.StatusOK, d)
}

func (s *server) renderEndpointNew(w http.ResponseWriter, r *http.Request, status int, d *endpointNewData) error {
	v := newView(r, "New endpoint · "+d.Customer.Name, "customers", d)
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {"New endpoint", ""}}
	return s.render(w, r, status, "endpoint_new.html", v)
}

// megabytes reads a size in MB (decimal, as the page says) into bytes; "" is 0 (the type's default).
func megabytes(field, v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fault.InvalidField(field, "write a size in MB, like 35, or leave it empty for the type's limit")
	}
	return int64(f * (1 << 20)), nil
}

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	f := endpointForm{Name: r.PostFormValue("name"), Type: r.PostFormValue("type"), Host: r.PostFormValue("host"),
		Security: r.PostFormValue("security"), Port: strings.TrimSpace(r.PostFormValue("port")),
		AllowPlaintext: r.PostFormValue("allow_plaintext") != "", Provide: r.PostFormValue("credentials") != "none",
		AdminUser: strings.TrimSpace(r.PostFormValue("admin_user")), MaxMessageMB: r.PostFormValue("max_message_mb"),
		DownMB: r.PostFormValue("daily_download_mb"), UpMB: r.PostFormValue("daily_upload_mb"),
		OAuth2Tenant: strings.TrimSpace(r.PostFormValue("oauth2_tenant")), OAuth2ClientID: strings.TrimSpace(r.PostFormValue("oauth2_client_id")),
		OAuth2TokenURL: strings.TrimSpace(r.PostFormValue("oauth2_token_url")), OAuth2Scope: strings.TrimSpace(r.PostFormValue("oauth2_scope")),
		OAuth2Mechanism: r.PostFormValue("oauth2_mechanism")}
	in := customers.EndpointInput{CustomerID: c.ID, Name: f.Name, Type: f.Type, Host: f.Host, Security: f.Security, AllowPlaintext: f.AllowPlaintext}
	if f.Provide {
		in.AdminUser, in.Password, in.Token = f.AdminUser, r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("oauth2_token"))
		in.OAuth2, err = oauthFromForm(r)
		if err == nil && in.AdminUser == "" && in.Password == "" && in.Token == "" && !in.OAuth2.Set() {
			err = fault.InvalidField("admin_user", "give the administrator's user name and password (or OAuth2 token), or choose \"Do not provide credentials\"")
		}
	}
	if err == nil && f.Port != "" {
		if in.Port, err = strconv.Atoi(f.Port); err != nil {
			err = fault.InvalidField("port", "a port is a number from 1 to 65535")
		}
	}
	if err == nil {
		in.MaxMessageSize, err = megabytes("max_message_mb", f.MaxMessageMB)
	}
	if err == nil {
		in.DailyDownload, err = megabytes("daily_download_mb", f.DownMB)
	}
	if err == nil {
		in.DailyUpload, err = megabytes("daily_upload_mb", f.UpMB)
	}
	var e store.Endpoint
	if err == nil {
		e, err = s.Customers.CreateEndpoint(r.Context(), in)
	}
	if fe, ok := userFault(err); ok {
		f.Error, f.Field = fe.Msg, fe.Field
		return s.renderEndpointNew(w, r, http.StatusBadRequest, &endpointNewData{Customer: c, Types: presets.All, Form: f})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/endpoints/"+itoa(e.ID)+"?saved=1")
}

type endpointData struct {
	Customer store.Customer
	Endpoint store.Endpoint
	Type     presets.System
	UsedBy   []store.Project
	Error    string
	Field    string
}

// loadEndpoint loads the {id} endpoint and checks the route's action on its customer.
func (s *server) loadEndpoint(r *http.Request) (store.Endpoint, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Endpoint{}, err
	}
	e, err := s.Store.Endpoint(r.Context(), id)
	if err != nil {
		return e, err
	}
	return e, s.allow(r, e.CustomerID)
}

func (s *server) endpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	d := &endpointData{Endpoint: e}
	flash := ""
	switch r.URL.Query().Get("saved") {
	case "1":
		flash = "Endpoint saved."
	case "credentials":
		flash = "Credentials saved."
	}
	return s.renderEndpoint(w, r, http.StatusOK, d, flash)
}

func (s *server) renderEndpoint(w http.ResponseWriter, r *http.Request, status int, d *endpointData, flash string) error {
	ctx := r.Context()
	var err error
	if d.Customer, err = s.Store.Customer(ctx, d.Endpoint.CustomerID); err != nil {
		return err
	}
	d.Type, _ = presets.Lookup(d.Endpoint.Type)
	ps, err := s.Store.ProjectsOf(ctx, d.Endpoint.CustomerID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.SourceID == d.Endpoint.ID || p.DestID == d.Endpoint.ID {
			d.UsedBy = append(d.UsedBy, p)
		}
	}
	v := newView(r, d.Endpoint.Name, "customers", d)
	v.Flash = flash
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {d.Endpoint.Name, ""}}
	return s.render(w, r, status, "endpoint.html", v)
}

func (s *server) setEndpointCredentials(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	var user, password, token string
	var app oauth.Config
	if r.PostFormValue("credentials") != "none" {
		user, password, token = r.PostFormValue("admin_user"), r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("oauth2_token"))
		app, err = oauthFromForm(r)
		if err == nil && strings.TrimSpace(user) == "" && password == "" && token == "" && !app.Set() {
			err = fault.InvalidField("admin_user", "give the administrator's user name and password (or OAuth2 token), or choose \"Do not provide credentials\"")
		}
	}
	if err == nil {
		_, err = s.Customers.SetEndpointCredentials(r.Context(), e.ID, user, password, token, app)
	}
	if field, msg, ok := fieldError(err); ok {
		return s.renderEndpoint(w, r, http.StatusBadRequest, &endpointData{Endpoint: e, Error: msg, Field: field}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/endpoints/"+itoa(e.ID)+"?saved=credentials")
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	_, err = s.Customers.DeleteEndpoint(r.Context(), e.ID)
	if fe, ok := userFault(err); ok {
		msg := fe.Msg
		return s.renderEndpoint(w, r, http.StatusBadRequest, &endpointData{Endpoint: e, Error: msg, Field: "delete"}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/customers/"+itoa(e.CustomerID))
}

// maxCredentialFile bounds an uploaded certificate or service account key.
const maxCredentialFile = 64 << 10

// oauthFromForm reads an app's OAuth2 credentials from the endpoint form:
// text fields, and the certificate and service account key as files.
func oauthFromForm(r *http.Request) (oauth.Config, error) {
	cfg := oauth.Config{Tenant: strings.TrimSpace(r.PostFormValue("oauth2_tenant")), ClientID: strings.TrimSpace(r.PostFormValue("oauth2_client_id")),
		ClientSecret: strings.TrimSpace(r.PostFormValue("oauth2_client_secret")), CertificatePassword: r.PostFormValue("oauth2_certificate_password"), TokenURL: strings.TrimSpace(r.PostFormValue("oauth2_token_url")),
		Scope: strings.TrimSpace(r.PostFormValue("oauth2_scope")), Mechanism: r.PostFormValue("oauth2_mechanism")}
	var err error
	if cfg.Certificate, err = formFile(r, "oauth2_certificate"); err != nil {
		return cfg, err
	}
	cfg.GoogleServiceAccount, err = formFile(r, "google_service_account")
	return cfg, err
}

func formFile(r *http.Request, field string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if err != nil {
		return nil, nil // no file chosen
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialFile+1))
	if err != nil || len(b) > maxCredentialFile {
		return nil, fault.InvalidField(field, "the file could not be read or is larger than %d KB", maxCredentialFile>>10)
	}
	return b, nil
}
