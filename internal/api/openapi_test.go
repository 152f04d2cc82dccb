package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/fault"
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
	"Problem": Error{},
}

// untypedSchemas are the schemas with no Go type of their own: enums, and
// the lists written as {"customers": [...]}.
var untypedSchemas = []string{"Status", "TaskStatus", "CustomerList", "EndpointList", "EndpointTypeList", "ProjectList",
	"EngagementList", "GateList", "PeopleList", "EngagementTaskList", "ChecklistList", "IssueList", "EventList", "IssueEventList", "MailboxStatisticList", "OccurrenceList", "WaveList", "GoNoGoList", "FiguresList", "ResponsibilityList", "NextPassList"}

// notSchemas are the package's exported struct types that are not on the
// wire, or not under their own name (Error is the Problem schema).
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
}

// TestOpenAPIProblems: every error answer an operation documents (4xx, 5xx
// and default, the one for any other status) is problem details of the
// Problem schema; every operation documents them all, default included;
// and the schema's codes are exactly the API's, each with its title.
func TestOpenAPIProblems(t *testing.T) {
	t.Parallel()
	_, tree := loadOpenAPI(t)
	root := tree.(map[string]any)
	components := root["components"].(map[string]any)
	resolve := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
			m, _ = components[kind].(map[string]any)[name].(map[string]any)
		}
		return m
	}
	n := 0
	for path, ops := range root["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			key := strings.ToUpper(method) + " " + path
			responses := op.(map[string]any)["responses"].(map[string]any)
			if responses["default"] == nil {
				t.Errorf("%s: no default answer (the problem of a 405, 500 or 503)", key)
			}
			for status, r := range responses {
				if status != "default" && status < "400" {
					continue
				}
				n++
				content, _ := resolve(r)["content"].(map[string]any)
				media, _ := content["application/problem+json"].(map[string]any)
				schema, _ := media["schema"].(map[string]any)
				if len(content) != 1 || schema["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("%s %s: answers %v, want application/problem+json of the Problem schema", key, status, content)
				}
			}
		}
	}
	if n < 400 {
		t.Errorf("only %d error answers described", n)
	}
	problemSchema := components["schemas"].(map[string]any)["Problem"].(map[string]any)
	var codes []string
	for _, c := range problemSchema["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any) {
		codes = append(codes, c.(string))
	}
	var titled []string
	for c := range problemTitles {
		titled = append(titled, c)
	}
	slices.Sort(codes)
	slices.Sort(titled)
	if !slices.Equal(codes, titled) {
		t.Errorf("the Problem schema's codes are %v; the API's (with titles) %v", codes, titled)
	}
	for _, k := range fault.Kinds() {
		if problemTitles[k.String()] == "" {
			t.Errorf("fault kind %s has no title", k)
		}
		if k != fault.Internal && statusOf[k] < 400 {
			t.Errorf("fault kind %s has no HTTP status", k)
		}
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
			var r io.Reader
			if body != nil {
				r = strings.NewReader(body.(string))
			}
			resp, b := e.send(method, strings.ReplaceAll(path, "{id}", "999999"), "Bearer "+e.token, "application/json", r)
			code := resp.StatusCode
			if code == 405 || code == 401 || code >= 500 {
				t.Errorf("%s %s: %d %s", method, path, code, b)
			}
			if code == 404 && strings.Contains(string(b), "there is no API path") {
				t.Errorf("%s %s: not routed: %s", method, path, b)
			}
			if code >= 400 {
				checkDocumentedProblem(t, method, path, resp.Header, code, b)
			}
		}
	}
	code, b := e.call("GET", "/api/v1/openapi.json", nil)
	if code != 200 || string(b) != string(openAPIDocument) {
		t.Fatalf("GET /api/v1/openapi.json: %d", code)
	}
}

// checkDocumentedProblem checks the error answer of a real handler against
// what openapi.json says of the operation serving the path (a template or
// a path of the API): problem details, of a status (or default) documented
// for the operation, that fit the schema documented for it.
func checkDocumentedProblem(t *testing.T, method, path string, h http.Header, code int, b []byte) {
	t.Helper()
	for _, msg := range documentedProblem(method, path, h, code, b) {
		t.Error(msg)
	}
}

// documentedProblem is what is wrong with an error answer for
// checkDocumentedProblem; nothing for an answer to a path no operation
// serves (a 404 or 405 of the router), but problem details.
func documentedProblem(method, path string, h http.Header, code int, b []byte) []string {
	var out []string
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		out = append(out, fmt.Sprintf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, code, ct))
	}
	tree := openAPITree()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return append(out, fmt.Sprintf("%s %s: %d and not JSON: %s", method, path, code, b))
	}
	root := tree.(map[string]any)
	var op map[string]any
	for template, ops := range root["paths"].(map[string]any) {
		if o, ok := ops.(map[string]any)[strings.ToLower(method)].(map[string]any); ok && pathMatches(template, path) {
			op = o
		}
	}
	if op == nil {
		for _, msg := range validateSchema(tree, map[string]any{"$ref": "#/components/schemas/Problem"}, v, "") {
			out = append(out, fmt.Sprintf("%s %s: %d: the Problem schema refuses the answer: %s\n%s", method, path, code, msg, b))
		}
		return out
	}
	responses, _ := op["responses"].(map[string]any)
	r, documented := responses[strconv.Itoa(code)]
	if !documented {
		r = responses["default"]
	}
	if m, _ := r.(map[string]any); m["$ref"] != nil {
		name := strings.TrimPrefix(m["$ref"].(string), "#/components/responses/")
		r = root["components"].(map[string]any)["responses"].(map[string]any)[name]
	}
	content, _ := r.(map[string]any)["content"].(map[string]any)
	media, _ := content["application/problem+json"].(map[string]any)
	if media == nil {
		return append(out, fmt.Sprintf("%s %s answers %d, which openapi.json does not describe as problem details: %s", method, path, code, b))
	}
	for _, msg := range validateSchema(tree, media["schema"], v, "") {
		out = append(out, fmt.Sprintf("%s %s: %d: the documented schema refuses the answer: %s\n%s", method, path, code, msg, b))
	}
	if !documented && code != 405 && code < 500 {
		out = append(out, fmt.Sprintf("%s %s: %d is not documented for the operation: %s", method, path, code, b))
	}
	return out
}

