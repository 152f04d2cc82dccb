package web

import (
	"net/http"
	"sort"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(route{Pattern: "GET /items/{id}", Action: auth.ActionReadItem, Handle: (*server).item})
}

// folderSummary is one folder: what is copied and what is not.
type folderSummary struct {
	Folder, Dest        string
	Copied, CopiedBytes int64
	Errors              int
	Bytes               int64 // of the messages not copied
}

type itemData struct {
	Customer store.Customer
	Project  store.Project
	Item     *projects.ItemDetail
	Folders  []folderSummary
	Folder   folderSummary   // the folders' totals
	Mailbox  []store.Failure // failures of the whole mailbox (UID 0)
	Messages []store.Failure
	Totals   struct {
		Copied, Bytes, Failed int64
	}
	Edit itemEditForm
}

func (s *server) item(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderItem(w, r, http.StatusOK, id, itemEditForm{})
}

// renderItem shows an item's page, with the edit form's values and error
// after a refused edit.
func (s *server) renderItem(w http.ResponseWriter, r *http.Request, status int, id int64, edit itemEditForm) error {
	ctx := r.Context()
	it, err := s.Store.Item(ctx, id)
	if err != nil {
		return err
	}
	p, err := s.Store.Project(ctx, it.ProjectID)
	if err != nil {
		return err
	}
	if err := s.allow(r, p.CustomerID); err != nil {
		return err
	}
	d := &itemData{Project: p, Edit: edit}
	if d.Customer, err = s.Store.Customer(ctx, p.CustomerID); err != nil {
		return err
	}
	if d.Item, err = s.Projects.Item(ctx, id); err != nil {
		return err
	}
	byFolder := map[string]*folderSummary{}
	for _, f := range d.Item.Folders {
		byFolder[f.Source] = &folderSummary{Folder: f.Source, Dest: f.Dest, Copied: f.Copied, CopiedBytes: f.CopiedBytes}
	}
	for _, f := range d.Item.Failures {
		if f.UID == 0 {
			d.Mailbox = append(d.Mailbox, f)
			continue
		}
		d.Messages = append(d.Messages, f)
		fs := byFolder[f.Folder]
		if fs == nil {
			fs = &folderSummary{Folder: f.Folder}
			byFolder[f.Folder] = fs
		}
		fs.Errors++
		fs.Bytes += f.Size
	}
	for _, fs := range byFolder {
		d.Folders = append(d.Folders, *fs)
		d.Folder.Copied += fs.Copied
		d.Folder.CopiedBytes += fs.CopiedBytes
		d.Folder.Errors += fs.Errors
		d.Folder.Bytes += fs.Bytes
	}
	sort.Slice(d.Folders, func(i, j int) bool { return d.Folders[i].Folder < d.Folders[j].Folder })
	for _, h := range d.Item.History {
		d.Totals.Copied += h.Copied
		d.Totals.Bytes += h.CopiedBytes
		d.Totals.Failed += h.Failed
	}
	// Newest pass first.
	h := d.Item.History
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	v := newView(r, it.Source, "customers", d)
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}, {p.Name, "/projects/" + itoa(p.ID)}, {it.Source, ""}}
	return s.render(w, r, status, "item.html", v)
}
