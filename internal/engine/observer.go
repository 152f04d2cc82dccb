package engine

// Observer hears what runs do as it happens: messages copied, failures
// recorded, back-offs, mailboxes finished. Ferry's metrics implement it
// (internal/metrics) without the engine knowing of them. Its methods are
// called from the copy path by several goroutines at once: they must be
// safe for concurrent use, cheap, and must not block or allocate per call.
type Observer interface {
	// MessageCopied: one message reached the destination (its record is
	// written at the run's next checkpoint).
	MessageCopied(bytes int64)
	// Failed: a failure was recorded (of a message, a folder or the mailbox
	// as a whole); temporary says whether trying again later may succeed.
	Failed(scope FailureScope, temporary bool)
	// BackedOff: the engine waits before trying again; throttled when the
	// server said it limits Ferry's rate.
	BackedOff(throttled bool)
	// MailboxFinished: a run of the pass over one mailbox ended with this outcome.
	MailboxFinished(pass Pass, outcome Outcome)
}

// FailureScope says what a failure stopped: one message, one folder, or
// the whole mailbox.
type FailureScope string

const (
	ScopeMessage FailureScope = "message"
	ScopeFolder  FailureScope = "folder"
	ScopeMailbox FailureScope = "mailbox"
)

// Outcome is how a mailbox's run ended, in a fixed few words fit for a
// metric label (Result.Run.Status says it for people).
type Outcome string

const (
	OutcomeCompleted           Outcome = "completed"
	OutcomeCompletedWithErrors Outcome = "completed_with_errors"
	OutcomeFailed              Outcome = "failed"
	OutcomeStopped             Outcome = "stopped"
	OutcomePaused              Outcome = "paused_at_limit"
	OutcomeNotStarted          Outcome = "not_started"
)

// Passes lists every Pass.
var Passes = []Pass{PassVerify, PassTrial, PassPrestage, PassFull, PassRetry}

// Outcomes lists every Outcome.
var Outcomes = []Outcome{OutcomeCompleted, OutcomeCompletedWithErrors, OutcomeFailed, OutcomeStopped, OutcomePaused, OutcomeNotStarted}

// outcomeOf maps a run's status to its Outcome.
func outcomeOf(status string) Outcome {
	switch status {
	case "completed":
		return OutcomeCompleted
	case "completed with errors":
		return OutcomeCompletedWithErrors
	case "stopped":
		return OutcomeStopped
	case StatusPausedAtLimit:
		return OutcomePaused
	case "not started":
		return OutcomeNotStarted
	}
	return OutcomeFailed
}

// failureScope tells a recorded failure's scope: one without a UID is a
// folder's.
func failureScope(uid uint32) FailureScope {
	if uid == 0 {
		return ScopeFolder
	}
	return ScopeMessage
}

// nobody is the Observer of runs nobody watches.
type nobody struct{}

func (nobody) MessageCopied(int64)           {}
func (nobody) Failed(FailureScope, bool)     {}
func (nobody) BackedOff(bool)                {}
func (nobody) MailboxFinished(Pass, Outcome) {}

// observer is the run's Observer, never nil.
func (e *Engine) observer() Observer {
	if e.Opts.Observer == nil {
		return nobody{}
	}
	return e.Opts.Observer
}