// openAPITree is openapi.json decoded, once for the test binary.
var openAPITree = sync.OnceValue(func() any {
	var tree any
	if err := json.Unmarshal(openAPIDocument, &tree); err != nil {
		panic(err)
	}
	return tree
})

// pathMatches reports whether a path (without its query) is one the path
// template of openapi.json serves; a template matches itself.
func pathMatches(template, path string) bool {
	path, _, _ = strings.Cut(path, "?")
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] != ps[i] && !(strings.HasPrefix(ts[i], "{") && ps[i] != "") {
			return false
		}
	}
	return true
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

// validateSchema checks a decoded JSON value against a schema of the
// OpenAPI document tree, with the keywords openapi.json uses: $ref, allOf,
// type (and nullable), enum, properties, required, additionalProperties,
// items, minimum and maximum. It returns what does not fit, each named by
// its JSON path.
func validateSchema(tree any, schema any, v any, path string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		target := tree
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := target.(map[string]any)
			target = m[part]
		}
		if target == nil {
			return []string{fmt.Sprintf("%s: $ref %q resolves to nothing", path, ref)}
		}
		return validateSchema(tree, target, v, path)
	}
	at := path
	if at == "" {
		at = "(the document)"
	}
	var out []string
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			out = append(out, validateSchema(tree, sub, v, path)...)
		}
	}
	if v == nil {
		if nullable, _ := s["nullable"].(bool); !nullable && s["type"] != nil {
			out = append(out, at+": null, and the schema is not nullable")
		}
		return out
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		out = append(out, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	typ, _ := s["type"].(string)
	switch x := v.(type) {
	case map[string]any:
		if typ != "" && typ != "object" {
			return append(out, fmt.Sprintf("%s: an object, the schema says %s", at, typ))
		}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s: no %q, which is required", at, r))
			}
		}
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			if ps, ok := props[k]; ok {
				out = append(out, validateSchema(tree, ps, x[k], path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					out = append(out, fmt.Sprintf("%s: member %q is not in the schema", at, k))
				}
			case map[string]any:
				out = append(out, validateSchema(tree, ap, x[k], path+"."+k)...)
			}
		}
	case []any:
		if typ != "" && typ != "array" {
			return append(out, fmt.Sprintf("%s: an array, the schema says %s", at, typ))
		}
		for i, item := range x {
			out = append(out, validateSchema(tree, s["items"], item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case string:
		if typ != "" && typ != "string" {
			out = append(out, fmt.Sprintf("%s: a string, the schema says %s", at, typ))
		}
	case bool:
		if typ != "" && typ != "boolean" {
			out = append(out, fmt.Sprintf("%s: a boolean, the schema says %s", at, typ))
		}
	case float64:
		switch {
		case typ == "integer" && x != float64(int64(x)):
			out = append(out, fmt.Sprintf("%s: %v is not a whole number", at, x))
		case typ != "" && typ != "integer" && typ != "number":
			out = append(out, fmt.Sprintf("%s: a number, the schema says %s", at, typ))
		}
		if m, ok := s["minimum"].(float64); ok && x < m {
			out = append(out, fmt.Sprintf("%s: %v is under the minimum %v", at, x, m))
		}
		if m, ok := s["maximum"].(float64); ok && x > m {
			out = append(out, fmt.Sprintf("%s: %v is over the maximum %v", at, x, m))
		}
	}
	return out
}

// TestValidateSchema: the validator the wire tests lean on refuses what it should.
func TestValidateSchema(t *testing.T) {
	t.Parallel()
	tree := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"Thing": map[string]any{"type": "object", "required": []any{"id"}, "additionalProperties": false, "properties": map[string]any{
			"id":   map[string]any{"type": "integer", "minimum": 1.0},
			"kind": map[string]any{"type": "string", "enum": []any{"a", "b"}},
			"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"note": map[string]any{"type": "string", "nullable": true},
		}},
	}}}
	ref := map[string]any{"$ref": "#/components/schemas/Thing"}
	for _, tc := range []struct {
		doc  string
		want string // "" when it fits
	}{
		{`{"id": 1, "kind": "a", "tags": ["x"], "note": null}`, ""},
		{`{"kind": "a"}`, `no "id"`},
		{`{"id": 0}`, "under the minimum"},
		{`{"id": 1.5}`, "not a whole number"},
		{`{"id": "1"}`, "the schema says integer"},
		{`{"id": 1, "kind": "c"}`, "not one of"},
		{`{"id": 1, "tags": [1]}`, ".tags[0]: a number"},
		{`{"id": 1, "colour": "red"}`, `member "colour"`},
		{`{"id": 1, "kind": null}`, "not nullable"},
		{`[]`, "an array"},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(validateSchema(tree, ref, v, ""), "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.doc, got, tc.want)
		}
	}
}
