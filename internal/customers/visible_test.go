package customers

import (
	"context"
	"slices"
	"testing"
)

// TestVisibleCustomers: the list every door shows is the customers the
// principal may read: all of them for roles that see every customer, a
// partner's own, none for nobody.
func TestVisibleCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.CreateCustomer(admin, CustomerInput{Name: "Fabrikam", Domain: "fabrikam.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  string
		ctx  context.Context
		want []int64
	}{
		{"the operator", admin, []int64{a.ID, b.ID}},
		{"an engineer", engineer, []int64{a.ID, b.ID}},
		{"Contoso's partner", partnerOf(a.ID), []int64{a.ID}},
		{"a partner of no customer here", partnerOf(999), nil},
		{"nobody", nobody, nil},
	} {
		cs, err := e.svc.Visible(tc.ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.who, err)
		}
		var got []int64
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.who, got, tc.want)
		}
	}
}
