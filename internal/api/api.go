// Package api is Ferry's REST API: /api/v1/..., JSON over HTTP, on the
// services (internal/customers, internal/projects, internal/engagements),
// so that it validates and behaves like the CLI and the portal. It speaks
// its own types (dto.go), not the store's rows. Every request carries an
// API token (Authorization: Bearer fy_...), made with `ferry token create
// --name NAME`; openapi.json (served to anyone at /api/v1/openapi.json)
// describes every route.
//
// Mount the handler at /api/v1/:
//
//	mux.Handle("/api/v1/", api.New(svc, st))
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/metrics"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Body size limits.
const (
	maxJSONBody   = 1 << 20  // 1 MB
	maxImportBody = 10 << 20 // 10 MB of CSV
)

// Options tune the handler; the zero value is the default.
type Options struct {
	// Authenticators are asked in turn who made a request; the first to
	// recognise its credentials decides. Default: API tokens in the store.
	// Sign-in sessions of the portal slot in here.
	Authenticators []Authenticator
	// Authorize decides whether a principal may do an action on a customer's
	// resources (customerID 0: no particular customer), before a handler
	// reads or decodes anything. Default: Authorize. The services check
	// writes again with auth.Authorize, whatever this says.
	Authorize func(p *Principal, action Action, customerID int64) error
	// Log receives unexpected errors (answered with 500); default slog.Default().
	Log *slog.Logger
	// Engagements serves the onboarding engagement routes. Default: a
	// service on st with the default playbook.
	Engagements *engagements.Service
	// Customers changes customers and endpoints. Default: a service on st
	// sealing with svc's sealer.
	Customers *customers.Service
	// DNS serves the domains, DNS checks and MX cutover routes. Default: a
	// service on st queueing on svc's queue.
	DNS *dnscheck.Service
}

