// Package testews is an Exchange Web Services double for the operations
// Ferry reads a mailbox's calendars, contacts and tasks with, answering
// with the request and response shapes of Microsoft's EWS reference:
// GetFolder and FindFolder (distinguished folders calendar, contacts,
// tasks and their subfolders), FindItem (IdOnly, IndexedPageItemView with
// IndexedPagingOffset and IncludesLastItemInRange), GetItem (MimeContent
// for calendar items and contacts, task properties). Logins are HTTP
// Basic; ExchangeImpersonation is honoured only for accounts given the
// ApplicationImpersonation role, else the SOAP fault
// ErrorImpersonateUserDenied; an unknown mailbox is ErrorNonExistentMailbox;
// Busy makes requests fail with ErrorServerBusy and BackOffMilliseconds.
package testews

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is a running double.
type Server struct {
	URL string // the EWS endpoint, .../EWS/Exchange.asmx

	mu            sync.Mutex
	accounts      map[string]string
	impersonators map[string]bool
	mailboxes     map[string]*Mailbox
	busy, backoff int
	requests      int
}

// Mailbox is one user's folders; Owner is the account that logs in as it.
type Mailbox struct {
	SMTP    string
	Owner   string
	Folders []*Folder
}

// Folder is a calendar, contacts or tasks folder.
type Folder struct {
	ID, Name, Class string
	Distinguished   string // calendar, contacts, tasks; "" for a subfolder
	Parent          string // distinguished id of its root
	Items           []*Item
}

// Item is a calendar item or contact (Mime: iCalendar or vCard) or a task.
type Item struct {
	ID, ChangeKey string
	Mime          []byte
	Task          *Task
}

// Task is a task's properties as EWS returns them.
type Task struct {
	Subject, Body, Status, Importance string
	DueDate, StartDate, CompleteDate  string // xs:dateTime
	Categories                        []string
}

// Start runs a double until the test ends.
func Start(tb testing.TB) *Server {
	s := &Server{accounts: map[string]string{}, impersonators: map[string]bool{}, mailboxes: map[string]*Mailbox{}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(hs.Close)
	s.URL = hs.URL + "/EWS/Exchange.asmx"
	return s
}

// AddAccount adds a login.
func (s *Server) AddAccount(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[strings.ToLower(user)] = password
}

// GrantImpersonation gives an account the ApplicationImpersonation role.
func (s *Server) GrantImpersonation(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.impersonators[strings.ToLower(user)] = true
}

// AddMailbox makes a mailbox with its Calendar, Contacts and Tasks folders.
func (s *Server) AddMailbox(smtp, owner string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Mailbox{SMTP: smtp, Owner: strings.ToLower(owner)}
	for _, f := range []struct{ id, name, class string }{{"calendar", "Calendar", "IPF.Appointment"}, {"contacts", "Contacts", "IPF.Contact"}, {"tasks", "Tasks", "IPF.Task"}} {
		m.Folders = append(m.Folders, &Folder{ID: newID(), Name: f.name, Class: f.class, Distinguished: f.id, Parent: f.id})
	}
	s.mailboxes[strings.ToLower(smtp)] = m
	return m
}

// Folder returns a mailbox's distinguished folder, or makes a subfolder
// of it named name.
func (s *Server) Folder(m *Mailbox, root, name string) *Folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rf *Folder
	for _, f := range m.Folders {
		if f.Distinguished == root {
			rf = f
		}
	}
	if name == "" {
		return rf
	}
	f := &Folder{ID: newID(), Name: name, Class: rf.Class, Parent: root}
	m.Folders = append(m.Folders, f)
	return f
}

// Add puts an item into a folder.
func (s *Server) Add(f *Folder, it *Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.ID, it.ChangeKey = newID(), "CQAAABYAAAA"+newID()[:8]
	f.Items = append(f.Items, it)
}

// Change bumps an item's ChangeKey after its content was changed.
func (s *Server) Change(it *Item, mime []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.Mime = mime
	it.ChangeKey = "CQAAABYAAAA" + newID()[:8]
}

// Busy makes the next n requests fail with ErrorServerBusy asking to back
// off backoffMs milliseconds.
func (s *Server) Busy(n, backoffMs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy, s.backoff = n, backoffMs
}

// Requests is how many requests were answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func newID() string {
	var b [24]byte
	rand.Read(b[:])
	return "AAMkAD" + base64.StdEncoding.EncodeToString(b[:]) + hex.EncodeToString(b[:4])
}

const (
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeFault(w http.ResponseWriter, code, msg, extra string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`+
		`<faultcode xmlns:a="%s">a:%s</faultcode><faultstring xml:lang="en-US">%s</faultstring>`+
		`<detail><e:ResponseCode xmlns:e="%s">%s</e:ResponseCode><e:Message xmlns:e="%s">%s</e:Message>%s</detail>`+
		`</s:Fault></s:Body></s:Envelope>`, nsTypes, code, esc(msg), nsErrors, code, nsErrors, esc(msg), extra)
}

func writeBody(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">`+
		`<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="%s" xmlns="%s"/></s:Header>`+
		`<s:Body>%s</s:Body></s:Envelope>`, nsTypes, nsTypes, body)
}

