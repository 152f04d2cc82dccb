package projects_test

import (
	"reflect"
	"testing"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// TestItemFigures: an item's page shows per folder what is copied and
// what failed (count and size of the messages), the folders' total, and
// the failures of the whole mailbox apart; the service works them out.
func TestItemFigures(t *testing.T) {
	t.Parallel()
	d := &projects.ItemDetail{
		Folders: []store.FolderProgress{
			{Source: "INBOX", Dest: "INBOX", Copied: 10, CopiedBytes: 1000},
			{Source: "Archive", Dest: "Archive", Copied: 5, CopiedBytes: 500},
		},
		Failures: []store.Failure{
			{Folder: "", UID: 0, ServerText: "login refused"},
			{Folder: "INBOX", UID: 7, Size: 300},
			{Folder: "INBOX", UID: 9, Size: 200},
			{Folder: "Gone", UID: 0, ServerText: "cannot create"},
			{Folder: "Junk", UID: 3, Size: 50},
		},
	}
	f := d.Figures()
	want := []projects.FolderFigures{
		{Folder: "Archive", Dest: "Archive", Copied: 5, CopiedBytes: 500},
		{Folder: "INBOX", Dest: "INBOX", Copied: 10, CopiedBytes: 1000, Errors: 2, Bytes: 500},
		{Folder: "Junk", Errors: 1, Bytes: 50},
	}
	if !reflect.DeepEqual(f.Folders, want) {
		t.Errorf("folders %+v\nwant    %+v", f.Folders, want)
	}
	if tot := (projects.FolderFigures{Copied: 15, CopiedBytes: 1500, Errors: 3, Bytes: 550}); f.Total != tot {
		t.Errorf("total %+v, want %+v", f.Total, tot)
	}
	if len(f.Mailbox) != 2 || f.Mailbox[0].ServerText != "login refused" || f.Mailbox[1].ServerText != "cannot create" {
		t.Errorf("mailbox and folder failures %+v", f.Mailbox)
	}
	if len(f.Messages) != 3 {
		t.Errorf("message failures %+v", f.Messages)
	}
}
