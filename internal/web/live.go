package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// hub fans live updates of projects out to browsers. Whatever the number
// of browsers watching, it reads the store once per poll per watched
// project (the items changed since the last read and the status
// breakdown) and sends the same update to every watcher.
type hub struct {
	st   Reader
	poll time.Duration
	log  *slog.Logger

	mu       sync.Mutex
	watchers map[int64]map[chan []byte]struct{}
	since    map[int64]time.Time
	stop     chan struct{}
	done     chan struct{}
	reads    atomic.Int64 // store reads, for the benchmark and tests
}

// liveUpdate is one message to the browsers watching a project.
type liveUpdate struct {
	Items     []liveItem     `json:"items"`
	Breakdown map[string]int `json:"breakdown"`
	Total     int            `json:"total"`
	// Copied changes whenever the project's passes copy more (running
	// passes write their counts every few seconds), start or end: the
	// page fetches its throughput section again when it does.
	Copied string `json:"copied"`
}

// liveItem is an item that changed, or whose pass copies now. Progress
// only (Status ""): only the Migrated cell changes.
type liveItem struct {
	ID       int64  `json:"id"`
	Status   string `json:"status,omitempty"`
	LastPass string `json:"last_pass,omitempty"`
	Errors   int    `json:"errors"`
	Updated  string `json:"updated,omitempty"`
	// Migrated is what its passes copied ("120 msg · 3.4 MB"), Percent its
	// running pass's progress (Running).
	Migrated string  `json:"migrated"`
	Running  bool    `json:"running"`
	Percent  float64 `json:"percent"`
}

// copiedSignature changes whenever the project's passes copy more, start
// or end (liveUpdate.Copied; the page starts from the one it was drawn with).
func copiedSignature(runs []store.ItemRun, migrated map[int64]projects.Migrated) string {
	var bytes, msgs int64
	running := 0
	for _, m := range migrated {
		bytes, msgs = bytes+m.Bytes, msgs+m.Messages
		if m.Running {
			running++
		}
	}
	return fmt.Sprintf("%d/%d/%d/%d", len(runs), running, msgs, bytes)
}

// migratedText is the Migrated cell's words (the template "migrated" says the same).
func migratedText(m projects.Migrated) string {
	s := "0 bytes"
	if m.Messages > 0 || m.Bytes > 0 {
		s = num(m.Messages) + " msg · " + size(m.Bytes)
	}
	if m.Running {
		s += fmt.Sprintf(" · %.0f%%", m.Percent())
	}
	return s
}

func newHub(st Reader, poll time.Duration, log *slog.Logger) *hub {
	h := &hub{st: st, poll: poll, log: log, watchers: map[int64]map[chan []byte]struct{}{}, since: map[int64]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.run()
	return h
}

func (h *hub) close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
		<-h.done
	}
}

// watch subscribes to a project's updates; cancel unsubscribes.
func (h *hub) watch(projectID int64) (<-chan []byte, func()) {
	ch := make(chan []byte, 8)
	h.mu.Lock()
	if h.watchers[projectID] == nil {
		h.watchers[projectID] = map[chan []byte]struct{}{}
		h.since[projectID] = time.Now()
	}
	h.watchers[projectID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.watchers[projectID], ch)
		if len(h.watchers[projectID]) == 0 {
			delete(h.watchers, projectID)
			delete(h.since, projectID)
		}
		h.mu.Unlock()
	}
}

func (h *hub) run() {
	defer close(h.done)
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		projects := make(map[int64]time.Time, len(h.since))
		for id, since := range h.since {
			projects[id] = since
		}
		h.mu.Unlock()
		for id, since := range projects {
			msg, next, err := h.read(id, since)
			if err != nil {
				h.log.Warn("portal: live update", "project", id, "err", err)
				continue
			}
			h.mu.Lock()
			if _, ok := h.since[id]; ok {
				h.since[id] = next
			}
			if msg != nil {
				for ch := range h.watchers[id] {
					select {
					case ch <- msg:
					default: // a slow browser misses an update; the next one carries the rest
					}
				}
			}
			h.mu.Unlock()
		}
	}
}

