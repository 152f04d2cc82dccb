// Package engine copies mailboxes from one IMAP server to another: exactly,
// never twice, resuming where it stopped. See docs/architecture.md for the
// rules it keeps and why.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// Pass is one of the migration passes named in the playbook.
type Pass string

const (
	PassVerify   Pass = "verify"   // Verify credentials: log in, look, move nothing
	PassTrial    Pass = "trial"    // at most TrialLimit messages per folder
	PassPrestage Pass = "prestage" // messages older than OlderThan
	PassFull     Pass = "full"     // everything not yet copied, plus flag changes (the delta pass when re-run)
	PassRetry    Pass = "retry"    // Retry errors: only messages that failed before
)

// Label is the pass's name as people read it.
func (p Pass) Label() string {
	switch p {
	case PassVerify:
		return "Verify credentials"
	case PassTrial:
		return "Trial"
	case PassPrestage:
		return "Pre-stage"
	case PassFull:
		return "Full"
	case PassRetry:
		return "Retry errors"
	}
	return string(p)
}

// ParsePass reads a pass name as users type it.
func ParsePass(s string) (Pass, error) {
	switch s {
	case "verify", "verify-credentials":
		return PassVerify, nil
	case "trial":
		return PassTrial, nil
	case "prestage", "pre-stage":
		return PassPrestage, nil
	case "full", "delta":
		return PassFull, nil
	case "retry", "retry-errors":
		return PassRetry, nil
	}
	return "", fmt.Errorf("unknown pass %q: use verify, trial, prestage, full or retry", s)
}

// TrialLimit is how many messages per folder a Trial pass copies.
const TrialLimit = 10

// Options shape a run.
type Options struct {
	Pass      Pass
	OlderThan time.Duration // Pre-stage: only messages whose internal date is older
	// MaxMessageSize: larger messages are reported, not sent. 0 means the
	// destination's APPENDLIMIT, or no limit.
	MaxMessageSize int64
	MaxErrors      int // a mailbox stops after this many failed messages; 0 means 50
	Connections    int // most connection pairs per mailbox (see connectionPairs); 0 means 4
	Filter         Filter
	// DateFrom and DateTo limit every pass to messages whose internal date
	// is in [DateFrom, DateTo); zero means open-ended.
	DateFrom, DateTo time.Time
	Conn             imapconn.Options
	// ByteBudget bounds the message bytes this pass sends (what is left of
	// a daily transfer limit, e.g. Gmail's); 0 means no bound. When the next
	// message does not fit, the pass sends no more and ends "paused at the
	// transfer limit" (Result.BudgetReached); a later pass copies the rest.
	ByteBudget int64
	// MaxAttempts bounds reconnections after temporary errors without progress; 0 means 8.
	MaxAttempts int
	// MaxBackoff caps the wait between attempts (a server hint may ask for more; it is honoured up to 15 minutes).
	MaxBackoff time.Duration
	// SourceLabels: the source is Gmail (X-GM-EXT-1): its folders are
	// labels and one message can be in several (see gmail.go).
	SourceLabels bool
	// DestLabels: the destination is Gmail.
	DestLabels bool
	// Labels says how Gmail's labels become folders.
	Labels LabelOptions
	// RoleFolders name the folders created for roles (sent, drafts, trash,
	// junk, archive) the destination has none for, when the source is
	// Gmail: the destination system's own names (a preset's Folders); nil
	// means DefaultRoleFolders.
	RoleFolders map[string]string
	// ThrottleBackoff is how long to wait when a provider throttles without
	// saying for how long (the preset's documented back-off); 0 means the
	// exponential back-off.
	ThrottleBackoff time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// Observer hears what the run does (metrics); nil: nobody.
	Observer Observer
	// Worker names the process running the pass (host:pid) in its run.
	Worker string
	// ItemID names the project item the pass is for in its run (0: none).
	ItemID int64
	// ProgressEvery is how often a running run writes its counts so far to
	// the store (the portal's live progress); 0 means every 2 s, below 0 never.
	ProgressEvery time.Duration
	// ignoreAppendLimit sends messages over the destination's APPENDLIMIT
	// anyway, so that tests see the server refuse them (tests only).
	ignoreAppendLimit bool
}

func (o *Options) defaults() {
	if o.Pass == "" {
		o.Pass = PassFull
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = 50
	}
	if o.Connections <= 0 {
		o.Connections = 4
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 2 * time.Second
	}
}

// Job is one mailbox pair.
type Job struct {
	Source, Dest imapconn.Endpoint
}

// Key names the job in the store, without secrets.
func (j Job) Key() store.MailboxKey {
	return store.MailboxKey{Source: j.Source.String(), Destination: j.Dest.String()}
}

// Progress is live, lock-free counters for one mailbox; readers poll it.
type Progress struct {
	Phase        atomic.Value // string
	ToCopy       atomic.Int64 // messages planned in this run
	ToCopyBytes  atomic.Int64
	Copied       atomic.Int64
	CopiedBytes  atomic.Int64
	Skipped      atomic.Int64
	Failed       atomic.Int64
	FailedBytes  atomic.Int64
	FlagsUpdated atomic.Int64
	Folders      atomic.Int64
	FoldersDone  atomic.Int64
	Retries      atomic.Int64
	// BudgetReached: messages were left for a later pass because of Options.ByteBudget.
	BudgetReached atomic.Bool
	// waits: provider limits waited for (limits.go).
	waits waits
}

func (p *Progress) setPhase(s string) { p.Phase.Store(s) }

// PhaseName is what the mailbox is doing now.
func (p *Progress) PhaseName() string {
	if s, ok := p.Phase.Load().(string); ok {
		return s
	}
	return "waiting"
}

