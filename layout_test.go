// The rules of Ferry's layout that no compiler checks: every package is
// named in the docs, the doors (command line, REST API, portal) reach the
// store only through services for what they change, and a clone needs
// nothing beside it.
package ferry_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ferryhq/ferry/"

// packages lists the directories under the roots that hold a Go package
// (non-test files), one level down: internal/store/sqlstore is described
// with internal/store.
func packages(t *testing.T, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		ents, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() && len(goFiles(t, filepath.Join(root, e.Name()))) > 0 {
				out = append(out, root+"/"+e.Name())
			}
		}
	}
	return out
}

// goFiles lists a directory's non-test Go files.
func goFiles(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ms, func(m string) bool { return strings.HasSuffix(m, "_test.go") })
}

// section returns the lines of a markdown file from the heading to the next
// heading of the same or a higher level.
func section(t *testing.T, file, heading string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == heading {
			in = true
			continue
		}
		if in && strings.HasPrefix(l, "#") && strings.Count(strings.Fields(l)[0], "#") <= strings.Count(strings.Fields(heading)[0], "#") {
			break
		}
		if in {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !in {
		t.Fatalf("%s has no %q", file, heading)
	}
	return lines
}

// TestEveryPackageIsDocumented: README's layout and docs/architecture.md's
// package list name every package under cmd/ and internal/ (and bench), one
// indented line each, and name no package that is gone.
func TestEveryPackageIsDocumented(t *testing.T) {
	t.Parallel()
	pkgs := append(packages(t, "cmd", "internal"), "bench")
	line := regexp.MustCompile(`^ {4}((?:cmd|internal|bench)[\w/]*)\s`)
	for _, doc := range []struct{ file, heading string }{
		{"README.md", "## Layout"},
		{"docs/architecture.md", "## Packages"},
	} {
		named := map[string]bool{}
		for _, l := range section(t, doc.file, doc.heading) {
			if m := line.FindStringSubmatch(l); m != nil {
				named[m[1]] = true
			}
		}
		for _, p := range pkgs {
			if !named[p] {
				t.Errorf("%s (%s) does not name %s", doc.file, doc.heading, p)
			}
		}
		for n := range named {
			if !slices.Contains(pkgs, n) {
				t.Errorf("%s (%s) names %s, which is not a package", doc.file, doc.heading, n)
			}
		}
	}
}

// imports lists what a package's non-test files import from Ferry.
func imports(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range goFiles(t, dir) {
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if rest, ok := strings.CutPrefix(p, module); ok {
				out[rest] = true
			}
		}
	}
	return out
}

// TestImportRules: a door (the command line, the REST API, the portal)
// changes things only through the services, which authorize, validate,
// write and audit; the services know no door; only the wiring opens the
// database.
func TestImportRules(t *testing.T) {
	t.Parallel()
	doors := []string{"internal/cli", "internal/api", "internal/web"}
	services := []string{"internal/customers", "internal/projects", "internal/engagements", "internal/auth",
		"internal/dnscheck", "internal/audit", "internal/jobs", "internal/preflight", "internal/store"}
	rules := []struct {
		pkg       string
		forbidden []string
		why       string
	}{
		{"internal/web", []string{"internal/engine", "internal/api", "internal/jobs", "internal/audit", "internal/imapconn", "internal/app"},
			"the portal calls services; they run the engine, queue jobs and audit"},
		{"internal/api", []string{"internal/engine", "internal/web", "internal/jobs", "internal/audit", "internal/imapconn", "internal/app"},
			"the API calls services; they run the engine, queue jobs and audit"},
		{"internal/engine", []string{"internal/projects", "internal/jobs", "internal/auth", "internal/audit"},
			"the engine copies one mailbox on its own state (store.EngineState)"},
	}
	for _, s := range services {
		rules = append(rules, struct {
			pkg       string
			forbidden []string
			why       string
		}{s, append(slices.Clone(doors), "internal/app"), "a service serves every door alike"})
	}
	for _, r := range rules {
		got := imports(t, r.pkg)
		for _, f := range r.forbidden {
			if got[f] {
				t.Errorf("%s imports %s: %s", r.pkg, f, r.why)
			}
		}
	}
	// The database is opened by the wiring (internal/app) and by the
	// command line's standalone `ferry migrate`; everything else asks
	// for the store's interfaces.
	for _, p := range packages(t, "cmd", "internal") {
		if p == "internal/app" || p == "internal/cli" || p == "internal/store" {
			continue
		}
		if imports(t, p)["internal/store/sqlstore"] {
			t.Errorf("%s imports internal/store/sqlstore: ask for the store's interfaces (internal/store)", p)
		}
	}
}

// TestNothingOutsideTheClone: no Go file (tests included) reads a path
// above the repository, such as the seed documents in ../shared: facts
// from outside are copied into the package's testdata.
func TestNothingOutsideTheClone(t *testing.T) {
	t.Parallel()
	outside := regexp.MustCompile(`"(\.\./)+shared|shared/seeds`)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || path == "layout_test.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if loc := outside.FindIndex(b); loc != nil {
			t.Errorf("%s reads outside the repository: %s", path, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// storeReads are the store methods the command line may call on the
// opened app's store (a.Store): reads. A change goes through a service
// (a.Customers, a.Service, a.Engagements, a.People, a.DNS), which
// authorizes, validates, writes and audits; the portal and the API hold
// read-only interfaces (web.Reader, the API's reader) and cannot write.
var storeReads = []string{
	"ChecklistItems", "CountUsers", "Customer", "Endpoint", "Endpoints", "Engagement", "EngagementDomains",
	"EngagementTask", "EngagementTasks", "EngagementsOf", "Events", "Items", "PostMigrationIssues", "Project",
	"ProjectsOf", "TaskEvents", "TimeEntries", "Tokens", "User", "Users",
}

// TestCommandLineOnlyReadsTheStore: the command line calls no store
// method on the app's store but the reads in storeReads.
func TestCommandLineOnlyReadsTheStore(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	calls := 0
	for _, f := range goFiles(t, "internal/cli") {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			m, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			st, ok := m.X.(*ast.SelectorExpr)
			if !ok || st.Sel.Name != "Store" {
				return true
			}
			if app, ok := st.X.(*ast.Ident); !ok || app.Name != "a" {
				return true
			}
			calls++
			if !slices.Contains(storeReads, m.Sel.Name) {
				t.Errorf("%s: a.Store.%s: the command line changes things through a service (and a read belongs in storeReads)",
					fset.Position(call.Pos()), m.Sel.Name)
			}
			return true
		})
	}
	if calls == 0 {
		t.Fatal("no a.Store call found in internal/cli: the test no longer looks where the command line reads")
	}
}
