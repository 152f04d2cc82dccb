package engine_test

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

func dovecotEndpoint(d *testimap.Dovecot, login string) imapconn.Endpoint {
	return imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, User: login, Password: pass, AllowPlaintext: true}
}

func migrateOnce(t *testing.T, job engine.Job, opts engine.Options) *engine.Result {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return engine.New(st, opts).Migrate(ctx, job, nil)
}

// TestDovecotAcrossLayouts moves the awkward corpus (a 30 MB message, bare
// LF, 8-bit headers, look-alikes, deep and emoji folders) plus ordinary mail
// from a '/'-separated Dovecot to a '.'-separated one whose folders live
// under INBOX., and checks bytes, flags, dates and subscriptions.
func TestDovecotAcrossLayouts(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users})
	c := testimap.Dial(t, src.Addr, user, pass)
	for _, m := range []*corpus.Corpus{corpus.Awkward(1), corpus.Generate(corpus.Spec{Seed: 5, Messages: 300, Folders: 12, MaxSize: 1 << 20})} {
		if err := corpus.Load(context.Background(), c, m); err != nil {
			t.Fatal(err)
		}
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	r := migrateOnce(t, engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}, engine.Options{})
	requireOK(t, r)
	got := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	if d := want.Diff(got); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}

	// Folders really live under INBOX. with '.' and international names survive.
	dc := testimap.Dial(t, dst.Addr, user, pass)
	list, err := dc.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	subscribed := map[string]bool{}
	for _, l := range list {
		subscribed[l.Mailbox] = true
		if l.Mailbox != "INBOX" && !strings.HasPrefix(l.Mailbox, "INBOX.") {
			t.Errorf("destination folder %q is outside the INBOX. namespace", l.Mailbox)
		}
	}
	srcList, _ := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	for _, l := range srcList {
		if l.Mailbox == "INBOX" {
			continue
		}
		name := "INBOX." + strings.ReplaceAll(strings.ReplaceAll(l.Mailbox, ".", "_"), "/", ".")
		if !subscribed[name] {
			t.Errorf("source folder %q is subscribed but %q is not", l.Mailbox, name)
		}
	}
	foundEmoji := false
	for p := range got {
		if strings.ContainsRune(p, '📦') || strings.Contains(p, "📁") {
			foundEmoji = true
		}
	}
	if !foundEmoji {
		t.Errorf("no emoji folder arrived: %v", keys(got))
	}
}

func keys(s testimap.Snapshot) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}

// TestDovecotSpecialUseByRole: the source's Sent goes into the destination's
// existing "Sent Items", found by role, not by name.
func TestDovecotSpecialUseByRole(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users})
	dc := testimap.Dial(t, dst.Addr, user, pass)
	if err := dc.Create("INBOX.Sent Items", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 9, Messages: 120, Folders: 8, MaxSize: 64 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	requireOK(t, migrateOnce(t, engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}, engine.Options{}))
	got := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	if len(want["Sent"]) == 0 {
		t.Fatal("corpus has no Sent messages")
	}
	if d := (testimap.Snapshot{"x": want["Sent"]}).Diff(testimap.Snapshot{"x": got["Sent Items"]}); d != "" || len(got["Sent"]) != 0 {
		t.Fatalf("Sent did not go to Sent Items (%d left in Sent):\n%s", len(got["Sent"]), d)
	}
}

// TestDovecotMasterUserTLSAndAppendLimit: an administrator acts for the
// mailbox through SASL PLAIN over implicit TLS at the source; the
// destination speaks STARTTLS and refuses large messages with APPENDLIMIT.
func TestDovecotMasterUserTLSAndAppendLimit(t *testing.T) {
	t.Parallel()
	admin := testimap.User{Name: "migration-admin", Password: "admin-pw"}
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, MasterUser: &admin, TLS: true})
	const limit = 12 << 10
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, TLS: true, AppendLimit: limit})
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 11, Messages: 80, Folders: 4, MaxSize: 400 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	big := 0
	for _, m := range mail.Messages {
		if m.Size > limit {
			big++
		}
	}
	host, port, _ := net.SplitHostPort(src.TLSAddr)
	p, _ := strconv.Atoi(port)
	job := engine.Job{
		Source: imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityTLS, User: admin.Name, ActAs: user, Password: admin.Password,
			TLSConfig: &tls.Config{RootCAs: src.RootCAs, ServerName: "127.0.0.1"}},
		Dest: imapconn.Endpoint{Host: dst.Host, Port: dst.Port, Security: imapconn.SecurityStartTLS, User: user, Password: pass,
			TLSConfig: &tls.Config{RootCAs: dst.RootCAs, ServerName: "127.0.0.1"}},
	}
	r := migrateOnce(t, job, engine.Options{MaxErrors: 1000})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if big == 0 || r.Run.Failed != int64(big) || r.Run.Copied != int64(len(mail.Messages)-big) {
		t.Fatalf("copied %d failed %d; %d messages exceed APPENDLIMIT", r.Run.Copied, r.Run.Failed, big)
	}
	for _, f := range r.Failures {
		if !strings.Contains(f.ServerText, "larger than the limit") {
			t.Fatalf("unexpected failure %+v", f)
		}
	}
	// The wrong admin password is a permanent, clear error.
	job.Source.Password = "nope"
	r = migrateOnce(t, job, engine.Options{})
	if r.Err == nil || imapconn.IsTemporary(r.Err) || !strings.Contains(r.Err.Error(), "act for "+user) {
		t.Fatalf("err = %v", r.Err)
	}
}