// Result is the outcome of one mailbox.
type Result struct {
	Job      Job
	Run      store.Run
	Failures []store.Failure
	// Err is set when the mailbox as a whole failed (login refused, too many errors, gave up retrying).
	Err error
	// Check is filled by a Verify credentials pass.
	Check *CheckReport
	// BudgetReached: the pass stopped sending at Options.ByteBudget; the
	// rest waits for a later pass.
	BudgetReached bool
	// LimitUntil, when set, is when the provider's spent daily limit
	// allows the next pass (BudgetReached is set too).
	LimitUntil time.Time
	// Notes are facts a person should know that are not failures: folders
	// the folder map renamed, and why.
	Notes []string
	// Timing says where the run's time went.
	Timing Timing
}

// Engine runs jobs against a store.
type Engine struct {
	// Store is the engine's own state; it asks for nothing else of the store.
	Store store.EngineState
	Opts  Options
}

// New returns an engine with defaults filled in.
func New(st store.EngineState, opts Options) *Engine {
	opts.defaults()
	return &Engine{Store: st, Opts: opts}
}

// StatusPausedAtLimit is the status of a run that stopped sending at its
// byte budget.
const StatusPausedAtLimit = "paused at the transfer limit"

// errTooManyErrors stops a mailbox.
var errTooManyErrors = errors.New("too many failed messages")

// Migrate runs the configured pass over one mailbox. It returns a Result
// whatever happens; Result.Err says when the mailbox as a whole failed.
func (e *Engine) Migrate(ctx context.Context, job Job, prog *Progress) *Result {
	if prog == nil {
		prog = &Progress{}
	}
	res := &Result{Job: job}
	started := time.Now()
	var stateNanos atomic.Int64
	defer func() {
		res.Timing.State, res.Timing.Total = time.Duration(stateNanos.Load()), time.Since(started)
	}()
	timed := *e
	timed.Store = timedStore{EngineState: e.Store, spent: &stateNanos}
	e = &timed
	res.Run = store.Run{Pass: string(e.Opts.Pass), Started: e.Opts.Now(), Worker: e.Opts.Worker, ItemID: e.Opts.ItemID}
	mbox, err := e.Store.Mailbox(ctx, job.Key())
	if err != nil {
		res.Err = fmt.Errorf("state store: %w", err)
		return res
	}
	if e.Opts.Pass != PassVerify {
		// One run copies a mailbox at a time: two would each send what the
		// other has not recorded yet, and the mail would be doubled.
		release, err := e.Store.LockMailbox(ctx, mbox)
		if err != nil {
			res.Run.Status, res.Run.Ended = "not started", res.Run.Started
			res.Err = busyErr(job, err)
			prog.setPhase(res.Run.Status)
			e.observer().MailboxFinished(e.Opts.Pass, OutcomeNotStarted)
			return res // the other run's state is left alone
		}
		defer release()
	}
	if err := e.Store.StartRun(ctx, mbox, &res.Run); err != nil {
		res.Err = fmt.Errorf("state store: %w", err)
		return res
	}
	if e.Opts.Pass == PassVerify {
		res.Check, err = e.Check(ctx, job)
	} else {
		stopProgress := e.writeProgress(ctx, mbox, res.Run, prog)
		res.Notes, err = e.migrate(ctx, job, mbox, prog, &res.Timing)
		stopProgress()
	}
	res.Run.Ended = e.Opts.Now()
	res.Run.Copied, res.Run.CopiedBytes = prog.Copied.Load(), prog.CopiedBytes.Load()
	res.Run.Skipped, res.Run.Failed, res.Run.FailedBytes = prog.Skipped.Load(), prog.Failed.Load(), prog.FailedBytes.Load()
	res.Run.FlagsUpdated = prog.FlagsUpdated.Load()
	res.Run.ToCopy, res.Run.ToCopyBytes = prog.ToCopy.Load(), prog.ToCopyBytes.Load()
	res.Notes = append(res.Notes, prog.waits.notes()...)
	if l, ok := isLimitReached(err); ok && ctx.Err() == nil {
		prog.BudgetReached.Store(true)
		res.LimitUntil, res.Notes, err = l.until, append(res.Notes, l.Error()), nil
	}
	switch {
	case err != nil && ctx.Err() != nil:
		if cause := context.Cause(ctx); cause != ctx.Err() {
			err = cause // whoever stopped the run said why (another worker took over)
		}
		res.Run.Status, res.Err = "stopped", err
	case err != nil:
		res.Run.Status, res.Err = "failed", err
	case prog.BudgetReached.Load():
		res.Run.Status, res.BudgetReached = StatusPausedAtLimit, true
	case res.Run.Failed > 0:
		res.Run.Status = "completed with errors"
	default:
		res.Run.Status = "completed"
	}
	if err != nil {
		res.Run.Error = err.Error()
	}
	// Record the outcome even when ctx is cancelled: a stopped run is history too.
	bg := context.WithoutCancel(ctx)
	if err != nil && !errors.Is(err, errTooManyErrors) && ctx.Err() == nil {
		f := mailboxFailure(e.Opts.Pass, err)
		e.Store.RecordFailures(bg, mbox, []store.Failure{f})
		e.observer().Failed(ScopeMailbox, f.Temporary)
	} else if err == nil {
		e.Store.ClearMailboxFailures(bg, mbox)
	}
	e.Store.FinishRun(bg, mbox, &res.Run)
	res.Failures, _ = e.Store.Failures(bg, mbox)
	prog.setPhase(res.Run.Status)
	e.observer().MailboxFinished(e.Opts.Pass, outcomeOf(res.Run.Status))
	return res
}

