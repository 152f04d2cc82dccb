package dnscheck_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testdns"
)

// single is one worker on a fresh SQLite file, with its clock.
func single(t *testing.T) (*dnscheck.Service, *testdns.Server, *clock, fixture) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := jobs.NewSQLite(context.Background(), st.DB(), nil, jobs.Options{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	dns := testdns.Start(t)
	clk := &clock{t: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)}
	fx := seed(t, st, dns.Addr)
	return &dnscheck.Service{Store: st, Queue: q, Now: clk.now}, dns, clk, fx
}

func cutovers(t *testing.T, s *dnscheck.Service) []store.MXCutover {
	t.Helper()
	cs, err := s.Store.MXCutovers(operator, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func watch(t *testing.T, s *dnscheck.Service) {
	t.Helper()
	if err := s.WatchMX(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestMXFlapDoesNotCutOver: an answer that goes back and forth between
// the source and Microsoft 365 (a DNS provider's servers not agreeing yet)
// never holds two checks in a row, so nothing happens however long it
// lasts; once it holds, the cutover follows.
func TestMXFlapDoesNotCutOver(t *testing.T) {
	t.Parallel()
	s, dns, clk, _ := single(t)
	dns.Set(t, "contoso.com. 60 IN MX 10 mail.contoso.com.")
	for range 6 {
		dns.Set(t, "contoso.com. 60 IN MX 0 contoso-com.mail.protection.outlook.com.")
		watch(t, s)
		clk.add(5 * time.Minute)
		dns.Set(t, "contoso.com. 60 IN MX 10 mail.contoso.com.")
		watch(t, s)
		clk.add(5 * time.Minute)
	}
	// Half the MX records moved is not moved either.
	dns.Set(t, "contoso.com. 60 IN MX 0 contoso-com.mail.protection.outlook.com.", "contoso.com. 60 IN MX 20 mail.contoso.com.")
	watch(t, s)
	clk.add(5 * time.Minute)
	watch(t, s)
	if cs := cutovers(t, s); len(cs) != 0 {
		t.Fatalf("a flapping answer cut over: %+v", cs)
	}
	dns.Set(t, "contoso.com. 60 IN MX 0 contoso-com.mail.protection.outlook.com.")
	watch(t, s)
	if cs := cutovers(t, s); len(cs) != 0 {
		t.Fatalf("cut over after one check: %+v", cs)
	}
	clk.add(5 * time.Minute)
	watch(t, s)
	if cs := cutovers(t, s); len(cs) != 1 {
		t.Fatalf("no cutover after two checks past the TTL: %+v", cs)
	}
}

// TestMXWaitsOutLargestTTL: the cutover waits, from the first check that
// saw the new MX, for the largest TTL of the records it replaced or its
// own, as the test's clock says.
func TestMXWaitsOutLargestTTL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		before, after string
		wait          time.Duration
	}{
		{"old records' TTL", "contoso.com. 7200 IN MX 10 mail.contoso.com.", "contoso.com. 300 IN MX 0 contoso-com.mail.protection.outlook.com.", 2 * time.Hour},
		{"new records' TTL", "contoso.com. 60 IN MX 10 mail.contoso.com.", "contoso.com. 3600 IN MX 0 contoso.mx.microsoft.", time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, dns, clk, _ := single(t)
			dns.Set(t, tc.before)
			watch(t, s)
			dns.Set(t, tc.after)
			clk.add(time.Minute)
			watch(t, s) // first check at the destination: the wait starts
			start := clk.now()
			clk.add(tc.wait - time.Second)
			watch(t, s)
			if cs := cutovers(t, s); len(cs) != 0 {
				t.Fatalf("cut over %s before the TTL ended: %+v", time.Second, cs)
			}
			ds, _ := s.Store.EngagementDomains(operator, 0)
			if len(ds) != 1 || !ds[0].ReadyAt.Equal(start.Add(tc.wait)) || ds[0].Streak != 2 {
				t.Fatalf("watch state = %+v, want ready at %s", ds, start.Add(tc.wait))
			}
			clk.add(time.Second)
			watch(t, s)
			if cs := cutovers(t, s); len(cs) != 1 || !cs[0].At.Equal(start.Add(tc.wait)) {
				t.Fatalf("cutovers at the end of the TTL: %+v", cs)
			}
		})
	}
}

// TestCutoverByHand: the operator's button cuts over at once, whatever DNS
// says, names who pressed it, and the watch does not do it again.
func TestCutoverByHand(t *testing.T) {
	t.Parallel()
	s, dns, _, fx := single(t)
	dns.Set(t, sourceMX)
	c, err := s.Cutover(operator, fx.engagement.ID, "contoso.com")
	if err != nil || c.Trigger != "operator test operator" || c.Queued != 2 || c.MX != "10 mail.contoso.com (the source system, TTL 300)" {
		t.Fatalf("Cutover = %+v, %v", c, err)
	}
	if _, err := s.Cutover(operator, fx.engagement.ID, "fabrikam.com"); err == nil {
		t.Fatal("cutover of a domain the engagement does not have")
	}
	dns.Set(t, m365MX)
	watch(t, s)
	watch(t, s)
	if cs := cutovers(t, s); len(cs) != 1 {
		t.Fatalf("cutovers = %+v", cs)
	}
}
