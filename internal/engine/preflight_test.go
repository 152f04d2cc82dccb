package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/testimap"
)

// appendMessage stores a message of about size bytes in folder.
func appendMessage(t *testing.T, c *imapclient.Client, folder, subject string, size int) {
	t.Helper()
	msg := fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n", subject, strings.ReplaceAll(subject, " ", "."))
	var b strings.Builder
	b.WriteString(msg)
	for b.Len() < size {
		b.WriteString(strings.Repeat("x", 76) + "\r\n")
	}
	cmd := c.Append(folder, int64(b.Len()), nil)
	cmd.Write([]byte(b.String()))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
}

// TestSurveyMailboxDovecot surveys a pair of real Dovecot servers: the
// destination ('.' under INBOX.) has a quota, an APPENDLIMIT and a
// maildir++ layout whose whole folder path is one file name.
func TestSurveyMailboxDovecot(t *testing.T) {
	t.Parallel()
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users, AppendLimit: 200 << 10, Quota: 100 << 10})
	c := testimap.Dial(t, src.Addr, user, pass)
	long := strings.Repeat("a", 100) + "/" + strings.Repeat("b", 100) + "/" + strings.Repeat("c", 60)
	for _, f := range []string{"Projects", "projects", long} {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", f, err)
		}
	}
	appendMessage(t, c, "INBOX", "small one", 2000)
	appendMessage(t, c, "INBOX", "big one", 300<<10)
	appendMessage(t, c, "projects", "other", 1000)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := engine.New(nil, engine.Options{})
	sv, err := e.SurveyMailbox(ctx, engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sv.SourceErr != nil || sv.DestErr != nil {
		t.Fatalf("sign-in: %v / %v", sv.SourceErr, sv.DestErr)
	}
	if sv.DestMaxMessage != 200<<10 {
		t.Errorf("message limit %d, want the APPENDLIMIT %d", sv.DestMaxMessage, 200<<10)
	}
	if len(sv.Oversized) != 1 || sv.Oversized[0].Subject != "big one" || sv.Oversized[0].Folder != "INBOX" || sv.Oversized[0].UID != 2 {
		t.Errorf("oversized %+v, want INBOX UID 2 big one", sv.Oversized)
	}
	if sv.Quota == nil || sv.Quota.Limit != 100<<10 {
		t.Errorf("quota %+v, want a limit of 100 KiB", sv.Quota)
	}
	if sv.Messages != 3 || sv.Bytes < 300<<10 {
		t.Errorf("source %d messages, %d bytes", sv.Messages, sv.Bytes)
	}
	byPath := map[string]engine.FolderSurvey{}
	for _, f := range sv.Folders {
		byPath[f.Path] = f
	}
	if f := byPath["projects"]; f.Renamed == "" || f.Dest != "INBOX.projects (2)" || f.Messages != 1 {
		t.Errorf("projects: %+v, want renamed to INBOX.projects (2) beside Projects", f)
	}
	if f := byPath[long]; f.Depth != 3 || f.LongestName != 100 {
		t.Errorf("long path: %+v", f)
	}
	// What the pre-flight's path limit stands for: this Dovecot refuses the
	// long path (maildir++ keeps the whole path in one file name).
	dc := testimap.Dial(t, dst.Addr, user, pass)
	err = dc.Create(byPath[long].Dest, nil).Wait()
	var ie *imap.Error
	if err == nil {
		t.Errorf("the destination created %s; the test's path limit would not be the server's", byPath[long].Dest)
	} else if !errors.As(err, &ie) {
		t.Errorf("create: %v", err)
	} else {
		t.Logf("destination refuses %d characters: %v", len(byPath[long].Dest), err)
	}
}

// TestSurveyMailboxGoesOnPastAnUnreadableFolder: a folder the source will
// not open (a shared folder without rights) is named, and the others are
// still counted and searched.
func TestSurveyMailboxGoesOnPastAnUnreadableFolder(t *testing.T) {
	t.Parallel()
	src := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	c := testimap.Dial(t, src.Addr, user, pass)
	if err := c.Create("Shared", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMessage(t, c, "Shared", "team notes", 1000)
	appendMessage(t, c, "INBOX", "huge", 50<<10)
	src.Faults.BeforeSelect = func(name string) error {
		if name == "Shared" {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Permission denied"}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sv, err := engine.New(nil, engine.Options{}).SurveyMailbox(ctx, engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}, 10<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.Unreadable) != 1 || sv.Unreadable[0].Path != "Shared" || !strings.Contains(sv.Unreadable[0].Err.Error(), "Permission denied") {
		t.Fatalf("unreadable %+v", sv.Unreadable)
	}
	if len(sv.Oversized) != 1 || sv.Oversized[0].Subject != "huge" {
		t.Fatalf("oversized %+v", sv.Oversized)
	}
}