// writeProgress records the run's counts so far every ProgressEvery while
// it copies, so that other processes (the portal) see its progress; the
// returned func stops it and returns once no write is under way.
func (e *Engine) writeProgress(ctx context.Context, mbox int64, run store.Run, prog *Progress) (stop func()) {
	if e.Opts.ProgressEvery < 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(e.Opts.ProgressEvery)
		defer t.Stop()
		var last [7]int64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := [7]int64{prog.Copied.Load(), prog.CopiedBytes.Load(), prog.Skipped.Load(), prog.Failed.Load(),
				prog.FailedBytes.Load(), prog.ToCopy.Load(), prog.ToCopyBytes.Load()}
			if now == last {
				continue
			}
			last = now
			run.Copied, run.CopiedBytes, run.Skipped, run.Failed, run.FailedBytes, run.ToCopy, run.ToCopyBytes = now[0], now[1], now[2], now[3], now[4], now[5], now[6]
			// Progress is a convenience: a failed write waits for the next.
			_ = e.Store.ProgressRun(ctx, mbox, &run)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// busyErr says which mailbox could not be taken and what to do.
func busyErr(job Job, err error) error {
	if !errors.Is(err, store.ErrMailboxBusy) {
		return fmt.Errorf("state store: lock the mailbox %s: %w", job.Source.Mailbox(), err)
	}
	return fmt.Errorf("%w: %s → %s; wait for it to end (or stop it) and run again", err, job.Source, job.Dest)
}

func mailboxFailure(pass Pass, err error) store.Failure {
	f := store.Failure{Pass: string(pass), ServerText: err.Error(), At: time.Now()}
	var ie *imapconn.Error
	if errors.As(err, &ie) {
		f.Temporary, f.Hint, f.ServerText = ie.Temporary, ie.Hint, imapconn.LoginWords(ie)
		if f.Hint == "" && ie.Temporary {
			f.Hint = "the server kept failing; run the pass again later"
		}
	}
	return f
}

// session is one connection pair with the state of a running mailbox.
type session struct {
	src, dst *imapconn.Conn
	// app pipelines APPENDs to the destination when it has LITERAL+. It
	// logs in while the mailbox is planned: use it after appender().
	app *imapconn.Appender
	// appDialed is closed when the appender's login has ended (appErr says
	// how); nil when no appender is on its way.
	appDialed   chan struct{}
	appErr      error
	stopAppDial context.CancelFunc
	// srcBodyBroke: a read of a message body from src failed (copy.go's
	// sourceBody); src is not read on after that.
	srcBodyBroke atomic.Bool
}

// appender waits for the appender, if one is logging in, and says when it
// could not.
func (s *session) appender() error {
	if s.appDialed == nil {
		return nil
	}
	<-s.appDialed
	s.appDialed = nil
	if err := s.appErr; err != nil {
		s.appErr = nil
		return sideErr("destination", err)
	}
	return nil
}

func (s *session) close() {
	if s.appDialed != nil {
		s.stopAppDial()
		s.appender()
	}
	if s.src != nil {
		s.src.Close()
	}
	if s.dst != nil {
		s.dst.Close()
	}
	if s.app != nil {
		s.app.Close()
	}
	if s.stopAppDial != nil {
		s.stopAppDial()
	}
	s.src, s.dst, s.app, s.stopAppDial = nil, nil, nil, nil
}

// logout says goodbye on the pair's connections at once: one round trip,
// not three, at the end of every mailbox.
func (s *session) logout() {
	s.appender()
	var wg sync.WaitGroup
	if s.app != nil {
		wg.Go(s.app.Logout)
	}
	wg.Go(s.dst.Logout)
	wg.Go(s.src.Logout)
	wg.Wait()
	if s.stopAppDial != nil {
		s.stopAppDial()
	}
}

// connect logs in on both sides. withAppender also logs in the
// destination's appender (when it has LITERAL+), in the background: the
// mailbox is planned meanwhile, and session.appender waits for it.
func (e *Engine) connect(ctx context.Context, job Job, withAppender bool) (*session, error) {
	return e.dialPair(ctx, job, withAppender, e.Opts.Conn)
}

// connectToCopy is connect for a migration: the namespaces are not read
// at login (imapconn.Options.DeferNamespace). Planning reads them on the
// first pair with its LIST; the other pairs never need them.
func (e *Engine) connectToCopy(ctx context.Context, job Job, withAppender bool) (*session, error) {
	opts := e.Opts.Conn
	opts.DeferNamespace = true
	return e.dialPair(ctx, job, withAppender, opts)
}

func (e *Engine) dialPair(ctx context.Context, job Job, withAppender bool, opts imapconn.Options) (*session, error) {
	// Both sides log in at once: over a slow link each login costs several
	// round trips. The appender logs in only after the destination let the
	// first connection in, so a wrong password is tried once.
	var src, dst *imapconn.Conn
	var srcErr, dstErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); src, srcErr = imapconn.Dial(ctx, job.Source, opts) }()
	go func() { defer wg.Done(); dst, dstErr = imapconn.Dial(ctx, job.Dest, opts) }()
	wg.Wait()
	s := &session{src: src, dst: dst}
	if srcErr != nil {
		s.close()
		return nil, sideErr("source", srcErr)
	}
	if dstErr != nil {
		s.close()
		return nil, sideErr("destination", dstErr)
	}
	if withAppender {
		s.startAppender(ctx, job, e.Opts.Conn)
	}
	return s, nil
}

// startAppender logs the destination's appender in, in the background,
// when the destination has LITERAL+; session.appender waits for it.
func (s *session) startAppender(ctx context.Context, job Job, opts imapconn.Options) {
	if s.app != nil || s.appDialed != nil || !imapconn.SupportsPipelinedAppend(s.dst.Caps()) {
		return
	}
	// Its own context: closing the session stops a login still under
	// way; the run's context ends the appender as it ends the others.
	appCtx, stop := context.WithCancel(ctx)
	dialed := make(chan struct{})
	s.appDialed, s.stopAppDial = dialed, stop
	go func() {
		defer close(dialed)
		s.app, s.appErr = imapconn.DialAppender(appCtx, job.Dest, opts)
	}()
}