// TestDovecotConnectionCutMidMessage cuts the source connection in the
// middle of message bodies, several times, through a proxy in front of a
// real Dovecot: the copy resumes and ends exact.
func TestDovecotConnectionCutMidMessage(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users})
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 21, Messages: 400, Folders: 6, MaxSize: 2 << 20})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	proxy := testimap.StartProxy(t, src.Addr)
	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	host, port, _ := net.SplitHostPort(proxy.Addr)
	job.Source.Host = host
	job.Source.Port, _ = strconv.Atoi(port)

	prog := &engine.Progress{}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Re-arm the cut a few times while the copy runs.
	stopCuts := proxy.CutEach(2<<20, 2<<20+1500<<10, 2<<20+3000<<10, 2<<20+4500<<10)
	r := engine.New(st, engine.Options{MaxBackoff: 20 * time.Millisecond}).Migrate(context.Background(), job, prog)
	stopCuts()
	requireOK(t, r)
	if proxy.Cuts() < 2 {
		t.Fatalf("only %d cuts happened", proxy.Cuts())
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("after %d cuts the destination differs:\n%s", proxy.Cuts(), d)
	}
}

// TestDovecotRefusedMultiAppendFallsBackToSingleMessages: Dovecot stores a
// MULTIAPPEND whole or not at all. When it refuses one message of a batch
// (here: over its APPENDLIMIT, sent anyway), the batch's other messages are
// sent again one by one, and only the refused message is reported, with the
// server's words.
func TestDovecotRefusedMultiAppendFallsBackToSingleMessages(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users})
	const limit = 40 << 10
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, AppendLimit: limit})
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 31, Messages: 300, Folders: 3, MaxSize: 200 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	big := 0
	for _, m := range mail.Messages {
		if m.Size > limit {
			big++
		}
	}
	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	opts := engine.Options{MaxErrors: 1000, MaxBackoff: 20 * time.Millisecond}
	engine.IgnoreAppendLimit(&opts)
	r := migrateOnce(t, job, opts)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if big == 0 || r.Run.Failed != int64(big) || r.Run.Copied != int64(len(mail.Messages)-big) {
		t.Fatalf("copied %d failed %d; %d of %d messages exceed APPENDLIMIT", r.Run.Copied, r.Run.Failed, big, len(mail.Messages))
	}
	for _, f := range r.Failures {
		if f.UID == 0 || f.Subject == "" || f.Size <= limit || !strings.Contains(f.ServerText, "maximum size") {
			t.Fatalf("unexpected failure %+v", f)
		}
	}
	if n := testimap.TakeSnapshot(t, dst.Addr, user, pass).Count(); n != len(mail.Messages)-big {
		t.Fatalf("destination holds %d messages, want %d", n, len(mail.Messages)-big)
	}
}

