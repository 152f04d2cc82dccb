package api

import (
	"fmt"
	"net/http"

	"github.com/ferryhq/ferry/internal/dnscheck"
)

// ---- DNS: an engagement's domains, their records and the MX cutover

func (s *server) listDomains(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	id := e.ID
	ds, err := s.dns.Domains(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"domains": convert(ds, domainOut)})
}

func (s *server) addDomain(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	id := e.ID
	var in DomainInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.dns.AddDomain(r.Context(), id, dnscheck.DomainInput(in))
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/engagements/%d/domains", id), domainOut(dnscheck.DomainStatus{EngagementDomain: d, State: "not checked yet"}))
}

func (s *server) removeDomain(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	id := e.ID
	if err := s.dns.RemoveDomain(r.Context(), id, r.PathValue("domain")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) checkDNS(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	id := e.ID
	reps, err := s.dns.Check(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"domains": convert(reps, reportOut)})
}

func (s *server) cutover(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	id := e.ID
	c, err := s.dns.Cutover(r.Context(), id, r.PathValue("domain"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cutoverOut(c))
}