// What an appender is weighed against (appenderPays). A login costs the
// destination a process and its start (Dovecot: about 16 ms of its CPU a
// mailbox in bench ManySmallMailboxes); an APPEND of its own costs the
// destination a transaction (index and uidlist update) where a MULTIAPPEND
// shares one among up to batchMessages messages. Round trips are not
// weighed: on a LITERAL+ server (the appender needs one) the APPENDs of
// the one destination connection do not wait for the server's "+" either
// (imapconn's litPlusConn), so they pipeline as the appender's do.
const (
	appenderLoginCost = 20 * time.Millisecond
	appendOwnCost     = 300 * time.Microsecond
)

// appenderPays says whether a mailbox of this many messages is worth the
// destination's second connection (the appender: MULTIAPPEND): the
// transactions it saves against the servers' login. A small mailbox
// appends on its one destination connection, near its servers or far.
func appenderPays(messages int64) bool {
	return time.Duration(messages)*appendOwnCost > appenderLoginCost
}

func sideErr(side string, err error) error {
	ie := imapconn.Classify("", err)
	cp := *ie
	cp.Op = side + ": " + ie.Op
	return &cp
}

// mailboxRun is the shared state of one mailbox while its folders are copied.
type mailboxRun struct {
	e        *Engine
	job      Job
	mbox     int64
	prog     *Progress
	limit    int64 // max message size, 0 = none
	srcNS    Namespace
	dstNS    Namespace
	errors   atomic.Int64
	cancel   context.CancelCauseFunc
	counters folderCounters

	refusalsMu sync.Mutex
	refusals   map[string]int // folder and UID -> temporary refusals and broken source FETCHes in this run
	// unreadable: messages set aside because the source broke the
	// connection on them, not yet recorded as failures (by folder).
	unreadable map[string][]brokeAt
	// brokenFolders: folders where a source FETCH broke in this run, and
	// the first UID of their careful span (see noteBrokenFetch).
	brokenFolders map[string]uint32
	// freshTried: folders copyFresh had its one try at (fresh.go).
	freshTried map[string]bool
	reported   map[string]bool // kind and folder -> reported in this run (flagreport.go)

	// notes are said in the run's output: folders renamed by the folder map.
	notes []string
	// wholeFolder: folders the destination refused before and has now; a
	// Retry errors pass copies them whole. Set by plan, read after.
	wholeFolder map[string]bool
	// counted: how many messages each source folder held when planned
	// (folders the source did not count are missing). Set by plan, read after.
	counted map[string]int64
	// sizes: the bytes each source folder held when planned, where the
	// source said (STATUS SIZE). Set by plan, read after.
	sizes map[string]int64

	budget *byteBudget // nil: no bound

	gmail *labelState // set by plan when the source is Gmail (gmail.go)
	// dstSystem: the destination's folders that announce a role
	// (SPECIAL-USE), by name, and what each is into Gmail; set by plan.
	dstSystem map[string]gmailFolder
}

// byteBudget is what a pass may still send (Options.ByteBudget). A message
// is charged once, when it is first handed to the copier; sent again after
// a dropped connection, it is not charged twice.
type byteBudget struct {
	mu      sync.Mutex
	left    int64
	charged map[string]bool // folder and UID
}

// messageKey names a message of the mailbox: its folder and UID.
func messageKey(folder string, uid uint32) string { return fmt.Sprintf("%s\x00%d", folder, uid) }

// take charges a message to the budget, or says it does not fit.
func (b *byteBudget) take(folder string, uid uint32, size int64) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := messageKey(folder, uid)
	if b.charged[k] {
		return true
	}
	if size > b.left {
		return false
	}
	b.left -= size
	b.charged[k] = true
	return true
}

