package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
)

// demoData is what `ferry serve --demo` set up.
type demoData struct {
	banner  string // the sign-in details, printed and shown on the sign-in page
	servers []*memServer
}

func (d *demoData) close() {
	for _, s := range d.servers {
		s.srv.Close()
	}
}

// setUpDemo fills a new database with a customer, an engagement from the
// playbook and a mailbox project of generated mailboxes between two
// in-process IMAP servers, and makes an account to sign in with for each
// kind of person who runs a migration.
func setUpDemo(ctx context.Context, a *app.App, mailboxes, messages int) (*demoData, error) {
	const mailPassword = "demo-mail-password"
	var users []string
	for i := range mailboxes {
		users = append(users, fmt.Sprintf("user%02d@contoso.example", i+1))
	}
	d := &demoData{}
	src, err := startMemServer(users, mailPassword)
	if err != nil {
		return nil, err
	}
	d.servers = append(d.servers, src)
	dst, err := startMemServer(users, mailPassword)
	if err != nil {
		d.close()
		return nil, err
	}
	d.servers = append(d.servers, dst)
	for i, u := range users {
		c := corpus.Generate(corpus.Spec{Seed: int64(i + 1), Messages: messages, Folders: 6, MaxSize: 1 << 20})
		if err := fill(ctx, src.addr, u, mailPassword, c); err != nil {
			d.close()
			return nil, fmt.Errorf("fill demo mailbox %s: %w", u, err)
		}
	}

	svc, eng := a.Service, a.Engagements
	// The demo is set up by the command line, acting as an administrator.
	ctx = commandLine(ctx)
	cust, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso (demo)", Domain: "contoso.example", Location: "Seattle", Industry: "Retail", Size: "600"})
	if err != nil {
		return nil, err
	}
	endpoint := func(name, addr string) (int64, error) {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		e, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: cust.ID, Name: name, Type: "imap", Host: host, Port: p,
			Security: "starttls", AllowPlaintext: true})
		return e.ID, err
	}
	srcID, err := endpoint("Old mail server (demo)", src.addr)
	if err != nil {
		return nil, err
	}
	dstID, err := endpoint("New mail server (demo)", dst.addr)
	if err != nil {
		return nil, err
	}
	proj, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: cust.ID, Name: "Mailboxes wave 1", SourceID: srcID, DestID: dstID})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if _, err := svc.AddItem(ctx, proj.ID, projects.ItemInput{Source: u, Dest: u, SourcePassword: mailPassword, DestPassword: mailPassword}); err != nil {
			return nil, err
		}
	}

	pw := auth.RandomToken(12)
	people := []auth.UserInput{
		{Email: "admin@ferry.example", Name: "Ada Admin", Role: string(auth.Administrator)},
		{Email: "partner@partner.example", Name: "Pat Partner", Role: string(auth.Partner), Customers: []int64{cust.ID}},
		{Email: "pm@contoso.example", Name: "Casey Customer", Role: string(auth.CustomerProjectManager), Customers: []int64{cust.ID}},
		{Email: "ftm@ferry.example", Name: "Fiona FastTrack", Role: string(auth.FastTrackManager)},
		{Email: "engineer@ferry.example", Name: "Eli Engineer", Role: string(auth.FastTrackEngineer)},
	}
	for _, p := range people {
		p.Password = pw
		if _, err := a.People.CreateUser(ctx, p); err != nil {
			return nil, err
		}
	}
	e, _, err := eng.Create(ctx, engagements.Input{CustomerID: cust.ID, Name: "Contoso onboarding", Seats: 600,
		Services: []string{"core", "exchange", "teams"}, Workloads: []string{"imap"}})
	if err != nil {
		return nil, err
	}
	if err := eng.Assign(ctx, e.ID, "ftm", people[0].Email); err != nil {
		return nil, err
	}
	// Each person holds their role on the engagement, as the playbook names them.
	for _, a := range []struct{ role, person string }{{"frp", people[1].Email}, {"customer-pm", people[2].Email},
		{"ftm", people[3].Email}, {"engineer", people[4].Email}} {
		if err := eng.Assign(ctx, e.ID, a.role, a.person); err != nil {
			return nil, err
		}
	}
	// Migration passes wait for core onboarding and identity sync; the demo
	// lets them run now, and the override stays on the record.
	ftm := auth.WithPrincipal(ctx, &auth.Principal{Name: people[0].Email, Kind: auth.KindSession, Role: auth.Role(people[0].Role)})
	if _, err := eng.Override(ftm, cust.ID, engagements.OverrideInput{Reason: "Demo: mail may move before onboarding completes"}); err != nil {
		return nil, err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Demo data: customer %q, engagement %q, project %q with %d mailboxes of %d messages.\n",
		cust.Name, e.Name, proj.Name, mailboxes, messages)
	fmt.Fprintf(&b, "Sign in with one of these accounts (password for all: %s):\n", pw)
	for _, p := range people {
		fmt.Fprintf(&b, "  %-26s %s\n", p.Email, auth.Role(p.Role).Title())
	}
	d.banner = b.String()
	return d, nil
}
