package projects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

// ItemInput adds one mailbox pair.
type ItemInput struct {
	Source         string `json:"source"`
	Dest           string `json:"destination"`
	SourceLogin    string `json:"source_login,omitempty"`
	DestLogin      string `json:"destination_login,omitempty"`
	SourcePassword string `json:"source_password,omitempty"`
	DestPassword   string `json:"destination_password,omitempty"`
	// Workloads the item moves (mail, calendar, contacts, tasks); empty:
	// the project's item types.
	Workloads []string `json:"workloads,omitempty"`
}

// checkWorkloads validates an item's workloads against the project's
// endpoints: calendars, contacts and tasks need a place on both sides (a
// DAV or EWS URL on the source, a DAV or Graph URL on the destination).
func checkWorkloads(w []string, src, dst store.Endpoint) ([]string, error) {
	var out []string
	for _, x := range w {
		x = strings.ToLower(strings.TrimSpace(x))
		if x == "" || slices.Contains(out, x) {
			continue
		}
		if !slices.Contains(store.AllWorkloads, x) {
			return nil, fault.InvalidField("workloads", "%q is not a workload: use mail, calendar, contacts or tasks", x)
		}
		if x != store.WorkloadMail {
			if src.DAVURL == "" && src.EWSURL == "" {
				return nil, fault.InvalidField("workloads", "%s needs to know where the source's calendars, contacts and tasks are: set a DAV URL or an EWS URL on endpoint %q", x, src.Name)
			}
			if dst.DAVURL == "" && dst.GraphURL == "" {
				return nil, fault.InvalidField("workloads", "%s needs to know where the destination's calendars, contacts and tasks go: set a DAV URL or a Graph URL on endpoint %q", x, dst.Name)
			}
		}
		out = append(out, x)
	}
	// Keep the usual order: mail, calendar, contacts, tasks.
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(store.AllWorkloads, a) - slices.Index(store.AllWorkloads, b)
	})
	return out, nil
}

// itemWorkloads are the workloads an item moves: its own, else mail.
func itemWorkloads(it store.Item) []string {
	if len(it.Workloads) == 0 {
		return []string{store.WorkloadMail}
	}
	return it.Workloads
}

func (s *Service) openProject(ctx context.Context, id int64) (store.Project, store.Endpoint, store.Endpoint, error) {
	p, err := s.Store.Project(ctx, id)
	if err != nil {
		return p, store.Endpoint{}, store.Endpoint{}, err
	}
	src, err := s.Store.Endpoint(ctx, p.SourceID)
	if err != nil {
		return p, src, store.Endpoint{}, err
	}
	dst, err := s.Store.Endpoint(ctx, p.DestID)
	return p, src, dst, err
}

// checkItem validates one pair against the project's endpoints.
func checkItem(in *ItemInput, src, dst store.Endpoint) error {
	in.Source, in.Dest = strings.TrimSpace(in.Source), strings.TrimSpace(in.Dest)
	if in.Source == "" {
		return fault.InvalidField("source", "every item needs a source mailbox")
	}
	if in.Dest == "" {
		return fault.InvalidField("destination", "every item needs a destination mailbox")
	}
	for _, side := range []struct {
		field, value, login, password string
		ep                            store.Endpoint
	}{{"source", in.Source, in.SourceLogin, in.SourcePassword, src}, {"destination", in.Dest, in.DestLogin, in.DestPassword, dst}} {
		t, _ := presets.Lookup(side.ep.Type)
		login := side.login
		if login == "" {
			login = side.value
		}
		if t.UserIsEmail {
			if a, err := mail.ParseAddress(login); err != nil || a.Address != login {
				return fault.InvalidField(side.field, "%q: %s user names must be email addresses", login, t.Label)
			}
		}
		if !side.ep.HasCredentials && side.password == "" {
			return fault.InvalidField(side.field+"_password", "endpoint %q has no administrator credentials, so each item needs the %s mailbox's password", side.ep.Name, side.field)
		}
	}
	return nil
}

func (s *Service) sealItem(it *store.Item, in ItemInput) error {
	var err error
	if in.SourcePassword != "" {
		if it.SealedSourcePassword, err = s.Sealer.Seal(in.SourcePassword, itemAAD(it.ProjectID, it.Source, "source")); err != nil {
			return err
		}
	}
	if in.DestPassword != "" {
		if it.SealedDestPassword, err = s.Sealer.Seal(in.DestPassword, itemAAD(it.ProjectID, it.Source, "destination")); err != nil {
			return err
		}
	}
	return nil
}