func (e *Engine) migrate(ctx context.Context, job Job, mbox int64, prog *Progress, timing *Timing) (notes []string, err error) {
	prog.setPhase("connecting")
	phase := time.Now()
	lap := func(d *time.Duration) { now := time.Now(); *d, phase = now.Sub(phase), now }
	var first *session
	// The appender is decided once the mailbox is counted (appenderPays).
	var withAppender atomic.Bool
	err = e.retry(ctx, prog, func() (progressed bool, err error) {
		first, err = e.connectToCopy(ctx, job, false)
		return false, err
	})
	lap(&timing.Connect)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Its namespaces are read by plan.
	run := &mailboxRun{e: e, job: job, mbox: mbox, prog: prog, cancel: cancel}
	run.limit = e.Opts.MaxMessageSize
	if e.Opts.ByteBudget > 0 {
		run.budget = &byteBudget{left: e.Opts.ByteBudget, charged: map[string]bool{}}
	}
	if l := first.dst.AppendLimit; l > 0 && (run.limit == 0 || l < run.limit) && !e.Opts.ignoreAppendLimit {
		run.limit = l
	}

	prog.setPhase("planning folders")
	// As soon as the folders are counted, the other connection pairs the
	// mailbox is worth log in, while the destination's folders are created.
	var eager []chan *session
	planned := func(s *session, pairs int, messages int64) {
		if eager != nil {
			return
		}
		if appenderPays(messages) {
			withAppender.Store(true)
			s.startAppender(ctx, job, e.Opts.Conn)
		}
		eager = []chan *session{}
		for i := 1; i < pairs; i++ {
			ch := make(chan *session, 1)
			eager = append(eager, ch)
			go func() {
				s, err := e.connectToCopy(ctx, job, withAppender.Load())
				if err != nil {
					s = nil // the worker connects again, with retries
				}
				ch <- s
			}()
		}
	}
	var plans []FolderPlan
	err = e.retry(ctx, prog, func() (bool, error) {
		if first == nil {
			var err error
			if first, err = e.connectToCopy(ctx, job, withAppender.Load()); err != nil {
				return false, err
			}
		}
		var err error
		plans, err = run.plan(ctx, first, planned)
		if err != nil && imapconn.IsTemporary(err) {
			first.close()
			first = nil
		}
		return false, err
	})
	if err != nil {
		if first != nil {
			first.close()
		}
		for _, ch := range eager {
			if s := <-ch; s != nil {
				s.close()
			}
		}
		return nil, err
	}
	lap(&timing.Plan)
	defer lap(&timing.Copy)
	prog.Folders.Store(int64(len(plans)))
	prog.setPhase("copying")

	work := make(chan FolderPlan)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	workers := min(1+len(eager), max(len(plans), 1))
	for i := 0; i < workers; i++ {
		sess := first
		if i > 0 {
			sess = nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 && i-1 < len(eager) {
				sess = <-eager[i-1]
			}
			defer func() {
				if sess != nil {
					sess.logout()
				}
			}()
			for plan := range work {
				connectFailed := false
				err := e.retry(ctx, prog, func() (bool, error) {
					connectFailed = false
					if sess == nil {
						var err error
						if sess, err = e.connectToCopy(ctx, job, withAppender.Load()); err != nil {
							connectFailed = true
							return false, err
						}
					}
					copied, failed := prog.Copied.Load(), prog.Failed.Load()
					err := run.syncFolder(ctx, sess, plan)
					if err != nil && imapconn.IsTemporary(err) {
						run.noteBrokenFetch(plan.Source.Name, err)
						sess.close()
						sess = nil
					}
					// A message set aside and reported lets the folder go on: progress too.
					return prog.Copied.Load() > copied || prog.Failed.Load() > failed, err
				})
				if _, limited := isLimitReached(err); err != nil && !connectFailed && ctx.Err() == nil && !errors.Is(err, errTooManyErrors) && !limited {
					// A folder the servers refuse for good (it cannot be opened,
					// a command about it is refused) is that folder's failure:
					// the other folders go on.
					err = run.folderFailed(ctx, plan, err)
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("folder %s: %w", plan.Path, err)
						if errors.Is(err, errTooManyErrors) {
							firstErr = err
						}
					}
					errMu.Unlock()
					cancel(firstErr)
				}
				prog.FoldersDone.Add(1)
			}
		}()
	}
	for _, p := range plans {
		select {
		case work <- p:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	for _, ch := range eager[min(len(eager), max(workers-1, 0)):] {
		if s := <-ch; s != nil {
			s.logout()
		}
	}
	if firstErr != nil {
		return run.notes, firstErr
	}
	return run.notes, context.Cause(ctx)
}

// A connection pair beyond the first is opened for each messagesPerPair
// messages or bytesPerPair bytes of the mailbox: each pair costs both
// servers logins (three connections with the appender), which a small
// mailbox would spend more time on than on its mail, and which slow the
// servers for every other mailbox of the run.
const (
	messagesPerPair = 500
	bytesPerPair    = 32 << 20
)

// folderAmount is what STATUS told of a source folder.
type folderAmount struct {
	messages, bytes int64
	known           bool // the server answered
}

// connectionPairs is how many connection pairs a mailbox is worth: at
// most limit, one per folder holding mail, and one per messagesPerPair
// messages or bytesPerPair bytes. A folder the server did not count is
// taken as worth a pair of its own.
func connectionPairs(limit int, folders []folderAmount) int {
	var busy, messages, bytes int64
	for _, f := range folders {
		if !f.known {
			f.messages = messagesPerPair
		}
		if f.messages > 0 {
			busy++
		}
		messages += f.messages
		bytes += f.bytes
	}
	worth := max((messages+messagesPerPair-1)/messagesPerPair, (bytes+bytesPerPair-1)/bytesPerPair)
	return int(max(1, min(int64(limit), busy, worth)))
}

// retry runs fn until it succeeds, fails permanently, or fails temporarily
// MaxAttempts times in a row without progress. It waits between attempts
// as long as the server asked, or with jittered exponential back-off.
func (e *Engine) retry(ctx context.Context, prog *Progress, fn func() (progressed bool, err error)) error {
	attempt := 0
	for {
		progressed, err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
				return c
			}
			return ctx.Err()
		}
		ie := imapconn.Classify("", err)
		if ie.DailyLimit {
			return &limitReachedError{err: ie, until: e.Opts.Now().Add(providerDailyLimit)}
		}
		if !ie.Temporary {
			return err
		}
		if progressed {
			attempt = 0
		}
		attempt++
		if attempt >= e.Opts.MaxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		wait := e.throttleWait(ie)
		if wait <= 0 {
			wait = time.Duration(float64(500*time.Millisecond) * float64(uint(1)<<min(attempt-1, 10)) * (0.5 + rand.Float64()))
			wait = min(wait, e.Opts.MaxBackoff)
		}
		wait = min(wait, 15*time.Minute)
		prog.Retries.Add(1)
		e.observer().BackedOff(ie.Throttled)
		prog.setPhase(waitPhase(ie, wait, e.Opts.Now()))
		if ie.Limit != "" {
			prog.waits.add(ie.Limit, e.Opts.Now().Add(wait))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		prog.setPhase("copying")
	}
}

