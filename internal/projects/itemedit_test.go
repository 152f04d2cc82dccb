package projects_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// secondCustomer adds another customer whose endpoints are the same
// servers as the bundle's, with a project holding the same mailbox pair.
func (b *bundle) secondCustomer(t *testing.T, user string) store.Item {
	t.Helper()
	ctx := operator
	c, err := b.customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []store.Endpoint
	for i, addr := range []string{b.src.Addr, b.dst.Addr} {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		e, err := b.customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: fmt.Sprint("contoso", i), Type: "imap", Host: host, Port: p, Security: "starttls", AllowPlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	p, err := b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Contoso mail", SourceID: eps[0].ID, DestID: eps[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	it, err := b.svc.AddItem(ctx, p.ID, projects.ItemInput{Source: user, Dest: user, SourcePassword: "pw-" + user, DestPassword: "pw-" + user})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestPassHistoryBelongsToTheItem(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	mine := items[0]
	theirs := b.secondCustomer(t, b.users[0])

	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.settled(t, mine.ID, 20*time.Second)
	if _, err := b.svc.StartPass(ctx, theirs.ProjectID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.settled(t, theirs.ID, 20*time.Second)

	for _, id := range []int64{mine.ID, theirs.ID} {
		d, err := b.svc.Item(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.History) != 1 {
			t.Errorf("item %d (%s) shows %d passes, want its own one: %+v", id, d.Source, len(d.History), d.History)
		}
	}
	runs, err := b.st.ProjectRuns(ctx, b.project.ID)
	if err != nil || len(runs) != 1 {
		t.Errorf("project runs %+v %v, want the project's one pass", runs, err)
	}
}

func TestEditItem(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	ctx := operator
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	first := items[0]
	login, wrong, right, dest := "admin-"+b.users[0], "wrong", "pw-"+b.users[0], "moved@fabrikam.com"

	tests := []struct {
		name  string
		edit  projects.ItemEdit
		field string // the refused field, "" when accepted
	}{
		{"a wrong password can be replaced", projects.ItemEdit{SourcePassword: &wrong}, ""},
		{"and replaced again", projects.ItemEdit{SourcePassword: &right}, ""},
		{"login", projects.ItemEdit{SourceLogin: &login}, ""},
		{"destination", projects.ItemEdit{Dest: &dest}, ""},
		{"destination of another item", projects.ItemEdit{Dest: &b.users[1]}, "destination"},
		{"empty destination", projects.ItemEdit{Dest: new(string)}, "destination"},
	}
	for _, tc := range tests {
		it, err := b.svc.EditItem(ctx, first.ID, tc.edit)
		if tc.field == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			continue
		}
		fe, ok := fault.As(err)
		if !ok || fe.Field != tc.field {
			t.Fatalf("%s: got %+v %v, want a fault on %s", tc.name, it, err, tc.field)
		}
	}
	got, _ := b.st.Item(ctx, first.ID)
	if got.SourceLogin != login || got.Dest != dest {
		t.Fatalf("item after edits %+v", got)
	}
	if got.SealedSourcePassword == first.SealedSourcePassword || got.SealedDestPassword != first.SealedDestPassword {
		t.Fatal("the source password was not replaced, or the destination's changed without being asked")
	}
	// The password is write-only: nothing the service returns shows it.
	d, _ := b.svc.Item(ctx, first.ID)
	if fmt.Sprintf("%+v", d) == "" || strings.Contains(fmt.Sprintf("%v", d), right) {
		t.Fatal("item detail shows the password")
	}
}

func TestDeleteItems(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	ctx := operator
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})

	if err := b.svc.DeleteItems(ctx, b.project.ID, []int64{items[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Item(ctx, items[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted item still there: %v", err)
	}
	// An item of another project is not this project's to delete.
	other := b.secondCustomer(t, b.users[1])
	if err := b.svc.DeleteItems(ctx, b.project.ID, []int64{other.ID}); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("deleting another project's item: %v", err)
	}
	// Not while a pass runs it: nothing of the batch is deleted.
	if err := b.st.SetItemStatus(ctx, items[1].ID, store.StatusRunning, "full", 0); err != nil {
		t.Fatal(err)
	}
	err := b.svc.DeleteItems(ctx, b.project.ID, []int64{items[1].ID, items[2].ID})
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("delete while running: %v, want a conflict", err)
	}
	left, n, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	if n != 2 {
		t.Fatalf("items left %+v", left)
	}
	if _, err := b.svc.EditItem(ctx, items[1].ID, projects.ItemEdit{SourceLogin: new(string)}); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("edit while running: %v, want a conflict", err)
	}
	if err := b.svc.DeleteItems(ctx, b.project.ID, []int64{items[2].ID}); err != nil {
		t.Fatal(err)
	}
}