// New returns the API handler for the service, authenticating API tokens of st.
func New(svc *projects.Service, st store.Store) http.Handler {
	return NewWithOptions(svc, st, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(svc *projects.Service, st store.Store, opt Options) http.Handler {
	s := &server{svc: svc, st: st, eng: opt.Engagements, customers: opt.Customers, dns: opt.DNS, auth: opt.Authenticators, authorize: opt.Authorize, log: opt.Log}
	if s.dns == nil {
		s.dns = &dnscheck.Service{Store: st, Queue: svc.Queue}
	}
	if s.customers == nil {
		s.customers = customers.New(st, svc.Sealer, svc)
	}
	if s.eng == nil {
		s.eng = &engagements.Service{Store: st, Playbook: playbook.Default()}
	}
	if s.auth == nil {
		s.auth = []Authenticator{TokenAuthenticator{Store: st}}
	}
	if s.authorize == nil {
		s.authorize = Authorize
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.mux = http.NewServeMux()
	for _, rt := range routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.handler(rt))
	}
	s.mux.HandleFunc("/", s.noRoute)
	return s
}

// server is the API handler.
type server struct {
	svc       *projects.Service
	st        reader
	eng       *engagements.Service
	customers *customers.Service
	dns       *dnscheck.Service
	auth      []Authenticator
	authorize func(p *Principal, action Action, customerID int64) error
	log       *slog.Logger
	mux       *http.ServeMux
}

// route is one operation of the API. routes is the single list the mux is
// built from; openapi.json describes exactly these (see openapi_test.go).
type route struct {
	Method, Path string
	Action       Action
	handle       func(s *server, w http.ResponseWriter, r *http.Request) error
}

var routes = []route{
	{"GET", "/api/v1/customers", auth.ActionListCustomers, (*server).listCustomers},
	{"POST", "/api/v1/customers", auth.ActionCreateCustomer, (*server).createCustomer},
	{"GET", "/api/v1/customers/{id}", auth.ActionReadCustomer, (*server).getCustomer},
	{"DELETE", "/api/v1/customers/{id}", auth.ActionDeleteCustomer, (*server).deleteCustomer},

	{"GET", "/api/v1/customers/{id}/endpoints", auth.ActionListEndpoints, (*server).listEndpoints},
	{"POST", "/api/v1/customers/{id}/endpoints", auth.ActionCreateEndpoint, (*server).createEndpoint},
	{"GET", "/api/v1/endpoints/{id}", auth.ActionReadEndpoint, (*server).getEndpoint},
	{"DELETE", "/api/v1/endpoints/{id}", auth.ActionDeleteEndpoint, (*server).deleteEndpoint},
	{"PUT", "/api/v1/endpoints/{id}/credentials", auth.ActionSetCredentials, (*server).setCredentials},
	{"PUT", "/api/v1/endpoints/{id}/locations", auth.ActionSetCredentials, (*server).setLocations},
	{"GET", "/api/v1/endpoint-types", auth.ActionReadEndpointTypes, (*server).endpointTypes},

	{"GET", "/api/v1/customers/{id}/projects", auth.ActionListProjects, (*server).listProjects},
	{"POST", "/api/v1/customers/{id}/projects", auth.ActionCreateProject, (*server).createProject},
	{"GET", "/api/v1/projects/{id}", auth.ActionReadProject, (*server).getProject},
	{"GET", "/api/v1/projects/{id}/throughput", auth.ActionReadProject, (*server).getThroughput},
	{"GET", "/api/v1/projects/{id}/next-passes", auth.ActionReadProject, (*server).nextPasses},
	{"GET", "/api/v1/projects/{id}/mailbox-statistics", auth.ActionReadProject, (*server).mailboxStatistics},
	{"PATCH", "/api/v1/projects/{id}/settings", auth.ActionUpdateSettings, (*server).updateSettings},
	{"POST", "/api/v1/projects/{id}/close", auth.ActionCloseProject, (*server).closeProject},
	{"POST", "/api/v1/projects/{id}/preflight", auth.ActionStartPass, (*server).startPreflight},
	{"GET", "/api/v1/projects/{id}/preflight", auth.ActionReadProject, (*server).getPreflight},

	{"GET", "/api/v1/projects/{id}/items", auth.ActionListItems, (*server).listItems},
	{"POST", "/api/v1/projects/{id}/items", auth.ActionCreateItem, (*server).createItem},
	{"PATCH", "/api/v1/projects/{id}/items", auth.ActionEditItem, (*server).editItems},
	{"POST", "/api/v1/projects/{id}/items/import", auth.ActionImportItems, (*server).importItems},
	{"GET", "/api/v1/items/{id}", auth.ActionReadItem, (*server).getItem},
	{"PATCH", "/api/v1/items/{id}", auth.ActionEditItem, (*server).editItem},
	{"DELETE", "/api/v1/items/{id}", auth.ActionDeleteItems, (*server).deleteItem},
	{"POST", "/api/v1/projects/{id}/items/delete", auth.ActionDeleteItems, (*server).deleteItems},

	{"POST", "/api/v1/projects/{id}/passes", auth.ActionStartPass, (*server).startPass},
	{"POST", "/api/v1/projects/{id}/stop", auth.ActionStop, (*server).stop},

	{"POST", "/api/v1/projects/{id}/waves/plan", auth.ActionReadProject, (*server).planWaves},
	{"POST", "/api/v1/projects/{id}/waves", auth.ActionAcceptWaves, (*server).acceptWaves},
	{"GET", "/api/v1/projects/{id}/waves", auth.ActionReadProject, (*server).listWaves},

	{"GET", "/api/v1/customers/{id}/engagements", auth.ActionListEngagements, (*server).listEngagements},
	{"POST", "/api/v1/customers/{id}/engagements", auth.ActionCreateEngagement, (*server).createEngagement},
	{"GET", "/api/v1/engagements/{id}", auth.ActionReadEngagement, (*server).getEngagement},
	{"PATCH", "/api/v1/engagements/{id}/scope", auth.ActionChangeScope, (*server).changeScope},
	{"GET", "/api/v1/engagements/{id}/tasks", auth.ActionListTasks, (*server).listTasks},
	{"PATCH", "/api/v1/tasks/{id}", auth.ActionUpdateTask, (*server).updateTask},
	{"POST", "/api/v1/tasks/{id}/time", auth.ActionLogTime, (*server).logTime},
	{"GET", "/api/v1/tasks/{id}/history", auth.ActionReadTaskHistory, (*server).taskHistory},
	{"POST", "/api/v1/engagements/{id}/people", auth.ActionAssign, (*server).assign},
	{"DELETE", "/api/v1/engagements/{id}/people", auth.ActionAssign, (*server).unassign},
	{"GET", "/api/v1/people/{person}/tasks", auth.ActionListPersonTasks, (*server).personTasks},
	{"GET", "/api/v1/engagements/{id}/gates", auth.ActionReadGates, (*server).gates},
	{"POST", "/api/v1/engagements/{id}/phases/{phase}/exit", auth.ActionExitPhase, (*server).exitPhase},
	{"GET", "/api/v1/customers/{id}/migration-gate", auth.ActionReadMigrationGate, (*server).migrationGate},
	{"POST", "/api/v1/customers/{id}/migration-gate/override", auth.ActionOverrideGate, (*server).overrideGate},
	{"POST", "/api/v1/customers/{id}/migration-gate/overrides/{override}/revoke", auth.ActionOverrideGate, (*server).revokeOverride},
	{"GET", "/api/v1/engagements/{id}/checklist", auth.ActionListChecklist, (*server).listChecklist},
	{"POST", "/api/v1/engagements/{id}/checklist", auth.ActionAddChecklistItem, (*server).addChecklistItem},
	{"PATCH", "/api/v1/engagements/{id}/checklist/{item}", auth.ActionUpdateChecklistItem, (*server).updateChecklistItem},
	{"POST", "/api/v1/engagements/{id}/checklist/{item}/waive", auth.ActionUpdateChecklistItem, (*server).waiveChecklistItem},
	{"GET", "/api/v1/engagements/{id}/post-migration-issues", auth.ActionListIssues, (*server).listIssues},
	{"POST", "/api/v1/engagements/{id}/post-migration-issues", auth.ActionReportIssue, (*server).reportIssue},
	{"PATCH", "/api/v1/engagements/{id}/post-migration-issues/{issue}", auth.ActionUpdateIssue, (*server).updateIssue},
	{"GET", "/api/v1/engagements/{id}/post-migration-issues/{issue}/history", auth.ActionListIssues, (*server).issueHistory},
	{"GET", "/api/v1/engagements/{id}/events", auth.ActionListEvents, (*server).listEvents},
	{"POST", "/api/v1/engagements/{id}/events", auth.ActionScheduleEvent, (*server).scheduleEvent},
	{"GET", "/api/v1/engagements/{id}/events/upcoming", auth.ActionListEvents, (*server).upcomingEvents},
	{"GET", "/api/v1/engagements/{id}/progress", auth.ActionReadProgress, (*server).progress},
	{"GET", "/api/v1/engagements/{id}/report", auth.ActionReadReport, (*server).report},
	{"GET", "/api/v1/playbook", auth.ActionReadPlaybook, (*server).playbook},
	{"GET", "/api/v1/engagements/{id}/success-plan", auth.ActionReadEngagement, (*server).successPlan},
	{"PUT", "/api/v1/engagements/{id}/success-plan", auth.ActionSetSuccessPlan, (*server).setSuccessPlan},
	{"GET", "/api/v1/engagements/{id}/go-no-go", auth.ActionReadEngagement, (*server).goNoGoDecisions},
	{"POST", "/api/v1/engagements/{id}/go-no-go", auth.ActionDecideGoNoGo, (*server).decideGoNoGo},
	{"GET", "/api/v1/engagements/{id}/figures", auth.ActionReadEngagement, (*server).figures},
	{"GET", "/api/v1/engagements/{id}/responsibilities", auth.ActionReadEngagement, (*server).responsibilities},
	{"POST", "/api/v1/engagements/{id}/responsibilities/{key}", auth.ActionTickResponsibility, (*server).tickResponsibility},

	{"GET", "/api/v1/engagements/{id}/domains", auth.ActionListDomains, (*server).listDomains},
	{"POST", "/api/v1/engagements/{id}/domains", auth.ActionManageDomains, (*server).addDomain},
	{"DELETE", "/api/v1/engagements/{id}/domains/{domain}", auth.ActionManageDomains, (*server).removeDomain},
	{"GET", "/api/v1/engagements/{id}/dns-check", auth.ActionCheckDNS, (*server).checkDNS},
	{"POST", "/api/v1/engagements/{id}/domains/{domain}/cutover", auth.ActionCutover, (*server).cutover},

	{"GET", "/api/v1/openapi.json", auth.ActionReadOpenAPI, (*server).openAPI},
}

// publicPaths are served without credentials: the API's description, as
// API documents conventionally are. It says what the API offers, nothing
// of anyone's data.
var publicPaths = map[string]bool{"GET /api/v1/openapi.json": true}

// ServeHTTP authenticates the request, then routes it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if publicPaths[r.Method+" "+r.URL.Path] {
		s.mux.ServeHTTP(w, r)
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
}

