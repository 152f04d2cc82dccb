package engagements_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestAssignableAccounts: the accounts a door offers for a role are those
// Assign takes (enabled, able to see the engagement's customer), and only
// someone who may assign sees the list.
func TestAssignableAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	pat, _ := b.person(t, "pat@partner.com", auth.Partner)
	_, viewerCtx := b.person(t, "vic@partner.com", auth.Viewer)
	gone, _ := b.person(t, "gone@partner.com", auth.Partner)
	gone.Disabled = true
	if err := b.st.UpdateUser(operator, gone); err != nil {
		t.Fatal(err)
	}
	elsewhere := store.Customer{Name: "Fabrikam", Domain: "fabrikam.com"}
	if err := b.st.CreateCustomer(operator, &elsewhere); err != nil {
		t.Fatal(err)
	}
	other := store.User{Email: "olga@fabrikam.com", Name: "Olga", Role: string(auth.Partner), PasswordHash: "x", Created: time.Now(), Customers: []int64{elsewhere.ID}}
	if err := b.st.CreateUser(operator, &other); err != nil {
		t.Fatal(err)
	}
	eng := store.User{Email: "eve@fasttrack.example", Name: "Eve", Role: string(auth.FastTrackEngineer), PasswordHash: "x", Created: time.Now()}
	if err := b.st.CreateUser(operator, &eng); err != nil {
		t.Fatal(err)
	}

	us, err := b.svc.Assignable(operator, e)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.Email)
		if err := b.svc.Assign(operator, e.ID, "frp", u.Email); err != nil {
			t.Errorf("%s is offered but Assign refuses: %v", u.Email, err)
		}
	}
	slices.Sort(got)
	if want := []string{eng.Email, pat.Email, "vic@partner.com"}; !slices.Equal(got, want) {
		t.Errorf("assignable %v, want %v", got, want)
	}
	for _, u := range []store.User{gone, other} {
		if err := b.svc.Assign(operator, e.ID, "frp", u.Email); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s is not offered, but Assign says %v", u.Email, err)
		}
	}
	if _, err := b.svc.Assignable(viewerCtx, e); fault.KindOf(err) != fault.Forbidden {
		t.Errorf("a viewer lists the assignable accounts: %v", err)
	}
}