// AddItem adds one mailbox pair (quick add).
func (s *Service) AddItem(ctx context.Context, projectID int64, in ItemInput) (store.Item, error) {
	p, src, dst, err := s.openProject(ctx, projectID)
	if err != nil {
		return store.Item{}, err
	}
	if err := authorize(ctx, auth.ActionCreateItem, p.CustomerID); err != nil {
		return store.Item{}, err
	}
	if p.Closed {
		return store.Item{}, closedProject(p)
	}
	if err := checkItem(&in, src, dst); err != nil {
		return store.Item{}, err
	}
	if len(in.Workloads) == 0 {
		in.Workloads = p.ItemTypes
	}
	workloads, err := checkWorkloads(in.Workloads, src, dst)
	if err != nil {
		return store.Item{}, err
	}
	it := &store.Item{ProjectID: projectID, Source: in.Source, Dest: in.Dest, SourceLogin: in.SourceLogin, DestLogin: in.DestLogin, Workloads: workloads}
	if err := s.sealItem(it, in); err != nil {
		return *it, err
	}
	if err := s.Store.CreateItems(ctx, []*store.Item{it}); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return *it, conflict("source", "%s or %s is already in the project", in.Source, in.Dest)
		}
		return *it, err
	}
	return *it, nil
}

// RowError is a problem with one row of a bulk add.
type RowError struct {
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	Field  string `json:"field,omitempty"`
	Msg    string `json:"message"`
}

// ImportResult is what a bulk add will do (preview) or did.
type ImportResult struct {
	Valid []ImportRow `json:"valid"`
	// Errors are the first mailboxcsv.MaxErrors problems; ErrorCount counts them all.
	Errors     []RowError `json:"errors,omitempty"`
	ErrorCount int        `json:"error_count"`
	Added      int        `json:"added"`
	Preview    bool       `json:"preview"`
}

// addError counts a problem and keeps the first mailboxcsv.MaxErrors, so
// that a hostile file's answer stays small.
func (r *ImportResult) addError(e RowError) {
	r.ErrorCount++
	if len(r.Errors) < mailboxcsv.MaxErrors {
		r.Errors = append(r.Errors, e)
	}
}

// ImportRow is one row that can be added.
type ImportRow struct {
	Line   int    `json:"line"`
	Source string `json:"source"`
	Dest   string `json:"destination"`
}

// ImportOptions: Apply adds (otherwise preview only); SkipInvalid adds the
// valid rows of a file that has errors (otherwise nothing is added).
type ImportOptions struct {
	Apply       bool `json:"apply"`
	SkipInvalid bool `json:"skip_invalid"`
}

// ErrImportHasErrors: the file has errors and SkipInvalid was not asked for.
var ErrImportHasErrors = fault.New(fault.Invalid, "the file has errors: nothing was added; fix them, or skip the invalid rows")

