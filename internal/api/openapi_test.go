package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/projects"
)

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string                 `json:"operationId"`
	Security    *[]map[string][]string `json:"security"`
	Parameters  []struct {
		Ref string `json:"$ref"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	var tree any
	json.Unmarshal(openAPIDocument, &tree)
	return doc, tree
}

// TestOpenAPIMatchesRoutes: openapi.json describes exactly the routes served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, _ := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	if ss := doc.Components.SecuritySchemes["bearerAuth"]; ss.Type != "http" || ss.Scheme != "bearer" {
		t.Errorf("bearerAuth %+v", ss)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("security %v: want bearerAuth for every operation", doc.Security)
	}

	described := map[string]bool{}
	opIDs := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			key := strings.ToUpper(method) + " " + path
			described[key] = true
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if op.OperationID == "" || opIDs[op.OperationID] {
				t.Errorf("%s: operationId %q missing or repeated", key, op.OperationID)
			}
			opIDs[op.OperationID] = true
			public := op.Security != nil && len(*op.Security) == 0
			if public != publicPaths[key] {
				t.Errorf("%s: described as public: %v; served without credentials: %v", key, public, publicPaths[key])
			}
			if !public && (op.Responses["401"] == nil || op.Responses["403"] == nil) {
				t.Errorf("%s: no 401/403 answers", key)
			}
			hasID := slices.ContainsFunc(op.Parameters, func(p struct {
				Ref string `json:"$ref"`
			}) bool {
				return p.Ref == "#/components/parameters/Id"
			})
			if strings.Contains(path, "{id}") != hasID {
				t.Errorf("%s: the {id} path parameter is described: %v", key, hasID)
			}
			if hasID && (op.Responses["404"] == nil || op.Responses["400"] == nil) {
				t.Errorf("%s: no 400/404 answers", key)
			}
			if op.RequestBody != nil && op.Responses["400"] == nil {
				t.Errorf("%s: a body but no 400 answer", key)
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range routes {
		served[rt.Method+" "+rt.Path] = true
	}
	for k := range served {
		if !described[k] {
			t.Errorf("%s is served but not in openapi.json", k)
		}
	}
	for k := range described {
		if !served[k] {
			t.Errorf("%s is in openapi.json but not served", k)
		}
	}
}

// TestOpenAPIRefsResolve: every $ref points at a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	_, tree := loadOpenAPI(t)
	components := tree.(map[string]any)["components"].(map[string]any)
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					n++
					ref, _ := x.(string)
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
						t.Errorf("$ref %q", ref)
						continue
					}
					kind, _ := components[parts[0]].(map[string]any)
					if _, ok := kind[parts[1]]; !ok {
						t.Errorf("$ref %q: no such component", ref)
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	if n < 50 {
		t.Errorf("only %d $refs", n)
	}
}

// schemaTypes are the Go types each schema of openapi.json describes:
// the API's own types (DTOs), and the service's request and result types
// it reads and writes as they are.
var schemaTypes = map[string]any{
	"Customer": Customer{}, "CustomerInput": CustomerInput{},
	"Endpoint": Endpoint{}, "EndpointInput": EndpointInput{}, "Credentials": Credentials{}, "Locations": customers.Locations{},
	"EndpointType": EndpointType{},
	"Project":      Project{}, "ProjectInput": projects.ProjectInput{}, "Settings": projects.Settings{},
	"Item": Item{}, "ItemInput": projects.ItemInput{}, "ItemEdit": projects.ItemEdit{}, "ItemDeletion": ItemDeletion{}, "ItemsEdit": ItemsEdit{}, "EditedItems": EditedItems{}, "ItemList": ItemList{}, "ItemDetail": ItemDetail{}, "WorkloadFailure": WorkloadFailure{},
	"Run": Run{}, "Failure": Failure{}, "FolderProgress": FolderProgress{},
	"ImportResult": projects.ImportResult{}, "ImportRow": projects.ImportRow{}, "RowError": projects.RowError{},
	"Selection": projects.Selection{}, "PassRequest": projects.PassRequest{}, "PassResult": projects.PassResult{},
	"StopResult": StopResult{}, "MailboxStatistic": projects.MailboxStatistic{}, "NextPass": projects.NextPass{},
	"Throughput": Throughput{}, "Rate": Rate{}, "WorkerThroughput": WorkerThroughput{}, "HourMB": HourMB{},
	"WavePlanInput": projects.WavePlanInput{}, "WaveAcceptInput": projects.WaveAcceptInput{}, "WavePlan": WavePlan{}, "PlannedWave": PlannedWave{},
	"PlannedWaveMailbox": PlannedWaveMailbox{}, "WaveBatch": WaveBatch{}, "OversizedBatch": OversizedBatch{}, "WaveCut": WaveCut{},
	"IgnoredRows": IgnoredRows{}, "WaveRate": WaveRate{}, "Wave": Wave{}, "WaveItem": WaveItem{}, "WaveAcceptResult": WaveAcceptResult{},
	"Limits": Limits{}, "PreflightRun": PreflightRun{}, "Preflight": Preflight{}, "PreflightReport": PreflightReport{},
	"PreflightFinding": PreflightFinding{}, "PreflightMailbox": PreflightMailbox{},
}

// untypedSchemas are the schemas with no Go type of their own: the error
// envelope (checked against Error below), enums, and the lists written as
// {"customers": [...]}.
var untypedSchemas = []string{"Error", "Status", "TaskStatus", "CustomerList", "EndpointList", "EndpointTypeList", "ProjectList",
	"EngagementList", "GateList", "PeopleList", "EngagementTaskList", "ChecklistList", "IssueList", "EventList", "IssueEventList", "MailboxStatisticList", "OccurrenceList", "WaveList", "GoNoGoList", "FiguresList", "ResponsibilityList", "NextPassList"}

// notSchemas are the package's exported struct types that are not on the wire.
var notSchemas = []string{"Options", "RouteInfo", "TokenAuthenticator", "Error"}

// checkSchemas fails for each schema whose properties are not exactly the
// JSON fields of its Go type.
func checkSchemas(t *testing.T, doc openAPIDoc, types map[string]any) {
	t.Helper()
	for name, v := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		slices.Sort(props)
		if want := jsonFields(reflect.TypeOf(v)); !slices.Equal(props, want) {
			t.Errorf("schema %s has %v; the Go type %T has %v", name, props, v, want)
		}
		for _, r := range s.Required {
			if s.Properties[r] == nil {
				t.Errorf("schema %s requires %s, which it does not have", name, r)
			}
		}
	}
}

// TestOpenAPISchemasMatchTypes: the schemas have exactly the JSON fields of the Go types written and read.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc, _ := loadOpenAPI(t)
	checkSchemas(t, doc, schemaTypes)
	var env struct {
		Properties struct {
			Error struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"error"`
		} `json:"properties"`
	}
	raw, _ := json.Marshal(doc.Components.Schemas["Error"])
	json.Unmarshal(raw, &env)
	var props []string
	for p := range env.Properties.Error.Properties {
		props = append(props, p)
	}
	slices.Sort(props)
	if want := jsonFields(reflect.TypeOf(Error{})); !slices.Equal(props, want) {
		t.Errorf("schema Error has %v, the Go type %v", props, want)
	}
}