// handler runs one route's handler and answers its error.
func (s *server) handler(rt route) http.Handler {
	limit := int64(maxJSONBody)
	if strings.HasSuffix(rt.Path, "/import") || rt.Method == "POST" && strings.Contains(rt.Path, "/waves") {
		// CSV files (a permissions export, a mailbox list) in the body.
		limit = maxImportBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.NoteRoute(r) // ServeHTTP routes a copy of the request: its pattern is noted for the HTTP metrics
		r = r.WithContext(withAction(r.Context(), rt.Action))
		// Whatever a handler does, no body is read for a role that may not
		// do the operation, nor beyond the operation's limit.
		if public := publicPaths[rt.Method+" "+rt.Path]; !public {
			if err := auth.Capable(PrincipalFrom(r.Context()), rt.Action); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := rt.handle(s, w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// noRoute answers paths no route serves: 405 when another method would do, else 404.
func (s *server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := *r
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, ", ")})
		return
	}
	s.writeError(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound,
		Message: "there is no API path " + r.URL.Path + "; see /api/v1/openapi.json"})
}

// RouteInfo describes one operation of the API.
type RouteInfo struct {
	Method, Path string
	Action       auth.Action
}

// Routes lists the API's operations and the action each is authorized as.
func Routes() []RouteInfo {
	out := make([]RouteInfo, len(routes))
	for i, rt := range routes {
		out[i] = RouteInfo{rt.Method, rt.Path, rt.Action}
	}
	return out
}