// ImportItems bulk-adds items from a CSV (the formats of docs/csv-format.md;
// the project's endpoints give the servers, so host columns are not used).
func (s *Service) ImportItems(ctx context.Context, projectID int64, name string, r io.Reader, opt ImportOptions) (*ImportResult, error) {
	p, src, dst, err := s.openProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionImportItems, p.CustomerID); err != nil {
		return nil, err
	}
	if p.Closed {
		return nil, closedProject(p)
	}
	rows, _, perr := mailboxcsv.ParseAll(name, r)
	res := &ImportResult{Preview: !opt.Apply}
	var errs mailboxcsv.Errors
	if perr != nil && !errors.As(perr, &errs) {
		return nil, fault.InvalidField("file", "%v", perr)
	}
	for _, e := range errs {
		if e.Omitted > 0 { // the parser kept mailboxcsv.MaxErrors problems and counted the rest
			res.ErrorCount += e.Omitted
			continue
		}
		res.addError(RowError{Line: e.Line, Column: e.Column, Field: e.Field, Msg: e.Error()})
	}
	existing, _, err := s.Store.Items(ctx, projectID, store.ItemFilter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, it := range existing {
		seen["s:"+strings.ToLower(it.Source)], seen["d:"+strings.ToLower(it.Dest)] = true, true
	}
	// Imported items move the project's item types.
	workloads, err := checkWorkloads(p.ItemTypes, src, dst)
	if err != nil {
		return nil, err
	}
	var items []*store.Item
	for _, row := range rows {
		in := ItemInput{Source: row.Source.Address, Dest: row.Destination.Address, SourceLogin: row.Source.Login, DestLogin: row.Destination.Login,
			SourcePassword: row.Source.Password, DestPassword: row.Destination.Password}
		if err := checkItem(&in, src, dst); err != nil {
			fe, _ := fault.As(err)
			res.addError(RowError{Line: row.Line, Field: fe.Field, Msg: fmt.Sprintf("%s line %d: %s", name, row.Line, fe.Msg)})
			continue
		}
		if seen["s:"+strings.ToLower(in.Source)] || seen["d:"+strings.ToLower(in.Dest)] {
			res.addError(RowError{Line: row.Line, Field: "source", Msg: fmt.Sprintf("%s line %d: %s → %s is already in the project", name, row.Line, in.Source, in.Dest)})
			continue
		}
		it := &store.Item{ProjectID: projectID, Source: in.Source, Dest: in.Dest, SourceLogin: in.SourceLogin, DestLogin: in.DestLogin, Workloads: workloads}
		if err := s.sealItem(it, in); err != nil {
			return nil, err
		}
		items = append(items, it)
		res.Valid = append(res.Valid, ImportRow{Line: row.Line, Source: in.Source, Dest: in.Dest})
	}
	if !opt.Apply {
		return res, nil
	}
	if res.ErrorCount > 0 && !opt.SkipInvalid {
		return res, ErrImportHasErrors
	}
	if err := s.Store.CreateItems(ctx, items); err != nil {
		return res, err
	}
	res.Added = len(items)
	return res, nil
}

// ItemDetail is an item with its pass history and errors.
type ItemDetail struct {
	store.Item
	History  []store.Run            `json:"history"`
	Failures []store.Failure        `json:"errors"`
	Folders  []store.FolderProgress `json:"folders"`
	// WorkloadFailures are the calendar objects, tasks and contacts the
	// last pass could not copy.
	WorkloadFailures []store.DAVFailure `json:"workload_errors"`
	// WorkloadCopied counts the calendar objects, contacts and tasks
	// copied, per workload.
	WorkloadCopied map[string]int `json:"workload_copied,omitempty"`
}

// Item returns an item with its history. A server's words on a refused
// login may name the account, so a principal in ctx who may not manage the
// customer's endpoints reads only imapconn.LoginRefused and the hint.
func (s *Service) Item(ctx context.Context, id int64) (*ItemDetail, error) {
	it, err := s.Store.Item(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.Project(ctx, it.ProjectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadItem, p.CustomerID); err != nil {
		return nil, err
	}
	d := &ItemDetail{Item: it}
	if d.History, err = s.Store.ItemRuns(ctx, it.ID); err != nil {
		return nil, err
	}
	if it.MailboxID != 0 {
		if d.Failures, err = s.Store.Failures(ctx, it.MailboxID); err != nil {
			return nil, err
		}
		if d.Folders, err = s.Store.FolderProgress(ctx, it.MailboxID); err != nil {
			return nil, err
		}
	}
	if it.DAVMailboxID != 0 {
		if d.WorkloadFailures, err = s.Store.DAVFailures(ctx, it.DAVMailboxID); err != nil {
			return nil, err
		}
		if d.WorkloadCopied, err = s.Store.DAVCounts(ctx, it.DAVMailboxID); err != nil {
			return nil, err
		}
	}
	if auth.Authorize(auth.PrincipalFrom(ctx), auth.ActionSetCredentials, p.CustomerID) != nil {
		for i := range d.History {
			d.History[i].Error = imapconn.HideServerWords(d.History[i].Error)
		}
		for i := range d.Failures {
			d.Failures[i].ServerText = imapconn.HideServerWords(d.Failures[i].ServerText)
		}
		for i := range d.WorkloadFailures {
			d.WorkloadFailures[i].Error = imapconn.HideServerWords(d.WorkloadFailures[i].Error)
		}
	}
	return d, nil
}
