package web

import (
	"net/http"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// The engagement page's "Domains and MX cutover" section and the page of
// a live DNS check.

func init() {
	addRoutes(
		route{Pattern: "GET /engagements/{id}/dns", Action: auth.ActionCheckDNS, Handle: (*server).dnsCheck},
		route{Pattern: "POST /engagements/{id}/domains", Action: auth.ActionManageDomains, Handle: (*server).addDomain},
		route{Pattern: "POST /engagements/{id}/domains/{domain}/remove", Action: auth.ActionManageDomains, Handle: (*server).removeDomain},
		route{Pattern: "POST /engagements/{id}/domains/{domain}/cutover", Action: auth.ActionCutover, Handle: (*server).cutover},
	)
}

// dnsService is the DNS service the portal uses.
func (s *server) dnsService() *dnscheck.Service { return s.DNS }

// engagementDomains is the section's data: nil when the person may not see it.
func (s *server) engagementDomains(r *http.Request, e store.Engagement) ([]dnscheck.DomainStatus, error) {
	if auth.Authorize(principal(r), auth.ActionListDomains, e.CustomerID) != nil {
		return nil, nil
	}
	return s.dnsService().Domains(r.Context(), e.ID)
}

type dnsCheckData struct {
	E       store.Engagement
	Reports []dnscheck.Report
	Err     string
}

func (s *server) dnsCheck(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	d := &dnsCheckData{E: e}
	d.Reports, err = s.dnsService().Check(r.Context(), e.ID)
	if fe, ok := fault.As(err); ok && (fe.Kind == fault.Invalid || fe.Kind == fault.Temporary) {
		d.Err, err = fe.Msg, nil
	}
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "dns.html", newView(r, "DNS of "+e.Name, "customers", d))
}

func (s *server) addDomain(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	_, err = s.dnsService().AddDomain(r.Context(), e.ID, dnscheck.DomainInput{Domain: r.PostFormValue("domain"),
		VerificationTXT: r.PostFormValue("verification_txt"), Resolver: r.PostFormValue("resolver")})
	return s.formDone(w, r, e, "domains", err)
}

func (s *server) removeDomain(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	err = s.dnsService().RemoveDomain(r.Context(), e.ID, r.PathValue("domain"))
	return s.formDone(w, r, e, "domains", err)
}

func (s *server) cutover(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	_, err = s.dnsService().Cutover(r.Context(), e.ID, r.PathValue("domain"))
	return s.formDone(w, r, e, "domains", err)
}
