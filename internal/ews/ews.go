// Package ews reads calendars, contacts and tasks from an Exchange
// on-premises mailbox through Exchange Web Services, for internal/davsync
// to copy: the migration account logs in (HTTP Basic) and acts for the
// mailbox with ExchangeImpersonation (the ApplicationImpersonation role,
// as seed 003 sets it up). Folders are found with GetFolder and FindFolder
// (the calendar, contacts and tasks folders and their subfolders), items
// listed with FindItem (IdOnly, IndexedPageItemView pages, the ChangeKey
// as version) and read with GetItem in batches: calendar items and
// contacts as their MimeContent (iCalendar and vCard), tasks from their
// properties (Exchange has no iCalendar form of a task). ErrorServerBusy
// is waited out for its BackOffMilliseconds.
package ews

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/fault"
)

// Version is the RequestServerVersion Ferry asks for (Exchange 2010 SP2
// and later answer it).
const Version = "Exchange2010_SP2"

// pageSize is how many items one FindItem page and one GetItem hold.
const pageSize = 100

// Endpoint is where and as whom: URL is the EWS endpoint
// (https://mail.example.com/EWS/Exchange.asmx); User and Password the
// login; Mailbox, when set, the SMTP address impersonated.
type Endpoint struct {
	URL      string
	User     string
	Password string
	Mailbox  string
	HTTP     *http.Client
}

// Client reads one mailbox.
type Client struct {
	ep      Endpoint
	hc      *http.Client
	maxWait time.Duration
	sleep   func(context.Context, time.Duration) error
}

// New checks ep; it does not reach the server.
func New(ep Endpoint) (*Client, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fault.InvalidField("ews", "%q is not the URL of an EWS endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx", ep.URL)
	}
	if ep.User == "" || ep.Password == "" {
		return nil, fault.InvalidField("ews", "EWS needs a user and a password")
	}
	hc := ep.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Client{ep: ep, hc: hc, maxWait: 10 * time.Minute, sleep: func(ctx context.Context, d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}}, nil
}

