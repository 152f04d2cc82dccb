package projects

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// logRun says in the log how a migration ended: one line per mailbox and
// pass, by IDs (no customer or mailbox name, no credential).
func logRun(ctx context.Context, p store.Project, it store.Item, args jobs.PassArgs, res *engine.Result) {
	attrs := []any{"project", p.ID, "item", it.ID, "pass", args.Pass, "status", it.Status, "run", res.Run.Status,
		"copied", res.Run.Copied, "copied_bytes", res.Run.CopiedBytes, "failed", res.Run.Failed,
		"took", res.Timing.Total.Round(time.Millisecond).String()}
	level := slog.LevelInfo
	if res.Err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, "error", res.Err.Error())
	}
	slog.Log(ctx, level, "migration ended", attrs...)
}
