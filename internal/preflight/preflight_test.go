package preflight_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/store"
)

func TestLimitsLayers(t *testing.T) {
	t.Parallel()
	m365 := store.Endpoint{Type: "office365"}
	tests := []struct {
		name string
		dst  store.Endpoint
		p    store.Project
		want store.Limits
	}{
		{"Microsoft 365's documented limits", m365, store.Project{},
			store.Limits{MaxMessageSize: 35 << 20, MaxFolderItems: 1_000_000, MaxFolderDepth: 300, MaxFolderNameLength: 255, MaxFolderPathLength: 255}},
		{"the endpoint's message size and limits win", store.Endpoint{Type: "office365", MaxMessageSize: 150 << 20, Limits: store.Limits{MaxFolderDepth: 10}}, store.Project{},
			store.Limits{MaxMessageSize: 150 << 20, MaxFolderItems: 1_000_000, MaxFolderDepth: 10, MaxFolderNameLength: 255, MaxFolderPathLength: 255}},
		{"the project's win over both", store.Endpoint{Type: "office365", Limits: store.Limits{MaxFolderDepth: 10}}, store.Project{Limits: store.Limits{MaxFolderDepth: 5, MaxFolderItems: 100}},
			store.Limits{MaxMessageSize: 35 << 20, MaxFolderItems: 100, MaxFolderDepth: 5, MaxFolderNameLength: 255, MaxFolderPathLength: 255}},
		{"a generic server knows none", store.Endpoint{Type: "imap"}, store.Project{}, store.Limits{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := preflight.Limits(tc.dst, tc.p); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	it := store.Item{ID: 3, Source: "Alice@contoso.com", Dest: "alice@contoso.onmicrosoft.com"}
	lim := store.Limits{MaxFolderItems: 100, MaxFolderDepth: 3, MaxFolderNameLength: 10, MaxFolderPathLength: 20}
	ok := engine.FolderSurvey{Path: "INBOX", DestPath: "INBOX", Depth: 1, LongestName: 5, Messages: 10}
	tests := []struct {
		name   string
		sv     engine.Survey
		checks []string
		keys   []string
	}{
		{"nothing wrong", engine.Survey{Folders: []engine.FolderSurvey{ok}, Bytes: 100, Quota: &engine.Quota{Limit: 1000}}, nil, nil},
		{"sign-in refused on both sides stops there", engine.Survey{SourceErr: &imapconn.Error{Err: errors.New("NO auth")}, DestErr: &imapconn.Error{Err: errors.New("NO auth")}},
			[]string{preflight.CheckSourceSignIn, preflight.CheckDestSignIn}, []string{"alice@contoso.com|source-sign-in|", "alice@contoso.com|destination-mailbox|"}},
		{"a folder the source will not open", engine.Survey{Folders: []engine.FolderSurvey{ok}, Unreadable: []engine.UnreadableFolder{{Path: "Shared", Err: &imapconn.Error{Err: errors.New("NO Permission denied")}}}},
			[]string{preflight.CheckSurvey}, []string{"alice@contoso.com|survey|Shared"}},
		{"quota too small for the source", engine.Survey{Folders: []engine.FolderSurvey{ok}, Bytes: 1000, Quota: &engine.Quota{Usage: 200, Limit: 1100}},
			[]string{preflight.CheckQuota}, []string{"alice@contoso.com|quota|"}},
		{"each oversized message by folder and UID", engine.Survey{Folders: []engine.FolderSurvey{ok}, DestMaxMessage: 10,
			Oversized: []engine.OversizedMessage{{Folder: "INBOX", UID: 7, Subject: "big", Size: 20}, {Folder: "Sent", UID: 7, Subject: "big too", Size: 30}}},
			[]string{preflight.CheckMessageSize, preflight.CheckMessageSize}, []string{"alice@contoso.com|message-size|INBOX|7", "alice@contoso.com|message-size|Sent|7"}},
		{"folder limits", engine.Survey{Folders: []engine.FolderSurvey{
			{Path: "Big", DestPath: "Big", Depth: 1, LongestName: 3, Messages: 101},
			{Path: "a/b/c/d", DestPath: "a/b/c/d", Depth: 4, LongestName: 1},
			{Path: "Projects-2019-and-older", DestPath: "Projects-2019-and-older", Depth: 1, LongestName: 23},
			{Path: "projects", DestPath: "projects (2)", Depth: 1, LongestName: 12, Renamed: "source folder Projects already goes to Projects"},
		}}, []string{preflight.CheckFolderItems, preflight.CheckFolderDepth, preflight.CheckFolderName, preflight.CheckFolderPath, preflight.CheckFolderCollides, preflight.CheckFolderName},
			[]string{"alice@contoso.com|folder-items|Big", "alice@contoso.com|folder-depth|a/b/c/d", "alice@contoso.com|folder-name-length|Projects-2019-and-older",
				"alice@contoso.com|folder-path-length|Projects-2019-and-older", "alice@contoso.com|folder-collides|projects", "alice@contoso.com|folder-name-length|projects"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := preflight.Check(it, &tc.sv, lim)
			var checks, keys []string
			for _, f := range got {
				checks, keys = append(checks, f.Check), append(keys, f.Key)
				if f.Found == "" || f.Action == "" || f.Severity == "" || f.ItemID != it.ID || f.Mailbox != it.Source {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if !slices.Equal(checks, tc.checks) || !slices.Equal(keys, tc.keys) {
				t.Fatalf("checks %q keys %q, want %q %q", checks, keys, tc.checks, tc.keys)
			}
		})
	}
}

func TestWriteCSVMakesCellsSafe(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	f := preflight.Finding{Mailbox: "=cmd@contoso.com", Check: preflight.CheckMessageSize, Severity: "medium", Found: `message "=HYPERLINK()" is big`, Action: "-remove it"}
	if err := preflight.WriteCSV(&b, []preflight.Finding{f}); err != nil {
		t.Fatal(err)
	}
	want := "Mailbox,Check,Severity,Found,Action\n'=cmd@contoso.com,message-size,medium,\"message \"\"=HYPERLINK()\"\" is big\",'-remove it\n"
	if b.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	if !strings.Contains(f.Title(), "=cmd@contoso.com") {
		t.Fatal(f.Title())
	}
}
