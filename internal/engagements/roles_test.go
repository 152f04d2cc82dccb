package engagements_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestTaskRoleIsEnforced: who may change a task follows the playbook's role
// for it: the people holding that role on the engagement, and administrators.
func TestTaskRoleIsEnforced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	ctxs := map[string]context.Context{}
	for _, p := range []struct {
		role, email string
		auth        auth.Role
	}{
		{"ftm", "fiona@fasttrack.example", auth.FastTrackManager}, {"customer-pm", "carl@contoso.com", auth.CustomerProjectManager},
		{"frp", "pat@partner.com", auth.Partner}, {"", "frank@fasttrack.example", auth.FastTrackManager}, {"", "root@ferry.example", auth.Administrator},
	} {
		_, ctxs[p.email] = b.person(t, p.email, p.auth)
		if p.role == "" {
			continue
		}
		if err := b.svc.Assign(operator, e.ID, p.role, strings.ToUpper(p.email)); err != nil {
			t.Fatal(err)
		}
	}
	// A principal named like the FastTrack Manager, without her account, holds nothing.
	impostor := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 999, Name: "fiona@fasttrack.example", Kind: auth.KindSession, Role: auth.FastTrackManager, Customers: []int64{b.customer.ID}})
	signedIn := func(email string, _ auth.Role) context.Context { return ctxs[email] }
	inProgress := engagements.InProgress
	for _, tc := range []struct {
		who    string
		ctx    context.Context
		task   string
		allowd bool
	}{
		{"the customer PM on the FastTrack Manager's exit task", signedIn("carl@contoso.com", auth.CustomerProjectManager), "1701", false},
		{"the partner on the FastTrack Manager's exit task", signedIn("pat@partner.com", auth.Partner), "1701", false},
		{"a FastTrack Manager of another engagement", signedIn("frank@fasttrack.example", auth.FastTrackManager), "1701", false},
		{"someone signed in under the FastTrack Manager's e-mail but not her account", impostor, "1701", false},
		{"the engagement's FastTrack Manager", signedIn("fiona@fasttrack.example", auth.FastTrackManager), "1701", true},
		{"the partner on identity synchronization", signedIn("pat@partner.com", auth.Partner), "1141", true},
		{"an administrator", signedIn("root@ferry.example", auth.Administrator), "1141", true},
	} {
		t.Run(tc.who, func(t *testing.T) {
			tk := taskByID(t, b, e, tc.task)
			_, err := b.svc.UpdateTask(tc.ctx, tk.ID, engagements.TaskUpdate{Status: &inProgress}, "x")
			if tc.allowd && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.allowd && !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("allowed, or not forbidden: %v", err)
			}
		})
	}
}

// TestPeopleInRolesAreAccounts: a role goes to an account (by e-mail, any
// case, or number), never to free text; "my tasks" is the signed-in
// account's, whatever its e-mail says.
func TestPeopleInRolesAreAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	pat, patCtx := b.person(t, "pat@partner.com", auth.Partner)
	outsider := store.User{Email: "olga@elsewhere.example", Name: "Olga", Role: string(auth.Partner), PasswordHash: "x", Created: time.Now()}
	off := store.User{Email: "dan@partner.com", Name: "Dan", Role: string(auth.Partner), PasswordHash: "x", Created: time.Now(), Customers: []int64{b.customer.ID}, Disabled: true}
	for _, u := range []*store.User{&outsider, &off} {
		if err := b.st.CreateUser(operator, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, person, want string }{
		{"free text", "Pat from the partner", "has no account"},
		{"an unknown e-mail", "nobody@partner.com", "create one first"},
		{"an unknown number", "#4242", "no account 4242"},
		{"an account that cannot see the customer", outsider.Email, "may not see customer"},
		{"a disabled account", off.Email, "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := b.svc.Assign(operator, e.ID, "frp", tc.person)
			if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("assign %q: %v, want invalid naming %q", tc.person, err, tc.want)
			}
		})
	}
	if err := b.svc.Assign(operator, e.ID, "frp", "PAT@Partner.com"); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Assign(operator, e.ID, "mvm", fmt.Sprintf("#%d", pat.ID)); err != nil {
		t.Fatal(err)
	}
	people, err := b.svc.People(operator, e.ID)
	if err != nil || len(people) != 2 {
		t.Fatalf("people %+v %v", people, err)
	}
	for _, p := range people {
		if !p.Account || p.UserID != pat.ID || p.Person != pat.Email || p.Name != pat.Name {
			t.Fatalf("person %+v, want Pat's account", p)
		}
	}
	// The account's e-mail changes: the roles stay the account's.
	pat.Email = "pat.new@partner.com"
	if err := b.st.UpdateUser(operator, pat); err != nil {
		t.Fatal(err)
	}
	mine, err := b.svc.SignedInTasks(patCtx)
	if err != nil || len(mine) == 0 {
		t.Fatalf("Pat's tasks %d %v", len(mine), err)
	}
	for _, tk := range mine {
		if tk.Role != "frp" && tk.Role != "mvm" {
			t.Fatalf("task %s of role %s listed for Pat", tk.TaskID, tk.Role)
		}
	}
	byMail, err := b.svc.MyTasks(operator, "pat.new@partner.com")
	if err != nil || len(byMail) != len(mine) {
		t.Fatalf("tasks by the new e-mail: %d %v, want %d", len(byMail), err, len(mine))
	}
	if _, err := b.svc.MyTasks(operator, "pat@partner.com"); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("tasks of an e-mail no account has: %v", err)
	}
	// The command line (no account) holds no role.
	if none, err := b.svc.SignedInTasks(operator); err != nil || len(none) != 0 {
		t.Fatalf("the operator's tasks: %+v %v", none, err)
	}
	if err := b.svc.Unassign(operator, e.ID, "mvm", "pat.new@partner.com"); err != nil {
		t.Fatal(err)
	}
}