// plan lists both sides, maps folders, creates the missing ones and keeps
// the map. A folder the destination refuses is one reported failure; the
// others are copied.
// planned, when not nil, is told (once the source has counted its folders)
// how many connection pairs the mailbox is worth and how many messages it
// holds.
func (r *mailboxRun) plan(ctx context.Context, s *session, planned func(s *session, pairs int, messages int64)) ([]FolderPlan, error) {
	// Both sides are listed at once.
	// The source counts its folders in the same answer when it can
	// (LIST-STATUS): one round trip less.
	askSize := s.src.Caps().Has(imap.CapStatusSize) || s.src.Caps().Has(imap.CapIMAP4rev2)
	statusOpts := &imap.StatusOptions{NumMessages: true, Size: askSize}
	var srcFolders []Folder
	var listed map[string]*imap.StatusData
	var srcErr error
	var listing sync.WaitGroup
	listing.Go(func() { srcFolders, listed, srcErr = listAll(s.src, true, statusOpts) })
	dstFolders, _, dstErr := listAll(s.dst, true, nil)
	listing.Wait()
	if srcErr != nil {
		return nil, sideErr("source", srcErr)
	}
	if dstErr != nil {
		return nil, sideErr("destination", dstErr)
	}
	r.srcNS = Namespace{Delim: s.src.Delim, Prefix: s.src.Prefix}
	r.dstNS = Namespace{Delim: s.dst.Delim, Prefix: s.dst.Prefix}
	r.dstSystem = map[string]gmailFolder{}
	for _, f := range dstFolders {
		if g, ok := gmailFolderOf(f); ok {
			r.dstSystem[f.Name] = g
		}
	}
	kept, err := r.e.Store.FolderMap(ctx, r.mbox)
	if err != nil {
		return nil, err
	}
	var plans []FolderPlan
	if r.e.Opts.SourceLabels || s.src.Caps().Has(capGmail) {
		if plans, err = r.mapGmailFolders(ctx, s, srcFolders, dstFolders, r.e.Opts.Filter, kept); err != nil {
			return nil, err
		}
	} else {
		plans = MapFolders(srcFolders, r.srcNS, dstFolders, r.dstNS, r.e.Opts.Filter, kept)
	}
	// How much mail each folder holds, asked for (pipelined) while the
	// destination's folders are created: it decides how many connection
	// pairs the mailbox is worth, and big folders go first so that the
	// connections finish together.
	sizes := map[string]int64{}
	var wg sync.WaitGroup
	// Its own list of names: createFolders updates plans meanwhile.
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.Source.Name
	}
	counted := map[string]int64{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		amounts := make([]folderAmount, len(names))
		take := func(i int, st *imap.StatusData) {
			if st.Size != nil {
				sizes[names[i]] = *st.Size
				amounts[i].bytes = *st.Size
			}
			if st.NumMessages != nil {
				amounts[i].messages, amounts[i].known = int64(*st.NumMessages), true
				counted[names[i]] = amounts[i].messages
			}
		}
		// A folder the LIST did not count in full (an optional answer)
		// is asked STATUS, pipelined.
		var ask []int
		for i, name := range names {
			if st := listed[name]; st != nil && st.NumMessages != nil && (st.Size != nil || !askSize) {
				take(i, st)
			} else {
				ask = append(ask, i)
			}
		}
		if len(ask) > 0 {
			s.src.Do(func() error {
				cmds := make([]*imapclient.StatusCommand, len(ask))
				for k, i := range ask {
					cmds[k] = s.src.Status(names[i], statusOpts)
				}
				for k, cmd := range cmds {
					if st, err := cmd.Wait(); err == nil {
						take(ask[k], st)
					}
				}
				return nil
			})
		}
		if planned != nil {
			var messages int64
			for _, a := range amounts {
				if !a.known {
					a.messages = messagesPerPair
				}
				messages += a.messages
			}
			limit := r.e.Opts.Connections
			if r.gmailDest(s) || (r.gmailSource(s) && !r.e.Opts.Labels.FirstLabelOnly) {
				limit = 1 // one folder at a time: see reuseCopies
			}
			planned(s, connectionPairs(limit, amounts), messages)
		}
	}()
	// A name the map gives out, now or in an earlier pass, is no fallback
	// for a refused one.
	taken := map[string]bool{}
	for _, m := range kept {
		taken[foldName(m.Dest)] = true
	}
	for _, p := range plans {
		taken[foldName(p.Dest)] = true
	}
	refused, err := createFolders(s.dst, r.dstNS, plans, dstFolders, taken)
	if err == nil {
		// Subscribing twice is harmless; failures here must not stop mail
		// from moving: the answers are not waited for (the server answers
		// them before the commands that follow on the connection), which
		// saves planning a round trip. A folder the destination listed as
		// subscribed (a later pass) is not asked again; INBOX always is:
		// listAll counts it subscribed when the server did not list it.
		subscribed := map[string]bool{}
		for _, f := range dstFolders {
			if f.Subscribed && f.Name != "INBOX" {
				subscribed[f.Name] = true
			}
		}
		for i, p := range plans {
			if _, no := refused[i]; p.Source.Subscribed && !no && !subscribed[p.Dest] {
				s.dst.Subscribe(p.Dest)
			}
		}
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	r.counted, r.sizes = counted, sizes
	// The map is kept, refused folders included: their names wait for them.
	mappings := make([]store.FolderMapping, len(plans))
	for i, p := range plans {
		mappings[i] = p.mapping()
	}
	if err := r.e.Store.SaveFolderMap(ctx, r.mbox, mappings); err != nil {
		return nil, err
	}
	r.notes = nil
	for i, p := range plans {
		if _, no := refused[i]; p.Renamed != "" && !no {
			r.notes = append(r.notes, fmt.Sprintf("folder %s goes to %s: %s", p.Path, p.Dest, p.Renamed))
		}
	}
	if plans, err = r.refusedFolders(ctx, plans, refused); err != nil {
		return nil, err
	}
	sort.SliceStable(plans, func(i, j int) bool { return sizes[plans[i].Source.Name] > sizes[plans[j].Source.Name] })
	return plans, nil
}

