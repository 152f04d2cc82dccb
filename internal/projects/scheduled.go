package projects

import (
	"context"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// NextPass is a pass of a project's item queued to start at a time.
type NextPass struct {
	ItemID int64     `json:"item_id"`
	Source string    `json:"source"`
	Pass   string    `json:"pass"`
	At     time.Time `json:"at"`
}

// scheduledLook is how many of the queue's scheduled passes NextPasses reads.
const scheduledLook = 1000

// NextPasses lists the project's passes queued to start later, soonest
// first, at most n (the queue's scheduled jobs; none without a queue).
func (s *Service) NextPasses(ctx context.Context, projectID int64, n int) ([]NextPass, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	out := []NextPass{}
	if s.Queue == nil {
		return out, nil
	}
	sched, err := s.Queue.Scheduled(ctx, scheduledLook)
	if err != nil || len(sched) == 0 {
		return out, err
	}
	ids := make([]int64, 0, len(sched))
	for _, j := range sched {
		ids = append(ids, j.Args.ItemID)
	}
	items, _, err := s.Store.Items(ctx, projectID, store.ItemFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	source := map[int64]string{}
	for _, it := range items {
		source[it.ID] = it.Source
	}
	for _, j := range sched {
		if src, ok := source[j.Args.ItemID]; ok && len(out) < n {
			out = append(out, NextPass{ItemID: j.Args.ItemID, Source: src, Pass: j.Args.Pass, At: j.At})
		}
	}
	return out, nil
}
