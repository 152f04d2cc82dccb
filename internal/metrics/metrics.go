// Package metrics is Ferry's /metrics: one registry and every metric's
// definition, in the Prometheus text format. Counters are work done by
// this process (each labelled with its worker name, so a project's
// throughput is the sum over workers); gauges are read from the database
// at each scrape. docs/operations.md lists them with PromQL for throughput.
//
// Labels never carry tenant data: projects are named by their numeric ID,
// never by a customer's or a mailbox's name, and HTTP requests by their
// route pattern, never by the path asked for.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
)

// Label names, stable: dashboards and alerts depend on them.
const (
	LabelWorker  = "worker"
	LabelProject = "project"
	LabelOutcome = "outcome"
	LabelScope   = "scope"
	LabelClass   = "class"
	LabelReason  = "reason"
	LabelRoute   = "route"
	LabelCode    = "code"
	LabelStatus  = "status"
	LabelPass    = "pass"
	LabelState   = "state"
)

// JobCounter counts the queue's jobs by state (jobs.Health).
type JobCounter interface {
	JobCounts(ctx context.Context) (map[string]int, error)
}

// Sources are what the gauges are read from at each scrape; either may be nil.
type Sources struct {
	Store store.Gauges
	Jobs  JobCounter
}

// Metrics owns the registry of one process.
type Metrics struct {
	reg *prometheus.Registry

	messages  *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	mailboxes *prometheus.CounterVec
	failures  *prometheus.CounterVec
	backoffs  *prometheus.CounterVec
	requests  *prometheus.CounterVec

	projects sync.Map // project ID -> *projectObserver
}

// New builds the registry of a process named worker (host:pid or --name).
func New(worker string, src Sources) *Metrics {
	constant := prometheus.Labels{LabelWorker: worker}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: constant}, labels)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		messages: counter("ferry_messages_copied_total",
			"Messages this worker copied to the destination, by project.", LabelProject),
		bytes: counter("ferry_bytes_copied_total",
			"Message bytes this worker copied to the destination, by project.", LabelProject),
		mailboxes: counter("ferry_mailboxes_finished_total",
			"Mailbox runs this worker finished, by project, pass and outcome.", LabelProject, LabelPass, LabelOutcome),
		failures: counter("ferry_failures_total",
			"Failures this worker recorded, by project, scope (message, folder, mailbox) and class (temporary, permanent).", LabelProject, LabelScope, LabelClass),
		backoffs: counter("ferry_backoffs_total",
			"Times this worker waited before trying again, by project and reason (throttled: the server limits Ferry's rate; temporary: any other temporary error).", LabelProject, LabelReason),
		requests: counter("ferry_http_requests_total",
			"HTTP requests answered, by route pattern and status code.", LabelRoute, LabelCode),
	}
	m.reg.MustRegister(m.messages, m.bytes, m.mailboxes, m.failures, m.backoffs, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&gauges{src: src})
	return m
}

// Registry is the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A gauge the
// database cannot give now is left out, with a warning in the log; the
// counters are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)})
}

// Project is the engine.Observer of runs of one project. Its counters are
// made once per project, so that the copy path counts without allocating.
func (m *Metrics) Project(id int64) engine.Observer {
	if o, ok := m.projects.Load(id); ok {
		return o.(*projectObserver)
	}
	o, _ := m.projects.LoadOrStore(id, m.newProjectObserver(id))
	return o.(*projectObserver)
}

// projectObserver holds the counters of one project, every label set made
// in advance: each series exists from the project's first run (at 0), and
// rate() sees its first increase.
type projectObserver struct {
	messages, bytes prometheus.Counter
	finished        map[finish]prometheus.Counter
	failures        [3][2]prometheus.Counter // scope, class
	throttled       prometheus.Counter
	temporary       prometheus.Counter
}

var scopes = [3]engine.FailureScope{engine.ScopeMessage, engine.ScopeFolder, engine.ScopeMailbox}

func (m *Metrics) newProjectObserver(id int64) *projectObserver {
	project := strconv.FormatInt(id, 10)
	o := &projectObserver{
		messages:  m.messages.WithLabelValues(project),
		bytes:     m.bytes.WithLabelValues(project),
		finished:  map[finish]prometheus.Counter{},
		throttled: m.backoffs.WithLabelValues(project, "throttled"),
		temporary: m.backoffs.WithLabelValues(project, "temporary"),
	}
	for _, pass := range engine.Passes {
		for _, out := range engine.Outcomes {
			o.finished[finish{pass, out}] = m.mailboxes.WithLabelValues(project, string(pass), string(out))
		}
	}
	for i, scope := range scopes {
		o.failures[i][0] = m.failures.WithLabelValues(project, string(scope), "temporary")
		o.failures[i][1] = m.failures.WithLabelValues(project, string(scope), "permanent")
	}
	return o
}

func (o *projectObserver) MessageCopied(bytes int64) {
	o.messages.Inc()
	o.bytes.Add(float64(bytes))
}

func (o *projectObserver) Failed(scope engine.FailureScope, temporary bool) {
	i := 0 // ScopeMessage
	switch scope {
	case engine.ScopeFolder:
		i = 1
	case engine.ScopeMailbox:
		i = 2
	}
	class := 1 // permanent
	if temporary {
		class = 0
	}
	o.failures[i][class].Inc()
}

func (o *projectObserver) BackedOff(throttled bool) {
	if throttled {
		o.throttled.Inc()
	} else {
		o.temporary.Inc()
	}
}

// finish is a pass and how its run ended.
type finish struct {
	pass    engine.Pass
	outcome engine.Outcome
}

func (o *projectObserver) MailboxFinished(pass engine.Pass, outcome engine.Outcome) {
	if c, ok := o.finished[finish{pass, outcome}]; ok {
		c.Inc()
	}
}

// gauges reads the database's facts at each scrape. They carry no worker
// label: every process reports the same values (use max, not sum).
type gauges struct{ src Sources }

var (
	itemsDesc = prometheus.NewDesc("ferry_items",
		"Items (mailbox pairs) of open projects, by project, status and last pass (\"\" before the first).", []string{LabelProject, LabelStatus, LabelPass}, nil)
	leasesDesc = prometheus.NewDesc("ferry_leases_held",
		"Live leases by project: migrations running now, in every worker.", []string{LabelProject}, nil)
	jobsDesc = prometheus.NewDesc("ferry_jobs",
		"Jobs of the queue by state (available and scheduled jobs wait; running ones run), in every worker.", []string{LabelState}, nil)
)

// scrapeTimeout bounds the database queries of one scrape.
const scrapeTimeout = 5 * time.Second

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- itemsDesc
	ch <- leasesDesc
	ch <- jobsDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if st := g.src.Store; st != nil {
		if counts, err := st.ItemCounts(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(itemsDesc, err)
		} else {
			for _, c := range counts {
				ch <- prometheus.MustNewConstMetric(itemsDesc, prometheus.GaugeValue, float64(c.Count),
					strconv.FormatInt(c.ProjectID, 10), c.Status, c.LastPass)
			}
		}
		if leases, err := st.LeaseCounts(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(leasesDesc, err)
		} else {
			for project, n := range leases {
				ch <- prometheus.MustNewConstMetric(leasesDesc, prometheus.GaugeValue, float64(n), strconv.FormatInt(project, 10))
			}
		}
	}
	if q := g.src.Jobs; q != nil {
		if counts, err := q.JobCounts(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		} else {
			for state, n := range counts {
				ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), state)
			}
		}
	}
}