// folderFailed records a folder that failed for good as one failure of
// that folder (UID 0), so that the mailbox's other folders go on and a
// Retry errors pass copies it whole later. It returns err itself when the
// failure is not the folder's own: a temporary one that outlasted the
// retries (the server is in trouble, not the folder) or one that is not
// the servers' answer (the state store).
func (r *mailboxRun) folderFailed(ctx context.Context, plan FolderPlan, err error) error {
	var ie *imapconn.Error
	if !errors.As(err, &ie) || ie.Temporary {
		return err
	}
	hint := ie.Hint
	if hint == "" {
		hint = fmt.Sprintf("Ferry could not work on folder %s; the other folders were copied. Fix what the server says (rights, name), or leave the folder out with --exclude %q, then run Retry errors, which copies the folder whole", plan.Path, plan.Path)
	}
	return r.fail(ctx, []store.Failure{{Folder: plan.Source.Name, Pass: string(r.e.Opts.Pass), ServerText: imapconn.ServerWords(ie.Err), Hint: ie.Op + " was refused: " + hint, At: r.e.Opts.Now()}})
}

// refusedFolders records a failure for each folder the destination refused
// to create, clears the failure of a folder it has now (a Retry errors pass
// copies such a folder whole), and returns the plans that can be copied.
// It is the last step of planning: nothing after it fails, so a failure is
// never counted twice.
func (r *mailboxRun) refusedFolders(ctx context.Context, plans []FolderPlan, refused map[int]error) ([]FolderPlan, error) {
	known, err := r.e.Store.Failures(ctx, r.mbox)
	if err != nil {
		return nil, err
	}
	failedBefore := map[string]bool{}
	for _, f := range known {
		if f.UID == 0 && f.Folder != "" {
			failedBefore[f.Folder] = true
		}
	}
	r.wholeFolder = map[string]bool{}
	var copyable []FolderPlan
	var failures []store.Failure
	for i, p := range plans {
		if answer, no := refused[i]; no {
			failures = append(failures, store.Failure{Folder: p.Source.Name, Pass: string(r.e.Opts.Pass), ServerText: imapconn.ServerWords(answer), At: r.e.Opts.Now(),
				Hint: fmt.Sprintf("the destination refused to create folder %s for %s: rename the folder at the source, or leave it out with --exclude %q; a later pass (Full or Retry errors) tries again", p.Dest, p.Path, p.Path)})
			continue
		}
		if failedBefore[p.Source.Name] {
			if err := r.e.Store.ClearFolderFailure(ctx, r.mbox, p.Source.Name); err != nil {
				return nil, err
			}
			r.wholeFolder[p.Source.Name] = true
		}
		copyable = append(copyable, p)
	}
	return copyable, r.fail(ctx, failures)
}

