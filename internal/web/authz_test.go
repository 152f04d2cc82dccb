package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/api"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// tenant is one customer's resources, for guessing its ids into URLs.
type tenant struct {
	customer   store.Customer
	endpoint   store.Endpoint
	project    store.Project
	item       store.Item
	engagement store.Engagement
	task       store.EngagementTask
	checklist  store.ChecklistItem
}

func makeTenant(t *testing.T, tp *testPortal, name string) tenant {
	t.Helper()
	ctx := asOperator(context.Background())
	svc := tp.app.Service
	var tn tenant
	var err error
	cs := tp.web.Customers
	if tn.customer, err = cs.CreateCustomer(operator(), customers.CustomerInput{Name: name, Domain: strings.ToLower(name) + ".example"}); err != nil {
		t.Fatal(err)
	}
	src, err := cs.CreateEndpoint(operator(), customers.EndpointInput{CustomerID: tn.customer.ID, Name: name + " old", Type: "dovecot", Host: "old." + name + ".example",
		AdminUser: "admin", Password: "endpoint-secret-" + name})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := cs.CreateEndpoint(operator(), customers.EndpointInput{CustomerID: tn.customer.ID, Name: name + " new", Type: "office365", Host: "outlook.office365.com",
		AdminUser: "admin@" + name + ".example", Password: "endpoint-secret-" + name})
	if err != nil {
		t.Fatal(err)
	}
	tn.endpoint = src
	if tn.project, err = svc.CreateProject(ctx, projects.ProjectInput{CustomerID: tn.customer.ID, Name: name + " mail", SourceID: src.ID, DestID: dst.ID}); err != nil {
		t.Fatal(err)
	}
	if tn.item, err = svc.AddItem(ctx, tn.project.ID, projects.ItemInput{Source: "alice@" + name + ".example", Dest: "alice@" + name + ".onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	var tasks []store.EngagementTask
	if tn.engagement, tasks, err = tp.app.Engagements.Create(ctx, engagements.Input{CustomerID: tn.customer.ID, Name: name + " onboarding", Seats: 600,
		Services: []string{"core", "exchange"}, Workloads: []string{"imap"}}); err != nil {
		t.Fatal(err)
	}
	tn.task = tasks[0]
	if tn.checklist, err = tp.app.Engagements.AddChecklistItem(ctx, tn.engagement.ID, engagements.ChecklistInput{Title: "Fix UPNs", Severity: "high", Source: engagements.ChecklistSourcePerson}); err != nil {
		t.Fatal(err)
	}
	return tn
}

// fill puts a tenant's ids into a route's path parameters.
func (tn tenant) fill(path string, userID, tokenID int64) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		switch s {
		case "{$}":
			segs[i] = ""
		case "{item}":
			segs[i] = fmt.Sprint(tn.checklist.ID)
		case "{phase}":
			segs[i] = "Initiate"
		case "{person}":
			segs[i] = "pat@partner.example"
		case "{id}":
			segs[i] = fmt.Sprint(map[string]int64{"customers": tn.customer.ID, "endpoints": tn.endpoint.ID, "projects": tn.project.ID,
				"items": tn.item.ID, "engagements": tn.engagement.ID, "tasks": tn.task.ID, "users": userID, "tokens": tokenID}[prev])
		}
	}
	return strings.Join(segs, "/")
}