// String names the endpoint and mailbox, never the password.
func (c *Client) String() string {
	if c.ep.Mailbox != "" {
		return c.ep.Mailbox + " via " + c.ep.User + " at " + c.ep.URL
	}
	return c.ep.User + " at " + c.ep.URL
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// call sends one SOAP request (body: the operation element) and returns
// the answer's Body element's content. A server's words in its errors
// never carry the password, even when the server echoes it.
func (c *Client) call(ctx context.Context, op, body string) ([]byte, error) {
	out, err := c.send(ctx, op, body)
	if err != nil && c.ep.Password != "" && strings.Contains(err.Error(), c.ep.Password) {
		return nil, fault.New(fault.KindOf(err), "%s", strings.ReplaceAll(err.Error(), c.ep.Password, "[password]"))
	}
	return out, err
}

func (c *Client) send(ctx context.Context, op, body string) ([]byte, error) {
	var env bytes.Buffer
	env.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
		`<soap:Header><t:RequestServerVersion Version="` + Version + `"/>`)
	if c.ep.Mailbox != "" {
		env.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + xmlEscape(c.ep.Mailbox) + `</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	env.WriteString(`</soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`)
	waited := time.Duration(0)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.URL, bytes.NewReader(env.Bytes()))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(c.ep.User, c.ep.Password)
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		resp, err := c.hc.Do(req)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fault.Wrap(fault.Temporary, err, "EWS %s at %s: the connection failed (the next pass retries)", op, c.ep.URL)
			}
			return nil, fault.Wrap(fault.Temporary, err, "EWS %s at %s", op, c.ep.URL)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fault.Wrap(fault.Temporary, err, "EWS %s: reading the answer", op)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, fault.New(fault.Unauthenticated, "EWS %s at %s: the server refused the login of %s (401): check the user and password", op, c.ep.URL, c.ep.User)
		}
		var env struct {
			Body struct {
				Inner []byte `xml:",innerxml"`
				Fault *struct {
					Code   string `xml:"faultcode"`
					String string `xml:"faultstring"`
					Detail struct {
						ResponseCode string `xml:"ResponseCode"`
						Message      string `xml:"Message"`
						Values       []struct {
							Name  string `xml:"Name,attr"`
							Value string `xml:",chardata"`
						} `xml:"MessageXml>Value"`
					} `xml:"detail"`
				} `xml:"Fault"`
			} `xml:"Body"`
		}
		if err := xml.Unmarshal(data, &env); err != nil {
			if resp.StatusCode == http.StatusServiceUnavailable {
				d := time.Duration(min(1<<min(int(waited/time.Second)+1, 8), 300)) * time.Second
				if waited+d > c.maxWait {
					return nil, fault.New(fault.Temporary, "EWS %s: the server is unavailable (503) after waiting %s", op, waited)
				}
				if err := c.sleep(ctx, d); err != nil {
					return nil, err
				}
				waited += d
				continue
			}
			return nil, fault.New(fault.Refused, "EWS %s at %s: the answer (%d) is not SOAP: %.200s", op, c.ep.URL, resp.StatusCode, string(data))
		}
		if f := env.Body.Fault; f != nil {
			code := f.Detail.ResponseCode
			if code == "" {
				code = f.Code
			}
			if strings.HasSuffix(code, "ErrorServerBusy") {
				d := 5 * time.Second
				for _, v := range f.Detail.Values {
					if v.Name == "BackOffMilliseconds" {
						if ms, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil {
							d = time.Duration(ms) * time.Millisecond
						}
					}
				}
				if waited+d > c.maxWait {
					return nil, fault.New(fault.Temporary, "EWS %s: %s (still busy after waiting %s)", op, f.String, waited)
				}
				if err := c.sleep(ctx, d); err != nil {
					return nil, err
				}
				waited += d
				continue
			}
			return nil, faultFor(op, code, f.String, c)
		}
		return env.Body.Inner, nil
	}
}

// faultFor gives an EWS error code its kind and what to do.
func faultFor(op, code, text string, c *Client) error {
	code = code[strings.LastIndex(code, ":")+1:]
	switch code {
	case "ErrorImpersonateUserDenied", "ErrorImpersonationDenied":
		return fault.New(fault.Forbidden, "EWS %s: %s: %s (give %s the ApplicationImpersonation role for %s: New-ManagementRoleAssignment -Role ApplicationImpersonation -User %s)", op, code, text, c.ep.User, c.ep.Mailbox, c.ep.User)
	case "ErrorNonExistentMailbox", "ErrorMailboxStoreUnavailable", "ErrorInvalidSmtpAddress":
		return fault.New(fault.NotFound, "EWS %s: %s: %s (check the mailbox address %s)", op, code, text, c.ep.Mailbox)
	case "ErrorAccessDenied":
		return fault.New(fault.Forbidden, "EWS %s: %s: %s", op, code, text)
	case "ErrorItemNotFound", "ErrorFolderNotFound":
		return fault.New(fault.NotFound, "EWS %s: %s: %s", op, code, text)
	case "ErrorServerBusy", "ErrorTimeoutExpired", "ErrorInternalServerTransientError":
		return fault.New(fault.Temporary, "EWS %s: %s: %s", op, code, text)
	}
	return fault.New(fault.Refused, "EWS %s: %s: %s", op, code, text)
}

type responseMessage struct {
	Class string `xml:"ResponseClass,attr"`
	Code  string `xml:"ResponseCode"`
	Text  string `xml:"MessageText"`
}

func (r responseMessage) err(op string, c *Client) error {
	if r.Class == "Error" {
		return faultFor(op, r.Code, r.Text, c)
	}
	return nil
}

type folderXML struct {
	XMLName xml.Name
	ID      struct {
		ID string `xml:"Id,attr"`
	} `xml:"FolderId"`
	DisplayName string `xml:"DisplayName"`
	FolderClass string `xml:"FolderClass"`
}

// distinguished folders and what they hold.
var roots = []struct {
	id    string
	kind  dav.Kind
	comps []string
	class string
}{
	{"calendar", dav.Calendar, []string{"VEVENT"}, "IPF.Appointment"},
	{"tasks", dav.Calendar, []string{"VTODO"}, "IPF.Task"},
	{"contacts", dav.AddressBook, nil, "IPF.Contact"},
}

// Collections returns the mailbox's calendar, tasks and contacts folders
// and their subfolders of the same class. A collection's Path is
// "ews:<FolderId>/".
func (c *Client) Collections(ctx context.Context) ([]dav.Collection, error) {
	var out []dav.Collection
	for _, r := range roots {
		body, err := c.call(ctx, "GetFolder", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="`+r.id+`"/></m:FolderIds></m:GetFolder>`)
		if err != nil {
			return nil, err
		}
		var gf struct {
			Msg struct {
				responseMessage
				Folders struct {
					List []folderXML `xml:",any"`
				} `xml:"Folders"`
			} `xml:"GetFolderResponse>ResponseMessages>GetFolderResponseMessage"`
		}
		if err := xml.Unmarshal(wrap(body), &gf); err != nil {
			return nil, fault.Wrap(fault.Refused, err, "EWS GetFolder: the answer cannot be read")
		}
		if err := gf.Msg.err("GetFolder "+r.id, c); err != nil {
			return nil, err
		}
		for _, f := range gf.Msg.Folders.List {
			out = append(out, dav.Collection{Kind: r.kind, Path: "ews:" + f.ID.ID + "/", Name: f.DisplayName, Components: r.comps})
		}
		body, err = c.call(ctx, "FindFolder", `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:FolderClass"/></t:AdditionalProperties></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="`+r.id+`"/></m:ParentFolderIds></m:FindFolder>`)
		if err != nil {
			return nil, err
		}
		var ff struct {
			Msg struct {
				responseMessage
				Folders struct {
					List []folderXML `xml:",any"`
				} `xml:"RootFolder>Folders"`
			} `xml:"FindFolderResponse>ResponseMessages>FindFolderResponseMessage"`
		}
		if err := xml.Unmarshal(wrap(body), &ff); err != nil {
			return nil, fault.Wrap(fault.Refused, err, "EWS FindFolder: the answer cannot be read")
		}
		if err := ff.Msg.err("FindFolder "+r.id, c); err != nil {
			return nil, err
		}
		for _, f := range ff.Msg.Folders.List {
			if f.FolderClass != "" && !strings.HasPrefix(f.FolderClass, r.class) {
				continue
			}
			out = append(out, dav.Collection{Kind: r.kind, Path: "ews:" + f.ID.ID + "/", Name: f.DisplayName, Components: r.comps})
		}
	}
	return out, nil
}