// createFolders creates the destination folders that are missing. Only
// the mapped folders are created: a server makes the levels above a new
// folder itself (RFC 3501 says it should), so a level that is a
// placeholder at the source (\Noselect) stays one. The folders of one
// depth are created with pipelined commands: one round trip per level of
// the hierarchy. A refused CREATE is looked into (settleRefused); the
// folders still refused are returned, by index in plans, with the
// server's answer. An error means planning must be tried again.
func createFolders(c *imapconn.Conn, ns Namespace, plans []FolderPlan, dstFolders []Folder, taken map[string]bool) (map[int]error, error) {
	listed := map[string]bool{} // placeholders too
	for _, f := range dstFolders {
		listed[f.Name] = true
	}
	var levels [][]int
	for i := range plans {
		if plans[i].DestExists {
			continue
		}
		d := len(ns.segments(plans[i].Dest))
		for len(levels) < d {
			levels = append(levels, nil)
		}
		levels[d-1] = append(levels[d-1], i)
	}
	answers := map[int]error{}
	var order []int
	for _, level := range levels {
		if len(level) == 0 {
			continue
		}
		err := c.Do(func() error {
			cmds := make([]*imapclient.Command, len(level))
			opts := make([]*imap.CreateOptions, len(level))
			for k, i := range level {
				if r := plans[i].Source.Role; r != "" && c.Caps().Has(imap.CapCreateSpecialUse) {
					opts[k] = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{r}}
				}
				cmds[k] = c.Create(plans[i].Dest, opts[k])
			}
			for k, i := range level {
				err := cmds[k].Wait()
				if err != nil && opts[k] != nil && statusAnswer(err) && !alreadyExists(err) {
					// The role may already belong to another folder: create it plain.
					err = c.Create(plans[i].Dest, nil).Wait()
				}
				switch {
				case err == nil || alreadyExists(err):
					plans[i].DestExists = true
					listed[plans[i].Dest] = true
				case statusAnswer(err):
					answers[i] = err
					order = append(order, i)
				default:
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, sideErr("destination", imapconn.Classify("create folders", err))
		}
	}
	refused := map[int]error{}
	for _, i := range order {
		err := c.Do(func() error { return settleRefused(c, ns, &plans[i], answers[i], listed, taken) })
		if err == nil {
			continue
		}
		if !statusAnswer(err) || imapconn.IsTemporary(err) {
			return nil, sideErr("destination", imapconn.Classify("create folder "+plans[i].Dest, err))
		}
		refused[i] = err
	}
	return refused, nil
}

// settleRefused finds out what a refused CREATE means without trusting
// optional response codes (Cyrus answers "NO Mailbox already exists"
// without [ALREADYEXISTS]):
//  1. the name is listed: the folder is there;
//  2. levels above it are missing and the answer is not [CANNOT]: they are
//     created and the CREATE tried again, for a server that wants them;
//  3. the answer refuses the name itself ([CANNOT], or no code): the folder
//     gets a fallback name, its last level with every character other than
//     letters, digits, spaces and -_() replaced by '_', followed by " (2)",
//     " (3)"... when that is taken or unchanged. Any other answer
//     ([NOPERM], [OVERQUOTA], ...) would refuse another name too.
//
// It returns nil when p.Dest (renamed or not) exists, else the server's answer.
func settleRefused(c *imapconn.Conn, ns Namespace, p *FolderPlan, answer error, listed, taken map[string]bool) error {
	if ok, err := isFolder(c, p.Dest); err != nil || ok {
		p.DestExists = ok
		return err
	}
	segs := ns.segments(p.Dest)
	var missing []string
	for d := 1; d < len(segs); d++ {
		if n := ns.join(segs[:d]); !listed[n] && !strings.EqualFold(n, "INBOX") {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 && !hasCode(answer, imap.ResponseCodeCannot) {
		for _, n := range missing {
			if err := c.Create(n, nil).Wait(); err == nil || alreadyExists(err) {
				listed[n] = true
			} else if !statusAnswer(err) {
				return err
			}
		}
		err := c.Create(p.Dest, nil).Wait()
		if err == nil || alreadyExists(err) {
			p.DestExists = true
			return nil
		}
		if !statusAnswer(err) {
			return err
		}
		answer = err
	}
	if !nameRefused(answer) {
		return answer
	}
	leaf := []rune(segs[len(segs)-1])
	for i, r := range leaf {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_()", r) {
			leaf[i] = '_'
		}
	}
	base := ns.join(append(slices.Clone(segs[:len(segs)-1]), string(leaf)))
	alt := base
	for n := 2; alt == p.Dest || taken[foldName(alt)]; n++ {
		alt = fmt.Sprintf("%s (%d)", base, n)
	}
	err := c.Create(alt, nil).Wait()
	if err != nil && !statusAnswer(err) {
		return err
	}
	if err != nil {
		if ok, lerr := isFolder(c, alt); lerr != nil || !ok {
			return cmp.Or(lerr, answer)
		}
	}
	p.Renamed = fmt.Sprintf("the destination refused %s (%s)", p.Dest, imapconn.ServerWords(answer))
	p.Dest, p.DestExists = alt, true
	taken[foldName(alt)] = true
	return nil
}

// isFolder asks the server whether a folder that can hold messages has this name.
func isFolder(c *imapconn.Conn, name string) (bool, error) {
	list, err := c.List("", name, nil).Collect()
	if err != nil {
		return false, err
	}
	for _, d := range list {
		if f := folderFromList(d); strings.EqualFold(f.Name, name) && !f.NoSelect {
			return true, nil
		}
	}
	return false, nil
}

// statusAnswer: the server answered the command (NO or BAD), as opposed to
// a connection that failed.
func statusAnswer(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && (ie.Type == imap.StatusResponseTypeNo || ie.Type == imap.StatusResponseTypeBad)
}

func hasCode(err error, code imap.ResponseCode) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == code
}

func alreadyExists(err error) bool { return hasCode(err, imap.ResponseCodeAlreadyExists) }

// nameRefused: the answer refuses the name, not the act of creating a folder.
func nameRefused(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) || imapconn.Classify("", err).Temporary {
		return false
	}
	return ie.Code == "" || ie.Code == imap.ResponseCodeCannot || ie.Code == imap.ResponseCodeClientBug
}

func listFolders(c *imapconn.Conn) ([]Folder, error) {
	folders, _, err := listAll(c, false, nil)
	return folders, err
}

// listAll lists the folders of a connection. With namespace (a connection
// dialled with DeferNamespace) it reads the namespace (Delim, Prefix) in
// the same round trip: one round trip less for every mailbox. With status,
// a server that can (LIST-STATUS, IMAP4rev2) counts its folders in the
// answer too; it returns what it told, by folder name. The counts are an
// optional answer: a folder may be missing from them, or an item.
func listAll(c *imapconn.Conn, namespace bool, status *imap.StatusOptions) ([]Folder, map[string]*imap.StatusData, error) {
	opts := &imap.ListOptions{}
	if c.Caps().Has(imap.CapListExtended) || c.Caps().Has(imap.CapIMAP4rev2) {
		opts.ReturnSubscribed = true
		if c.Caps().Has(imap.CapSpecialUse) {
			opts.ReturnSpecialUse = true
		}
		if status != nil && (c.Caps().Has(imap.CapListStatus) || c.Caps().Has(imap.CapIMAP4rev2)) {
			opts.ReturnStatus = status
		}
	}
	var list []*imap.ListData
	err := c.Do(func() (err error) {
		waitNamespace := func() error { return nil }
		if namespace {
			waitNamespace = c.StartNamespace()
		}
		cmd := c.List("", "*", opts)
		if err := waitNamespace(); err != nil {
			cmd.Close()
			return err
		}
		list, err = cmd.Collect()
		return err
	})
	if err != nil {
		return nil, nil, imapconn.Classify("list folders", err)
	}
	out := make([]Folder, 0, len(list))
	var counts map[string]*imap.StatusData
	hasInbox := false
	for _, d := range list {
		f := folderFromList(d)
		if f.Name == "INBOX" {
			hasInbox = true
		}
		out = append(out, f)
		if d.Status != nil && opts.ReturnStatus != nil {
			if counts == nil {
				counts = map[string]*imap.StatusData{}
			}
			counts[f.Name] = d.Status
		}
	}
	if !hasInbox {
		out = append(out, Folder{Name: "INBOX", Subscribed: true})
	}
	return out, counts, nil
}
