package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/metrics"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

const (
	user = "alice@example.org"
	pass = "secret-pw"
)

func endpoint(addr string) imapconn.Endpoint {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: user, Password: pass, AllowPlaintext: true}
}

// scrape reads h's answer in the Prometheus text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics is not in the text format: %v", err)
	}
	return families
}

// value is the value of the family's series with exactly these labels
// (besides others it has), and whether there is one.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
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
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestCountersAreWhatARunCopied: a real run between two IMAP servers, the
// destination throttling once and refusing one message for good; the
// scraped counters of the project and worker are the run's own figures.
func TestCountersAreWhatARunCopied(t *testing.T) {
	t.Parallel()
	src := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	c := testimap.Dial(t, src.Addr, user, pass)
	if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: 7, Messages: 40, Folders: 3, MaxSize: 32 << 10})); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	var throttled, refused atomic.Bool
	dst.Faults.Set(func(n int, mailbox string, size int64) error {
		if n >= 3 && throttled.CompareAndSwap(false, true) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Server busy, try again later"}
		}
		if n >= 12 && refused.CompareAndSwap(false, true) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "message rejected for the test"}
		}
		return nil
	}, nil)
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	m := metrics.New("w1", metrics.Sources{Store: st})
	const project = 7
	e := engine.New(st, engine.Options{Observer: m.Project(project), MaxBackoff: 20 * time.Millisecond})
	res := e.Migrate(context.Background(), engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Run.Copied < 30 || res.Run.Failed != 1 || !throttled.Load() {
		t.Fatalf("copied %d, failed %d, throttled %v: want most of 40 messages copied, one refused, one throttling", res.Run.Copied, res.Run.Failed, throttled.Load())
	}

	got := scrape(t, m.Handler())
	ours := map[string]string{"project": "7", "worker": "w1"}
	with := func(k, v string, more ...string) map[string]string {
		l := map[string]string{"project": "7", "worker": "w1", k: v}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return l
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ferry_messages_copied_total", ours, float64(res.Run.Copied)},
		{"ferry_bytes_copied_total", ours, float64(res.Run.CopiedBytes)},
		{"ferry_mailboxes_finished_total", with("outcome", "completed_with_errors", "pass", "full"), 1},
		{"ferry_mailboxes_finished_total", with("outcome", "completed", "pass", "full"), 0},
		{"ferry_failures_total", with("scope", "message", "class", "permanent"), 1},
		{"ferry_failures_total", with("scope", "mailbox", "class", "permanent"), 0},
		{"ferry_backoffs_total", with("reason", "throttled"), 1},
		{"ferry_backoffs_total", with("reason", "temporary"), 0},
	} {
		v, ok := value(got, tt.name, tt.labels)
		if !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}
}

// TestLabelNamesAreStable: dashboards and alerts name these labels.
func TestLabelNamesAreStable(t *testing.T) {
	t.Parallel()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := metrics.New("w1", metrics.Sources{Store: st})
	o := m.Project(3)
	o.MessageCopied(10)
	o.MailboxFinished(engine.PassFull, engine.OutcomeCompleted)
	h := m.Instrument(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	got := scrape(t, m.Handler())
	for name, want := range map[string][]string{
		"ferry_messages_copied_total":    {"project", "worker"},
		"ferry_bytes_copied_total":       {"project", "worker"},
		"ferry_mailboxes_finished_total": {"outcome", "pass", "project", "worker"},
		"ferry_failures_total":           {"class", "project", "scope", "worker"},
		"ferry_backoffs_total":           {"project", "reason", "worker"},
		"ferry_http_requests_total":      {"code", "route", "worker"},
	} {
		f := got[name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("%s is missing", name)
			continue
		}
		var names []string
		for _, l := range f.Metric[0].Label {
			names = append(names, l.GetName())
		}
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("%s has labels %v, want %v", name, names, want)
		}
	}
}

