package projects

import (
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/store"
)

// FolderFigures is one folder of an item, as its page shows it: what is
// copied, and the messages that failed (how many, and their size).
type FolderFigures struct {
	Folder, Dest        string
	Copied, CopiedBytes int64
	Errors              int
	Bytes               int64 // of the messages not copied
}

// ItemFigures are an item's figures: per folder (by name) and the
// folders' total, with the failures of a whole folder or of the mailbox
// (UID 0) apart from those of single messages.
type ItemFigures struct {
	Folders  []FolderFigures
	Total    FolderFigures
	Mailbox  []store.Failure
	Messages []store.Failure
}

// Figures works out the item's figures from its folders and failures.
func (d *ItemDetail) Figures() ItemFigures {
	var f ItemFigures
	byFolder := map[string]*FolderFigures{}
	for _, p := range d.Folders {
		byFolder[p.Source] = &FolderFigures{Folder: p.Source, Dest: p.Dest, Copied: p.Copied, CopiedBytes: p.CopiedBytes}
	}
	for _, x := range d.Failures {
		if x.UID == 0 {
			f.Mailbox = append(f.Mailbox, x)
			continue
		}
		f.Messages = append(f.Messages, x)
		ff := byFolder[x.Folder]
		if ff == nil {
			ff = &FolderFigures{Folder: x.Folder}
			byFolder[x.Folder] = ff
		}
		ff.Errors++
		ff.Bytes += x.Size
	}
	for _, ff := range byFolder {
		f.Folders = append(f.Folders, *ff)
		f.Total.Copied += ff.Copied
		f.Total.CopiedBytes += ff.CopiedBytes
		f.Total.Errors += ff.Errors
		f.Total.Bytes += ff.Bytes
	}
	slices.SortFunc(f.Folders, func(a, b FolderFigures) int { return strings.Compare(a.Folder, b.Folder) })
	return f
}
