package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// sumOf adds up the values of a family's series that have these labels.
func sumOf(families map[string]*dto.MetricFamily, name string, labels map[string]string) (sum float64, series int) {
	f := families[name]
	if f == nil {
		return 0, 0
	}
	for _, m := range f.Metric {
		match := 0
		for _, l := range m.Label {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		series++
		if m.Counter != nil {
			sum += m.Counter.GetValue()
		} else if m.Gauge != nil {
			sum += m.Gauge.GetValue()
		}
	}
	return sum, series
}

// TestServeAndWorkerServeMetricsHealthAndJSONLogs: `ferry serve` and
// `ferry worker` share a project on PostgreSQL, with --log-format json. A
// second project's endpoint has a wrong password. Then:
//   - each process answers /healthz and /readyz; serve's /metrics needs an
//     administrator's API token, the worker's (on its own --listen) does not;
//   - the messages and bytes copied, summed over the two workers' series,
//     are what the database recorded for the project's runs;
//   - the failed mailbox is counted by outcome and by failure kind;
//   - API requests are counted by route pattern, not by path;
//   - every line either process wrote on standard error is a JSON record,
//     and none holds the wrong password, the token or another credential.
func TestServeAndWorkerServeMetricsHealthAndJSONLogs(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 4, 15)
	a, p, db, keyFile := f.fullPassOnPostgres(t, 4)
	ctx := asOperator(context.Background())

	const wrongPassword = "wrong-pw-c81f20d7"
	c, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Fabrikam", Domain: "fabrikam.com"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []store.Endpoint
	for i, d := range []string{"old", "new"} {
		pw := "admin-pw"
		if i == 0 {
			pw = wrongPassword
		}
		host, port := f.src.Host, f.src.Port
		if i == 1 {
			host, port = f.dst.Host, f.dst.Port
		}
		e, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: d, Type: "dovecot", Host: host, Port: port,
			Security: "starttls", AllowPlaintext: true, AdminUser: "ferry-admin", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	bad, err := a.Service.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Wrong password", SourceID: eps[0].ID, DestID: eps[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Service.ImportItems(ctx, bad.ID, "bad.csv", strings.NewReader("source,destination\n"+f.users[0]+","+f.users[0]+"\n"), projects.ImportOptions{Apply: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Service.StartPass(ctx, bad.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	token, _, err := a.People.CreateToken(ctx, 0, "prometheus")
	if err != nil {
		t.Fatal(err)
	}

	serveAddr, workerAddr := freePort(t), freePort(t)
	type process struct {
		cmd    *exec.Cmd
		stderr *syncBuilder
		done   chan error
	}
	start := func(args ...string) *process {
		p := &process{cmd: exec.Command(ferryBin, args...), stderr: &syncBuilder{}, done: make(chan error, 1)}
		p.cmd.Stderr = p.stderr
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.done <- p.cmd.Wait() }()
		t.Cleanup(func() { p.cmd.Process.Kill() })
		return p
	}
	common := []string{"--database", db, "--key-file", keyFile, "--log-format", "json", "--poll", "100ms", "--concurrency", "2", "--shutdown-timeout", "5s"}
	serve := start(append([]string{"serve", "--listen", serveAddr, "--name", "serve-1"}, common...)...)
	worker := start(append([]string{"worker", "--listen", workerAddr, "--name", "worker-1"}, common...)...)

	get := func(url, bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; ; i++ {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if i > 100 {
				t.Fatalf("GET %s: %v\nserve:\n%s\nworker:\n%s", url, err, serve.stderr, worker.stderr)
			}
			time.Sleep(100 * time.Millisecond) // the process is starting
		}
	}

	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		good, _, err := a.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusCompleted}})
		failed, _, err2 := a.Store.Items(ctx, bad.ID, store.ItemFilter{Status: []string{store.StatusFailed}})
		if err == nil && err2 == nil && len(good) == len(f.users) && len(failed) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d mailboxes completed, %d failed\nserve:\n%s\nworker:\n%s", len(good), len(f.users), len(failed), serve.stderr, worker.stderr)
		}
	}
	f.requireExact(t)

	for _, tt := range []struct {
		name, url, bearer string
		want              int
	}{
		{"serve alive", "http://" + serveAddr + "/healthz", "", 200},
		{"serve ready", "http://" + serveAddr + "/readyz", "", 200},
		{"worker alive", "http://" + workerAddr + "/healthz", "", 200},
		{"worker ready", "http://" + workerAddr + "/readyz", "", 200},
		{"serve metrics without a token", "http://" + serveAddr + "/metrics", "", 401},
		{"serve metrics with a wrong token", "http://" + serveAddr + "/metrics", "fy_not-a-token", 401},
		{"a project through the API", "http://" + serveAddr + "/api/v1/projects/" + strconv.FormatInt(p.ID, 10), token, 200},
		{"another project through the API", "http://" + serveAddr + "/api/v1/projects/" + strconv.FormatInt(bad.ID, 10), token, 200},
	} {
		if code, body := get(tt.url, tt.bearer); code != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, code, tt.want, body)
		}
	}
	parse := func(who, body string) map[string]*dto.MetricFamily {
		t.Helper()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s /metrics: %v\n%s", who, err, body)
		}
		return fams
	}
	code, body := get("http://"+serveAddr+"/metrics", token)
	if code != 200 {
		t.Fatalf("serve /metrics with an administrator's token: %d %s", code, body)
	}
	fromServe := parse("serve", body)
	code, body = get("http://"+workerAddr+"/metrics", "")
	if code != 200 {
		t.Fatalf("worker /metrics: %d %s", code, body)
	}
	fromWorker := parse("worker", body)

	var copied, copiedBytes int64
	items, _, err := a.Store.Items(ctx, p.ID, store.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		runs, err := a.Store.Runs(ctx, it.MailboxID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			copied, copiedBytes = copied+r.Copied, copiedBytes+r.CopiedBytes
		}
	}
	if copied == 0 {
		t.Fatal("the database recorded no message copied")
	}
	project, badProject := strconv.FormatInt(p.ID, 10), strconv.FormatInt(bad.ID, 10)
	both := func(name string, labels map[string]string) float64 {
		s, _ := sumOf(fromServe, name, labels)
		w, _ := sumOf(fromWorker, name, labels)
		return s + w
	}
	for _, tt := range []struct {
		what   string
		name   string
		labels map[string]string
		want   float64
	}{
		{"messages copied", "ferry_messages_copied_total", map[string]string{"project": project}, float64(copied)},
		{"bytes copied", "ferry_bytes_copied_total", map[string]string{"project": project}, float64(copiedBytes)},
		{"mailboxes completed", "ferry_mailboxes_finished_total", map[string]string{"project": project, "pass": "full", "outcome": "completed"}, float64(len(f.users))},
		{"mailbox failed", "ferry_mailboxes_finished_total", map[string]string{"project": badProject, "pass": "full", "outcome": "failed"}, 1},
		{"permanent mailbox failure", "ferry_failures_total", map[string]string{"project": badProject, "scope": "mailbox", "class": "permanent"}, 1},
	} {
		if got := both(tt.name, tt.labels); got != tt.want {
			t.Errorf("%s: %s%v summed over both workers = %v, want %v", tt.what, tt.name, tt.labels, got, tt.want)
		}
	}
	for who, fams := range map[string]map[string]*dto.MetricFamily{"serve-1": fromServe, "worker-1": fromWorker} {
		for _, m := range fams["ferry_mailboxes_finished_total"].GetMetric() {
			for _, l := range m.Label {
				if l.GetName() == "worker" && l.GetValue() != who {
					t.Errorf("%s's counters are labelled worker=%q", who, l.GetValue())
				}
			}
		}
		if v, n := sumOf(fams, "ferry_items", map[string]string{"project": project, "status": store.StatusCompleted, "pass": "full"}); n != 1 || v != float64(len(f.users)) {
			t.Errorf("%s: ferry_items of the project completed after a Full pass = %v (%d series), want %d", who, v, n, len(f.users))
		}
		if v, _ := sumOf(fams, "ferry_jobs", map[string]string{"state": "completed"}); v < float64(len(f.users)+1) {
			t.Errorf("%s: ferry_jobs{state=completed} = %v, want at least %d", who, v, len(f.users)+1)
		}
	}
	if v, _ := sumOf(fromServe, "ferry_http_requests_total", map[string]string{"route": "GET /api/v1/projects/{id}", "code": "200", "worker": "serve-1"}); v != 2 {
		t.Errorf("API requests to one route, by pattern: %v, want 2", v)
	}
	if v, _ := sumOf(fromServe, "ferry_http_requests_total", map[string]string{"route": "GET /metrics", "code": "401"}); v != 2 {
		t.Errorf("refused scrapes: %v, want 2", v)
	}
	for _, m := range fromServe["ferry_http_requests_total"].Metric {
		for _, l := range m.Label {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "/projects/"+project) {
				t.Errorf("a route label holds a path: %q", l.GetValue())
			}
		}
	}

	serve.cmd.Process.Signal(syscall.SIGTERM)
	worker.cmd.Process.Signal(syscall.SIGTERM)
	for _, proc := range []*process{serve, worker} {
		select {
		case err := <-proc.done:
			if err != nil {
				t.Errorf("%s exited with %v", proc.cmd.Args[1], err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not stop", proc.cmd.Args[1])
		}
	}
	endedFailed := false
	for _, proc := range []*process{serve, worker} {
		out := proc.stderr.String()
		records := 0
		for line := range strings.Lines(out) {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s wrote a line that is not a JSON record: %q", proc.cmd.Args[1], line)
				continue
			}
			records++
			if rec["msg"] == "migration ended" && rec["status"] == store.StatusFailed && rec["project"] == float64(bad.ID) {
				endedFailed = true
				if e, _ := rec["error"].(string); !strings.Contains(e, "AUTHENTICATIONFAILED") && !strings.Contains(strings.ToLower(e), "authentication") {
					t.Errorf("the failed migration's record does not say why: %q", line)
				}
			}
			for _, secret := range []string{wrongPassword, token, "admin-pw", fleetPass} {
				if strings.Contains(line, secret) {
					t.Errorf("%s logged a credential (%q): %s", proc.cmd.Args[1], secret[:4]+"...", line)
				}
			}
		}
		if records < 2 {
			t.Errorf("%s logged %d records:\n%s", proc.cmd.Args[1], records, out)
		}
	}
	if !endedFailed {
		t.Errorf("no record says the wrong password's migration failed\nserve:\n%s\nworker:\n%s", serve.stderr, worker.stderr)
	}
}