// TestDovecotFolderMapIsInjective: source folders that would meet in one
// folder of a Dovecot with folders under INBOX. and '.' between levels
// each get a folder of their own, named the same on every pass; a name
// Dovecot refuses gets a fallback. want maps source folders to
// destination snapshot paths (INBOX. left out, levels joined by '/').
func TestDovecotFolderMapIsInjective(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		folders []string
		want    map[string]string
	}{
		{"Work and INBOX/Work", []string{"INBOX", "INBOX/Work", "Work"},
			map[string]string{"INBOX": "INBOX", "Work": "Work", "INBOX/Work": "Work (2)"}},
		{"Child and INBOX/Child, with a level below", []string{"INBOX", "Child", "INBOX/Child", "INBOX/Child/Deep"},
			map[string]string{"INBOX": "INBOX", "Child": "Child", "INBOX/Child": "Child (2)", "INBOX/Child/Deep": "Child (2)/Deep"}},
		{"Reports.2024 and Reports_2024", []string{"Reports.2024", "Reports_2024"},
			map[string]string{"Reports_2024": "Reports_2024", "Reports.2024": "Reports_2024 (2)"}},
		{"Case and case", []string{"case", "Case"},
			map[string]string{"Case": "Case", "case": "case (2)"}},
		{"~tilde refused, its fallback taken", []string{"_tilde", "~tilde"},
			map[string]string{"_tilde": "_tilde", "~tilde": "_tilde (2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: []testimap.User{{Name: user, Password: pass}}})
			b := folderBundle(t, tt.folders, dovecotEndpoint(dst, user))
			renamed := 0
			for from, to := range tt.want {
				if from != to {
					renamed++
				}
			}
			// Verify credentials shows the map before anything moves.
			r := b.run(t, func(o *engine.Options) { o.Pass = engine.PassVerify })
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			shown := map[string]bool{}
			for _, f := range r.Check.Folders {
				if f.Renamed != "" {
					shown[f.Source] = true
				}
			}
			for from, to := range tt.want {
				if from != to && !strings.HasPrefix(from, "~") && !shown[from] { // a refusal is known once tried
					t.Errorf("Verify credentials does not show %s renamed: %+v", from, r.Check.Folders)
				}
			}

			r = b.run(t, nil)
			requireOK(t, r)
			if len(r.Notes) != renamed {
				t.Errorf("notes %q, want %d renamed folders", r.Notes, renamed)
			}
			requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dst.Addr, user, pass), tt.want)
			b.secondPassKeepsTheMap(t, dst.Addr, tt.want, folderMapOf(t, b.st, b.job))
		})
	}
}

// TestDovecotPlaceholderFoldersStayPlaceholders: a level that exists at
// the source only to hold folders (\Noselect) is not made a real folder
// at the destination; the hierarchy is kept.
func TestDovecotPlaceholderFoldersStayPlaceholders(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users})
	loadFolders(t, src.Addr, []string{"INBOX", "Projects/2024/Q1", "Projects/2024/Q2"})
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	requireOK(t, migrateOnce(t, engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}, engine.Options{}))
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}
	list, err := testimap.Dial(t, dst.Addr, user, pass).List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		attrs[l.Mailbox] = l.Attrs
	}
	for _, name := range []string{"INBOX.Projects", "INBOX.Projects.2024"} {
		a, listed := attrs[name]
		if listed && !slices.Contains(a, imap.MailboxAttrNoSelect) && !slices.Contains(a, imap.MailboxAttrNonExistent) {
			t.Errorf("%s was created as a real folder (%v); the source has it only as a placeholder", name, a)
		}
	}
	for _, name := range []string{"INBOX.Projects.2024.Q1", "INBOX.Projects.2024.Q2"} {
		if _, listed := attrs[name]; !listed {
			t.Errorf("%s is missing: %v", name, attrs)
		}
	}
}

// TestDovecotCutInsideHeaders: the connection to the source drops inside
// the header sections the engine reads to know each message (the identity
// FETCH), several times. The FETCH is never read on after its body broke
// (go-imap's reader has the connection back: under -race that was a data
// race), the pass reconnects and ends exact.
func TestDovecotCutInsideHeaders(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users})
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 23, Messages: 300, Folders: 2, MaxSize: 8 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	proxy := testimap.StartProxy(t, src.Addr)
	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	host, port, _ := net.SplitHostPort(proxy.Addr)
	job.Source.Host = host
	job.Source.Port, _ = strconv.Atoi(port)
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The first bytes after the logins and the folder list are the
	// identity FETCH's headers: cut a few KB into them, again and again.
	stopCuts := proxy.CutEach(6<<10, 6<<10+5<<10, 6<<10+10<<10, 6<<10+15<<10)
	r := engine.New(st, engine.Options{MaxBackoff: 20 * time.Millisecond}).Migrate(context.Background(), job, &engine.Progress{})
	stopCuts()
	requireOK(t, r)
	if proxy.Cuts() < 2 {
		t.Fatalf("only %d cuts happened", proxy.Cuts())
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("after %d cuts the destination differs:\n%s", proxy.Cuts(), d)
	}
}
