package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/store"
)

// EngagementDomain is a mail domain of an engagement, with its MX watch
// and where its cutover stands.
type EngagementDomain struct {
	ID              int64     `json:"id"`
	EngagementID    int64     `json:"engagement_id"`
	Domain          string    `json:"domain"`
	VerificationTXT string    `json:"verification_txt,omitempty"`
	Resolver        string    `json:"resolver,omitempty"`
	Created         time.Time `json:"created"`
	// Streak counts the checks in a row that found every MX at the destination.
	Streak      int        `json:"mx_streak"`
	DestSince   time.Time  `json:"destination_since,omitzero"`
	ReadyAt     time.Time  `json:"ready_at,omitzero"`
	LastChecked time.Time  `json:"last_checked,omitzero"`
	LastMX      string     `json:"last_mx,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	State       string     `json:"state"`
	Cutover     *MXCutover `json:"cutover,omitempty"`
}

// MXCutover is a domain's recorded cutover and its post-migration check.
type MXCutover struct {
	ID          int64      `json:"id"`
	Domain      string     `json:"domain"`
	At          time.Time  `json:"at"`
	Trigger     string     `json:"trigger"`
	MX          string     `json:"mx"`
	Queued      int        `json:"queued"`
	Waiting     int        `json:"waiting"`
	PostChecked time.Time  `json:"post_checked,omitzero"`
	PostReady   bool       `json:"post_ready"`
	PostReport  *DNSReport `json:"post_report,omitempty"`
}

// DomainInput adds a domain to an engagement.
type DomainInput struct {
	Domain          string `json:"domain"`
	VerificationTXT string `json:"verification_txt,omitempty"`
	Resolver        string `json:"resolver,omitempty"`
}

// DNSReport is a domain's records as Microsoft 365 wants them.
type DNSReport struct {
	Domain  string           `json:"domain"`
	Ready   bool             `json:"ready"`
	MX      []MXRecord       `json:"mx"`
	Records []DNSRecordCheck `json:"records"`
}

// MXRecord is one MX record and where it sends mail.
type MXRecord struct {
	Host       string `json:"host"`
	Preference int    `json:"preference"`
	TTL        int    `json:"ttl"`
	Provider   string `json:"provider"`
}

// DNSRecordCheck is one record: present, missing or elsewhere, and what to add.
type DNSRecordCheck struct {
	Record string   `json:"record"`
	Name   string   `json:"name"`
	State  string   `json:"state"`
	Found  []string `json:"found"`
	Add    string   `json:"add,omitempty"`
	Hint   string   `json:"hint,omitempty"`
}

func reportOut(r dnscheck.Report) DNSReport {
	out := DNSReport{Domain: r.Domain, Ready: r.Ready, MX: []MXRecord{}, Records: []DNSRecordCheck{}}
	for _, m := range r.MX {
		out.MX = append(out.MX, MXRecord{Host: m.Host, Preference: int(m.Preference), TTL: int(m.TTL), Provider: string(m.Provider)})
	}
	for _, c := range r.Records {
		out.Records = append(out.Records, DNSRecordCheck{Record: c.Record, Name: c.Name, State: c.State, Found: nonNil(c.Found), Add: c.Add, Hint: c.Hint})
	}
	return out
}

func cutoverOut(c store.MXCutover) MXCutover {
	out := MXCutover{ID: c.ID, Domain: c.Domain, At: c.At, Trigger: c.Trigger, MX: c.MX, Queued: c.Queued, Waiting: c.Waiting, PostChecked: c.PostChecked, PostReady: c.PostReady}
	if rep, ok := dnscheck.PostReport(c); ok {
		r := reportOut(rep)
		out.PostReport = &r
	}
	return out
}

func domainOut(d dnscheck.DomainStatus) EngagementDomain {
	out := EngagementDomain{ID: d.ID, EngagementID: d.EngagementID, Domain: d.Domain, VerificationTXT: d.VerificationTXT, Resolver: d.Resolver,
		Created: d.Created, Streak: d.Streak, DestSince: d.DestSince, ReadyAt: d.ReadyAt, LastChecked: d.LastChecked, LastMX: d.LastMX,
		LastError: d.LastError, State: d.State}
	if d.Cutover != nil {
		c := cutoverOut(*d.Cutover)
		out.Cutover = &c
	}
	return out
}