// TestEveryRouteChecksRoleAndTenant sends every API route and every page of
// the portal, for every role, with the ids of the person's own customer and
// of another customer guessed into the path: the answer must agree with
// the one authorization layer (auth.Authorize), never reveal another
// tenant, never be a server error; state-changing requests are only sent
// where they must be refused, so nothing changes.
func TestEveryRouteChecksRoleAndTenant(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	ctx := context.Background()
	a, b := makeTenant(t, tp, "Alpha"), makeTenant(t, tp, "Bravo")

	type person struct {
		p      *auth.Principal
		token  string
		client *client
	}
	people := map[auth.Role]*person{}
	var adminID, adminToken int64
	for _, ri := range auth.Roles {
		var cs []int64
		if !ri.AllCustomers {
			cs = []int64{a.customer.ID}
		}
		email := string(ri.Role) + "@people.example"
		u := tp.user(email, ri.Role, cs...)
		tok, _, err := tp.auth.CreateToken(operator(), u.ID, "t-"+string(ri.Role))
		if err != nil {
			t.Fatal(err)
		}
		people[ri.Role] = &person{p: auth.PrincipalOf(u, auth.KindSession), token: tok, client: tp.signedIn(email)}
		if ri.Role == auth.Administrator {
			adminID = u.ID
			toks, _ := tp.app.Store.Tokens(ctx)
			adminToken = toks[len(toks)-1].ID
		}
	}

	type req struct {
		method, path string
		action       auth.Action
		api          bool
	}
	var reqs []req
	for _, rt := range api.Routes() {
		reqs = append(reqs, req{rt.Method, rt.Path, rt.Action, true})
	}
	for _, rt := range pages {
		if rt.Public {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		reqs = append(reqs, req{method, path, rt.Action, false})
	}

	checked := 0
	for _, rq := range reqs {
		scoped := strings.Contains(rq.path, "{") && !strings.Contains(rq.path, "{$}")
		personal := strings.HasPrefix(rq.path, "/users/") || strings.HasPrefix(rq.path, "/account/") || strings.Contains(rq.path, "/people/{person}")
		for role, who := range people {
			for _, tn := range []tenant{a, b} {
				if !scoped && tn.customer.ID == b.customer.ID {
					continue // one try is enough for routes without ids
				}
				customer := tn.customer.ID
				if !scoped || personal {
					customer = 0
				}
				allowed := auth.Authorize(who.p, rq.action, customer) == nil
				if rq.action == auth.ActionListPersonTasks {
					allowed = true // answers everyone, filtered to what they see
				}
				if rq.method != "GET" && allowed {
					continue // would change data; covered by each feature's tests
				}
				path := tn.fill(rq.path, adminID, adminToken)
				var res response
				if rq.api {
					r, _ := http.NewRequest(rq.method, tp.srv.URL+path, strings.NewReader("{}"))
					r.Header.Set("Authorization", "Bearer "+who.token)
					r.Header.Set("Content-Type", "application/json")
					res = who.client.do(r)
				} else if strings.HasSuffix(path, "/live") {
					// An event stream never ends: look at its answer, then hang up.
					res = who.client.stream(path, 300*time.Millisecond)
				} else if rq.method == "GET" {
					res = who.client.get(path)
				} else {
					res = who.client.post(path, url.Values{})
				}
				checked++
				name := fmt.Sprintf("%s %s as %s (customer %s)", rq.method, path, role, tn.customer.Name)
				switch {
				case res.status >= 500:
					t.Errorf("%s: server error %d: %.300s", name, res.status, res.body)
				case allowed && (res.status == http.StatusUnauthorized || res.status == http.StatusForbidden):
					t.Errorf("%s: refused (%d) but the role may: %.300s", name, res.status, res.body)
				case !allowed && res.status != http.StatusForbidden && res.status != http.StatusNotFound:
					t.Errorf("%s: answered %d, want 403 or 404: %.300s", name, res.status, res.body)
				}
				if !who.p.SeesAll() && res.status < 300 && strings.Contains(res.body, "Bravo") {
					t.Errorf("%s: a person of customer Alpha was shown customer Bravo's data", name)
				}
			}
		}
	}
	if checked < 300 {
		t.Fatalf("only %d requests checked", checked)
	}

	// Every state-changing page refuses a request without the session's CSRF token.
	admin := people[auth.Administrator].client
	for _, rt := range pages {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if rt.Public || method == "GET" {
			continue
		}
		res := admin.post(a.fill(path, adminID, adminToken), url.Values{"csrf": {""}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s %s without a CSRF token: %d", method, path, res.status)
		}
	}
	// Nothing was changed by the refused requests.
	if cs, _ := tp.app.Store.Customers(ctx); len(cs) != 2 {
		t.Errorf("customers: %d, want 2", len(cs))
	}
	for _, tn := range []tenant{a, b} {
		it, _ := tp.app.Store.Item(ctx, tn.item.ID)
		if it.Status != store.StatusNotSubmitted {
			t.Errorf("item of %s is %s", tn.customer.Name, it.Status)
		}
		task, _ := tp.app.Store.EngagementTask(ctx, tn.task.ID)
		if task.Status != tn.task.Status || task.Notes != "" {
			t.Errorf("task of %s changed: %+v", tn.customer.Name, task)
		}
	}
}