// request is what the double reads of a SOAP request.
type request struct {
	Header struct {
		Version struct {
			Version string `xml:"Version,attr"`
		} `xml:"RequestServerVersion"`
		Impersonate string `xml:"ExchangeImpersonation>ConnectingSID>PrimarySmtpAddress"`
	} `xml:"Header"`
	Body struct {
		GetFolder *struct {
			IDs []struct {
				ID string `xml:"Id,attr"`
			} `xml:"FolderIds>DistinguishedFolderId"`
		} `xml:"GetFolder"`
		FindFolder *struct {
			Traversal string `xml:"Traversal,attr"`
			IDs       []struct {
				ID string `xml:"Id,attr"`
			} `xml:"ParentFolderIds>DistinguishedFolderId"`
		} `xml:"FindFolder"`
		FindItem *struct {
			View struct {
				Max    int `xml:"MaxEntriesReturned,attr"`
				Offset int `xml:"Offset,attr"`
			} `xml:"IndexedPageItemView"`
			IDs []struct {
				ID string `xml:"Id,attr"`
			} `xml:"ParentFolderIds>FolderId"`
		} `xml:"FindItem"`
		GetItem *struct {
			Mime   bool `xml:"ItemShape>IncludeMimeContent"`
			Fields []struct {
				URI string `xml:"FieldURI,attr"`
			} `xml:"ItemShape>AdditionalProperties>FieldURI"`
			IDs []struct {
				ID string `xml:"Id,attr"`
			} `xml:"ItemIds>ItemId"`
		} `xml:"GetItem"`
	} `xml:"Body"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, pw, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || s.accounts[strings.ToLower(user)] == "" || s.accounts[strings.ToLower(user)] != pw {
		w.Header().Set("WWW-Authenticate", `Basic realm="mail.contoso.test"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.requests++
	data, _ := io.ReadAll(r.Body)
	var req request
	if err := xml.Unmarshal(data, &req); err != nil || req.Header.Version.Version == "" {
		writeFault(w, "ErrorSchemaValidation", "The request failed schema validation.", "")
		return
	}
	if s.busy > 0 {
		s.busy--
		writeFault(w, "ErrorServerBusy", "The server cannot service this request right now. Try again later.",
			fmt.Sprintf(`<t:MessageXml xmlns:t="%s"><t:Value Name="BackOffMilliseconds">%d</t:Value></t:MessageXml>`, nsTypes, s.backoff))
		return
	}
	var m *Mailbox
	if req.Header.Impersonate != "" {
		if !s.impersonators[strings.ToLower(user)] {
			writeFault(w, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", "")
			return
		}
		if m = s.mailboxes[strings.ToLower(req.Header.Impersonate)]; m == nil {
			writeFault(w, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.", "")
			return
		}
	} else {
		for _, mb := range s.mailboxes {
			if mb.Owner == strings.ToLower(user) {
				m = mb
			}
		}
		if m == nil {
			writeFault(w, "ErrorNonExistentMailbox", "No mailbox with such guid.", "")
			return
		}
	}
	b := req.Body
	switch {
	case b.GetFolder != nil:
		var out strings.Builder
		for _, id := range b.GetFolder.IDs {
			f := s.root(m, id.ID)
			if f == nil {
				out.WriteString(`<m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>The specified folder could not be found in the store.</m:MessageText><m:ResponseCode>ErrorFolderNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetFolderResponseMessage>`)
				continue
			}
			out.WriteString(`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>` + folderXML(f) + `</m:Folders></m:GetFolderResponseMessage>`)
		}
		writeBody(w, `<m:GetFolderResponse xmlns:m="`+nsMessages+`" xmlns:t="`+nsTypes+`"><m:ResponseMessages>`+out.String()+`</m:ResponseMessages></m:GetFolderResponse>`)
	case b.FindFolder != nil:
		var out strings.Builder
		for _, id := range b.FindFolder.IDs {
			var subs []string
			for _, f := range m.Folders {
				if f.Distinguished == "" && f.Parent == id.ID {
					subs = append(subs, folderXML(f))
				}
			}
			fmt.Fprintf(&out, `<m:FindFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="%d" IncludesLastItemInRange="true"><t:Folders>%s</t:Folders></m:RootFolder></m:FindFolderResponseMessage>`, len(subs), strings.Join(subs, ""))
		}
		writeBody(w, `<m:FindFolderResponse xmlns:m="`+nsMessages+`" xmlns:t="`+nsTypes+`"><m:ResponseMessages>`+out.String()+`</m:ResponseMessages></m:FindFolderResponse>`)
	case b.FindItem != nil:
		var out strings.Builder
		for _, id := range b.FindItem.IDs {
			f := s.folder(m, id.ID)
			if f == nil {
				out.WriteString(`<m:FindItemResponseMessage ResponseClass="Error"><m:MessageText>The specified folder could not be found in the store.</m:MessageText><m:ResponseCode>ErrorFolderNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:FindItemResponseMessage>`)
				continue
			}
			max := b.FindItem.View.Max
			if max <= 0 || max > 1000 {
				max = 1000
			}
			off := min(b.FindItem.View.Offset, len(f.Items))
			end := min(len(f.Items), off+max)
			var items strings.Builder
			for _, it := range f.Items[off:end] {
				fmt.Fprintf(&items, `<t:%s><t:ItemId Id="%s" ChangeKey="%s"/></t:%s>`, kindOf(f), esc(it.ID), esc(it.ChangeKey), kindOf(f))
			}
			fmt.Fprintf(&out, `<m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="%d" TotalItemsInView="%d" IncludesLastItemInRange="%t"><t:Items>%s</t:Items></m:RootFolder></m:FindItemResponseMessage>`,
				end, len(f.Items), end == len(f.Items), items.String())
		}
		writeBody(w, `<m:FindItemResponse xmlns:m="`+nsMessages+`" xmlns:t="`+nsTypes+`"><m:ResponseMessages>`+out.String()+`</m:ResponseMessages></m:FindItemResponse>`)
	case b.GetItem != nil:
		var out strings.Builder
		for _, id := range b.GetItem.IDs {
			f, it := s.item(m, id.ID)
			if it == nil {
				out.WriteString(`<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>The specified object was not found in the store.</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:GetItemResponseMessage>`)
				continue
			}
			k := kindOf(f)
			var props strings.Builder
			if b.GetItem.Mime && it.Mime != nil {
				fmt.Fprintf(&props, `<t:MimeContent CharacterSet="UTF-8">%s</t:MimeContent>`, base64.StdEncoding.EncodeToString(it.Mime))
			}
			fmt.Fprintf(&props, `<t:ItemId Id="%s" ChangeKey="%s"/>`, esc(it.ID), esc(it.ChangeKey))
			if t := it.Task; t != nil {
				want := map[string]bool{}
				for _, fu := range b.GetItem.Fields {
					want[fu.URI] = true
				}
				add := func(uri, el, v string) {
					if want[uri] && v != "" {
						fmt.Fprintf(&props, `<t:%s>%s</t:%s>`, el, esc(v), el)
					}
				}
				add("item:Subject", "Subject", t.Subject)
				if want["item:Body"] {
					fmt.Fprintf(&props, `<t:Body BodyType="Text">%s</t:Body>`, esc(t.Body))
				}
				if want["item:Categories"] && len(t.Categories) > 0 {
					props.WriteString(`<t:Categories>`)
					for _, c := range t.Categories {
						fmt.Fprintf(&props, `<t:String>%s</t:String>`, esc(c))
					}
					props.WriteString(`</t:Categories>`)
				}
				add("item:Importance", "Importance", t.Importance)
				add("task:CompleteDate", "CompleteDate", t.CompleteDate)
				add("task:DueDate", "DueDate", t.DueDate)
				add("task:StartDate", "StartDate", t.StartDate)
				add("task:Status", "Status", t.Status)
			}
			fmt.Fprintf(&out, `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:%s>%s</t:%s></m:Items></m:GetItemResponseMessage>`, k, props.String(), k)
		}
		writeBody(w, `<m:GetItemResponse xmlns:m="`+nsMessages+`" xmlns:t="`+nsTypes+`"><m:ResponseMessages>`+out.String()+`</m:ResponseMessages></m:GetItemResponse>`)
	default:
		writeFault(w, "ErrorInvalidRequest", "The request is invalid.", "")
	}
}

func kindOf(f *Folder) string {
	switch f.Class {
	case "IPF.Contact":
		return "Contact"
	case "IPF.Task":
		return "Task"
	}
	return "CalendarItem"
}

func folderXML(f *Folder) string {
	el := map[string]string{"IPF.Appointment": "CalendarFolder", "IPF.Contact": "ContactsFolder", "IPF.Task": "TasksFolder"}[f.Class]
	return fmt.Sprintf(`<t:%s><t:FolderId Id="%s" ChangeKey="AQAAABYAAAA"/><t:FolderClass>%s</t:FolderClass><t:DisplayName>%s</t:DisplayName><t:TotalCount>%s</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount></t:%s>`,
		el, esc(f.ID), f.Class, esc(f.Name), strconv.Itoa(len(f.Items)), el)
}

func (s *Server) root(m *Mailbox, distinguished string) *Folder {
	for _, f := range m.Folders {
		if f.Distinguished == distinguished {
			return f
		}
	}
	return nil
}

func (s *Server) folder(m *Mailbox, id string) *Folder {
	for _, f := range m.Folders {
		if f.ID == id {
			return f
		}
	}
	return nil
}

func (s *Server) item(m *Mailbox, id string) (*Folder, *Item) {
	for _, f := range m.Folders {
		for _, it := range f.Items {
			if it.ID == id {
				return f, it
			}
		}
	}
	return nil, nil
}
