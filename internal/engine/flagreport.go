package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/store"
)

// Flags the destination does not take never fail a message or a mailbox:
// the message is there, only flags are missing. Each folder reports them
// once per run, as one failure named after the first message concerned:
//   - keywords the destination will not store (PERMANENTFLAGS without \*
//     and without the keyword), which Ferry leaves out of APPEND and STORE;
//   - a flag update (STORE) the destination refuses, e.g. at its keyword
//     limit. Its copies keep their old flags in the state, so the next
//     Full or Retry errors pass tries the update again; once it succeeds,
//     the failure is cleared with the copy's new flags.

// keywordLoss gathers the keywords a folder's destination would not store.
type keywordLoss struct {
	words map[string]bool
	first *message // the first message concerned
}

func (k *keywordLoss) add(m *message, flags string, allowKeywords bool, allowed map[string]bool) {
	if allowKeywords {
		return
	}
	for _, f := range parseFlags(flags) {
		if !keptFlag(f, allowKeywords, allowed) {
			if k.words == nil {
				k.words = map[string]bool{}
			}
			k.words[string(f)] = true
			if k.first == nil {
				k.first = m
			}
		}
	}
}

// failure is the report of the lost keywords, or nil.
func (k *keywordLoss) failure(folder string, pass Pass) *store.Failure {
	if len(k.words) == 0 {
		return nil
	}
	words := slices.Sorted(maps.Keys(k.words))
	return &store.Failure{Folder: folder, UID: k.first.uid, Subject: k.first.subject, Size: k.first.size, Pass: string(pass),
		ServerText: fmt.Sprintf("the destination will not store the keywords %s (its PERMANENTFLAGS lack them and \\*)", strings.Join(words, " ")),
		Hint: "the messages of this folder (this one first) were copied without these keywords; Ferry does not set them later. " +
			"If they matter, have the destination accept them (e.g. create them there) and set them by hand"}
}

func (r *mailboxRun) wasReported(kind, folder string) bool {
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	return r.reported[kind+"\x00"+folder]
}

// reportOnce says whether a folder's report of this kind is still to be
// made in this run (and counts it as made).
func (r *mailboxRun) reportOnce(kind, folder string) bool {
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	if r.reported == nil {
		r.reported = map[string]bool{}
	}
	k := kind + "\x00" + folder
	if r.reported[k] {
		return false
	}
	r.reported[k] = true
	return true
}

// reportKeywordLoss records a folder's lost keywords once per run. It is
// called after the copies concerned are recorded (recording a copy clears
// its message's failures).
func (r *mailboxRun) reportKeywordLoss(ctx context.Context, folder string, k *keywordLoss) error {
	f := k.failure(folder, r.e.Opts.Pass)
	if f == nil || !r.reportOnce("keywords", folder) {
		return nil
	}
	return r.fail(ctx, []store.Failure{*f})
}