// read gets what changed in a project since a time. Writers in other
// processes may commit a little late, so it looks back a few seconds and
// browsers apply updates idempotently.
func (h *hub) read(projectID int64, since time.Time) ([]byte, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	h.reads.Add(3)
	items, _, err := h.st.Items(ctx, projectID, store.ItemFilter{UpdatedSince: since.Add(-3 * time.Second), Limit: 2000, Sort: "updated"})
	if err != nil {
		return nil, since, err
	}
	p, err := h.st.Project(ctx, projectID)
	if err != nil {
		return nil, since, err
	}
	runs, err := h.st.ProjectRuns(ctx, projectID)
	if err != nil {
		return nil, since, err
	}
	migrated := projects.MigratedOf(runs)
	u := liveUpdate{Items: make([]liveItem, 0, len(items)), Breakdown: p.StatusBreakdown, Total: p.ItemCount,
		Copied: copiedSignature(runs, migrated)}
	seen := map[int64]bool{}
	for _, it := range items {
		m := migrated[it.ID]
		seen[it.ID] = true
		u.Items = append(u.Items, liveItem{ID: it.ID, Status: it.Status, LastPass: passName(it.LastPass), Errors: it.Errors, Updated: ago(it.Updated),
			Migrated: migratedText(m), Running: m.Running, Percent: m.Percent()})
	}
	for id, m := range migrated {
		if m.Running && !seen[id] {
			u.Items = append(u.Items, liveItem{ID: id, Migrated: migratedText(m), Running: true, Percent: m.Percent()})
		}
	}
	b, err := json.Marshal(u)
	return b, now, err
}

func init() {
	addRoutes(route{Pattern: "GET /projects/{id}/live", Action: auth.ActionReadProject, Handle: (*server).liveProject})
}

// Deadlines of a live stream, which outlives the server's read and write
// timeouts (cli/serve.go) on purpose: each event must be written within
// liveWriteTimeout, and a comment every liveKeepAlive keeps proxies from
// closing a quiet stream and finds browsers that went away.
const (
	liveWriteTimeout = 10 * time.Second
	liveKeepAlive    = 15 * time.Second
	// liveRecheck: how often a stream asks again whether its session may
	// read the project, before the event it is about to send. At the
	// default poll (1 s) that is every update; faster polls do not multiply
	// the store reads of every watcher.
	liveRecheck = time.Second
)

// liveProject streams a project's updates as server-sent events ("update"
// events, JSON). Before sending, at most every liveRecheck, it asks again
// whether the session may read the project (signed out, disabled, role or
// customers changed) and ends the stream when not.
func (s *server) liveProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("live updates need a streaming connection")
	}
	rc := http.NewResponseController(w)
	// The browser sends nothing more on this connection: no read deadline
	// (one passing would cancel the request). Writes get theirs below.
	_ = rc.SetReadDeadline(time.Time{})
	checked := time.Now()
	stillAllowed := func() bool {
		if time.Since(checked) < liveRecheck {
			return true
		}
		checked = time.Now()
		pr, _, err := s.session(r)
		return err == nil && auth.Authorize(pr, auth.ActionReadProject, p.CustomerID) == nil
	}
	send := func(event string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout)) // unsupported only in tests' recorders
		if _, err := io.WriteString(w, event); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !send("retry: 3000\n\n") {
		return nil
	}
	ch, cancel := s.live.watch(p.ID)
	defer cancel()
	// What changed between the page's reading and this stream (a slow
	// browser may connect seconds later) comes first, once.
	if ms, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil {
		if since := time.UnixMilli(ms); time.Since(since) < 10*time.Minute {
			if msg, _, err := s.live.read(p.ID, since); err == nil && !send(fmt.Sprintf("event: update\ndata: %s\n\n", msg)) {
				return nil
			}
		}
	}
	keepAlive := time.NewTicker(liveKeepAlive)
	defer keepAlive.Stop()
	for {
		var event string
		select {
		case <-r.Context().Done():
			return nil
		case <-s.live.stop:
			return nil
		case <-keepAlive.C:
			event = ": keep-alive\n\n"
		case msg := <-ch:
			event = fmt.Sprintf("event: update\ndata: %s\n\n", msg)
		}
		if !stillAllowed() || !send(event) {
			return nil
		}
	}
}