// TestObservingAllocatesNothing: the copy path counts through cached
// counters, never a label set made per message.
func TestObservingAllocatesNothing(t *testing.T) {
	m := metrics.New("w1", metrics.Sources{})
	o := m.Project(1)
	allocs := testing.AllocsPerRun(1000, func() {
		o.MessageCopied(1234)
		o.Failed(engine.ScopeMessage, false)
		o.BackedOff(true)
		o.MailboxFinished(engine.PassFull, engine.OutcomeCompleted)
		m.Project(1)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// TestHTTPRequestsAreCountedByRoutePattern: two requests to one route with
// different IDs are one series named by the route's pattern, the path
// never; a mux nested in a copy of the request is reached with NoteRoute,
// and an unrouted path is "unmatched".
func TestHTTPRequestsAreCountedByRoutePattern(t *testing.T) {
	t.Parallel()
	m := metrics.New("w1", metrics.Sources{})
	inner := http.NewServeMux()
	inner.HandleFunc("GET /api/v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		metrics.NoteRoute(r)
		w.WriteHeader(http.StatusTeapot)
	})
	outer := http.NewServeMux()
	outer.HandleFunc("GET /projects/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	outer.Handle("/api/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), struct{}{}, 1))) // as the API does after authentication
	}))
	srv := httptest.NewServer(m.Instrument(outer))
	defer srv.Close()
	for _, path := range []string{"/projects/123", "/projects/456", "/api/v1/items/99", "/nothing/here", "/api/v1/unknown"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	got := scrape(t, m.Handler())
	for _, tt := range []struct {
		route, code string
		want        float64
	}{
		{"GET /projects/{id}", "200", 2},
		{"GET /api/v1/items/{id}", "418", 1},
		{"/api/v1/", "404", 1},
		{"unmatched", "404", 1},
	} {
		if v, ok := value(got, "ferry_http_requests_total", map[string]string{"route": tt.route, "code": tt.code}); !ok || v != tt.want {
			t.Errorf("requests to %s answered %s: %v (found %v), want %v", tt.route, tt.code, v, ok, tt.want)
		}
	}
	patterns := []string{"GET /projects/{id}", "GET /api/v1/items/{id}", "/api/v1/", "unmatched"}
	for _, s := range got["ferry_http_requests_total"].Metric {
		for _, l := range s.Label {
			if l.GetName() == "route" && !slices.Contains(patterns, l.GetValue()) {
				t.Errorf("route label %q is not a route's pattern", l.GetValue())
			}
		}
	}
}

// brokenDatabase answers every gauge's query with an error.
type brokenDatabase struct{}

var errGone = errors.New("the database is gone")

func (brokenDatabase) ItemCounts(context.Context) ([]store.ItemCount, error) { return nil, errGone }
func (brokenDatabase) LeaseCounts(context.Context) (map[int64]int, error)    { return nil, errGone }
func (brokenDatabase) JobCounts(context.Context) (map[string]int, error)     { return nil, errGone }

// TestScrapeServesCountersWhenTheDatabaseFails: the gauges are left out,
// the counters are still served.
func TestScrapeServesCountersWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	m := metrics.New("w1", metrics.Sources{Store: brokenDatabase{}, Jobs: brokenDatabase{}})
	m.Project(2).MessageCopied(100)
	got := scrape(t, m.Handler())
	if v, ok := value(got, "ferry_bytes_copied_total", map[string]string{"project": "2"}); !ok || v != 100 {
		t.Fatalf("bytes copied = %v (found %v), want 100", v, ok)
	}
	for _, gauge := range []string{"ferry_items", "ferry_leases_held", "ferry_jobs"} {
		if got[gauge] != nil {
			t.Errorf("%s served without a database", gauge)
		}
	}
}

// TestInstrumentKeepsStreaming: the portal's live updates flush their
// answer as they go; counting must not take that away.
func TestInstrumentKeepsStreaming(t *testing.T) {
	t.Parallel()
	m := metrics.New("w1", metrics.Sources{})
	flushed := make(chan struct{})
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the counted writer is not an http.Flusher")
		}
		io.WriteString(w, "event: one\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		<-flushed
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("event: one\n\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "event: one\n\n" {
		t.Fatalf("read %q, %v before the handler ended: the answer was not flushed", buf, err)
	}
	close(flushed)
}