func wrap(inner []byte) []byte {
	return append(append([]byte("<Body>"), inner...), []byte("</Body>")...)
}

func folderID(coll dav.Collection) string {
	return strings.TrimSuffix(strings.TrimPrefix(coll.Path, "ews:"), "/")
}

type itemID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

// Changes: EWS's SyncFolderItems is not used; every pass lists the folder
// and compares ChangeKeys.
func (c *Client) Changes(context.Context, dav.Collection, string) ([]dav.Ref, string, error) {
	return nil, "", dav.ErrNoSync
}

// List names the folder's items with their ChangeKeys, a page at a time.
func (c *Client) List(ctx context.Context, coll dav.Collection) ([]dav.Ref, error) {
	var refs []dav.Ref
	for offset := 0; ; {
		body, err := c.call(ctx, "FindItem", fmt.Sprintf(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>`+
			`<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="Beginning"/>`+
			`<m:ParentFolderIds><t:FolderId Id="%s"/></m:ParentFolderIds></m:FindItem>`, pageSize, offset, xmlEscape(folderID(coll))))
		if err != nil {
			return nil, err
		}
		var fi struct {
			Msg struct {
				responseMessage
				Root struct {
					Offset int  `xml:"IndexedPagingOffset,attr"`
					Last   bool `xml:"IncludesLastItemInRange,attr"`
					Items  struct {
						List []struct {
							ID itemID `xml:"ItemId"`
						} `xml:",any"`
					} `xml:"Items"`
				} `xml:"RootFolder"`
			} `xml:"FindItemResponse>ResponseMessages>FindItemResponseMessage"`
		}
		if err := xml.Unmarshal(wrap(body), &fi); err != nil {
			return nil, fault.Wrap(fault.Refused, err, "EWS FindItem: the answer cannot be read")
		}
		if err := fi.Msg.err("FindItem", c); err != nil {
			return nil, err
		}
		for _, it := range fi.Msg.Root.Items.List {
			refs = append(refs, dav.Ref{Path: it.ID.ID, ETag: it.ID.ChangeKey})
		}
		if fi.Msg.Root.Last || len(fi.Msg.Root.Items.List) == 0 || fi.Msg.Root.Offset <= offset {
			return refs, nil
		}
		offset = fi.Msg.Root.Offset
	}
}

// All reads a folder whole.
func (c *Client) All(ctx context.Context, coll dav.Collection) ([]dav.Object, error) {
	refs, err := c.List(ctx, coll)
	if err != nil {
		return nil, err
	}
	var out []dav.Object
	for len(refs) > 0 {
		n := min(pageSize, len(refs))
		var ids []string
		for _, r := range refs[:n] {
			ids = append(ids, r.Path)
		}
		refs = refs[n:]
		objs, err := c.Get(ctx, coll, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

type itemXML struct {
	XMLName      xml.Name
	ID           itemID   `xml:"ItemId"`
	MimeContent  string   `xml:"MimeContent"`
	Subject      string   `xml:"Subject"`
	Body         string   `xml:"Body"`
	Categories   []string `xml:"Categories>String"`
	Importance   string   `xml:"Importance"`
	DueDate      string   `xml:"DueDate"`
	StartDate    string   `xml:"StartDate"`
	CompleteDate string   `xml:"CompleteDate"`
	Status       string   `xml:"Status"`
}

// Get reads items: calendar items and contacts as MimeContent, tasks by
// their properties. Items gone since they were listed are left out.
func (c *Client) Get(ctx context.Context, coll dav.Collection, ids []string) ([]dav.Object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	tasks := coll.Kind == dav.Calendar && coll.Holds("VTODO") && !coll.Holds("VEVENT")
	shape := `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape>`
	if tasks {
		shape = `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>Text</t:BodyType><t:AdditionalProperties>` +
			`<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="item:Body"/><t:FieldURI FieldURI="item:Categories"/><t:FieldURI FieldURI="item:Importance"/>` +
			`<t:FieldURI FieldURI="task:DueDate"/><t:FieldURI FieldURI="task:StartDate"/><t:FieldURI FieldURI="task:CompleteDate"/><t:FieldURI FieldURI="task:Status"/>` +
			`</t:AdditionalProperties></m:ItemShape>`
	}
	var b strings.Builder
	b.WriteString(`<m:GetItem>` + shape + `<m:ItemIds>`)
	for _, id := range ids {
		b.WriteString(`<t:ItemId Id="` + xmlEscape(id) + `"/>`)
	}
	b.WriteString(`</m:ItemIds></m:GetItem>`)
	body, err := c.call(ctx, "GetItem", b.String())
	if err != nil {
		return nil, err
	}
	var gi struct {
		Msgs []struct {
			responseMessage
			Items struct {
				List []itemXML `xml:",any"`
			} `xml:"Items"`
		} `xml:"GetItemResponse>ResponseMessages>GetItemResponseMessage"`
	}
	if err := xml.Unmarshal(wrap(body), &gi); err != nil {
		return nil, fault.Wrap(fault.Refused, err, "EWS GetItem: the answer cannot be read")
	}
	var out []dav.Object
	for _, m := range gi.Msgs {
		if err := m.err("GetItem", c); err != nil {
			if fault.KindOf(err) == fault.NotFound {
				continue
			}
			return nil, err
		}
		for _, it := range m.Items.List {
			o, err := c.object(coll, it, tasks)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// syntheticUID is the UID of an item that has none (tasks; a contact
// whose vCard has no UID): made from its ItemId, stable while the item
// stays in its folder.
func syntheticUID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "ews-" + hex.EncodeToString(sum[:16])
}

func (c *Client) object(coll dav.Collection, it itemXML, task bool) (dav.Object, error) {
	o := dav.Object{Path: it.ID.ID, ETag: it.ID.ChangeKey}
	if task {
		o.Cal = taskCalendar(it)
		return o, nil
	}
	mime, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(it.MimeContent), ""))
	if err != nil || len(mime) == 0 {
		return o, fault.New(fault.Refused, "EWS GetItem %s: the item has no readable MimeContent", it.XMLName.Local)
	}
	if coll.Kind == dav.AddressBook {
		card, err := vcard.NewDecoder(bytes.NewReader(mime)).Decode()
		if err != nil {
			return o, fault.Wrap(fault.Invalid, err, "EWS contact %s: its vCard cannot be read", it.ID.ID)
		}
		if card.Value(vcard.FieldUID) == "" {
			card.SetValue(vcard.FieldUID, syntheticUID(it.ID.ID))
		}
		o.Card = card
		return o, nil
	}
	cal, err := ical.NewDecoder(bytes.NewReader(mime)).Decode()
	if err != nil {
		return o, fault.Wrap(fault.Invalid, err, "EWS calendar item %s: its iCalendar cannot be read", it.ID.ID)
	}
	// Exchange writes METHOD:PUBLISH on an export; a stored object has none.
	cal.Props.Del(ical.PropMethod)
	o.Cal = cal
	return o, nil
}

// taskCalendar writes a task's properties as a VTODO.
func taskCalendar(it itemXML) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//Ferry//Exchange EWS//EN")
	t := ical.NewComponent(ical.CompToDo)
	t.Props.SetText(ical.PropUID, syntheticUID(it.ID.ID))
	t.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
	t.Props.SetText(ical.PropSummary, it.Subject)
	if strings.TrimSpace(it.Body) != "" {
		t.Props.SetText(ical.PropDescription, it.Body)
	}
	for _, f := range []struct{ prop, v string }{{ical.PropDue, it.DueDate}, {ical.PropDateTimeStart, it.StartDate}} {
		if tm, err := time.Parse(time.RFC3339, f.v); err == nil {
			p := ical.NewProp(f.prop)
			p.SetDate(tm)
			t.Props.Set(p)
		}
	}
	switch it.Status {
	case "Completed":
		t.Props.SetText(ical.PropStatus, "COMPLETED")
		if tm, err := time.Parse(time.RFC3339, it.CompleteDate); err == nil {
			t.Props.SetDateTime(ical.PropCompleted, tm.UTC())
		}
	case "InProgress", "WaitingOnOthers":
		t.Props.SetText(ical.PropStatus, "IN-PROCESS")
	case "Deferred":
		t.Props.SetText(ical.PropStatus, "CANCELLED")
	default:
		t.Props.SetText(ical.PropStatus, "NEEDS-ACTION")
	}
	switch it.Importance {
	case "High":
		t.Props.SetText(ical.PropPriority, "1")
	case "Low":
		t.Props.SetText(ical.PropPriority, "9")
	}
	if len(it.Categories) > 0 {
		p := ical.NewProp(ical.PropCategories)
		p.SetTextList(it.Categories)
		t.Props.Set(p)
	}
	cal.Children = append(cal.Children, t)
	return cal
}