// TestRoutesServed: every described route reaches its handler (no 405, no
// fallback 404), and openapi.json is served as embedded.
func TestRoutesServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc, _ := loadOpenAPI(t)
	for path, ops := range doc.Paths {
		for method := range ops {
			method = strings.ToUpper(method)
			var body any
			if method != "GET" && method != "DELETE" {
				body = "{}"
			}
			code, b := e.call(method, strings.ReplaceAll(path, "{id}", "999999"), body)
			if code == 405 || code == 401 || code >= 500 {
				t.Errorf("%s %s: %d %s", method, path, code, b)
			}
			if code == 404 && strings.Contains(string(b), "there is no API path") {
				t.Errorf("%s %s: not routed: %s", method, path, b)
			}
			if code >= 400 {
				parseError(t, b)
			}
		}
	}
	code, b := e.call("GET", "/api/v1/openapi.json", nil)
	if code != 200 || string(b) != string(openAPIDocument) {
		t.Fatalf("GET /api/v1/openapi.json: %d", code)
	}
}

// TestOpenAPIIsPublic: anyone may read the description, with no token or
// a wrong one; the other routes still need a valid token.
func TestOpenAPIIsPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, authz := range []string{"", "Bearer fy_wrong", "Basic YWRtaW46YWRtaW4="} {
		resp, b := e.send("GET", "/api/v1/openapi.json", authz, "", nil)
		if resp.StatusCode != 200 || string(b) != string(openAPIDocument) {
			t.Errorf("GET /api/v1/openapi.json with %q: %d", authz, resp.StatusCode)
		}
		if resp, _ := e.send("GET", "/api/v1/customers", authz, "", nil); resp.StatusCode != 401 {
			t.Errorf("GET /api/v1/customers with %q: %d, want 401", authz, resp.StatusCode)
		}
	}
}

// TestOpenAPISchemasFollowTheWire: a DTO's fields are what the API writes,
// whatever the store row has: the answer to GET /customers/{id} has exactly
// the schema's fields.
func TestOpenAPISchemasFollowTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	doc, _ := loadOpenAPI(t)
	for _, tc := range []struct{ schema, path string }{
		{"Customer", fmt.Sprintf("/api/v1/customers/%d", f.customer.ID)},
		{"Endpoint", fmt.Sprintf("/api/v1/endpoints/%d", f.src.ID)},
	} {
		var got map[string]json.RawMessage
		e.must("GET", tc.path, nil, 200, &got)
		for k := range got {
			if doc.Components.Schemas[tc.schema].Properties[k] == nil {
				t.Errorf("GET %s answers %q, which schema %s does not have", tc.path, k, tc.schema)
			}
		}
		for _, k := range doc.Components.Schemas[tc.schema].Required {
			if got[k] == nil {
				t.Errorf("GET %s: no %q, which schema %s requires", tc.path, k, tc.schema)
			}
		}
	}
}

// TestEverySchemaHasItsType: no schema of openapi.json goes unchecked, and
// every wire type of the package (its exported structs) has a schema: a
// DTO added without documenting it, or a schema left behind, fails.
func TestEverySchemaHasItsType(t *testing.T) {
	t.Parallel()
	doc, _ := loadOpenAPI(t)
	typed := map[string]bool{}
	for name := range schemaTypes {
		typed[name] = true
	}
	for name := range engagementSchemaTypes {
		typed[name] = true
	}
	for name := range doc.Components.Schemas {
		if !typed[name] && !slices.Contains(untypedSchemas, name) {
			t.Errorf("schema %s is checked against no Go type: add it to schemaTypes (or untypedSchemas)", name)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, isStruct := ts.Type.(*ast.StructType); !isStruct || !ts.Name.IsExported() || slices.Contains(notSchemas, ts.Name.Name) {
					continue
				}
				if !typed[ts.Name.Name] {
					t.Errorf("%s: type %s is not described in openapi.json (or not in schemaTypes)", f, ts.Name.Name)
				}
			}
		}
	}
}
