package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

const longPassword = "a long enough password"

func newPeople(t *testing.T) (*Service, *sqlstore.Store) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Service{Store: st}, st
}

func ctxOf(p *Principal) context.Context { return WithPrincipal(context.Background(), p) }

var operator = ctxOf(Operator("test operator"))

// TestAccountChangesNeedManageUsers: only those who manage accounts change
// them; a person keeps their own password and tokens.
func TestAccountChangesNeedManageUsers(t *testing.T) {
	t.Parallel()
	svc, _ := newPeople(t)
	root, err := svc.CreateUser(operator, UserInput{Email: "root@ferry.example", Name: "Root", Role: string(Administrator), Password: longPassword})
	if err != nil {
		t.Fatal(err)
	}
	ftm, err := svc.CreateUser(operator, UserInput{Email: "ftm@ferry.example", Name: "Fran", Role: string(FastTrackManager), Password: longPassword})
	if err != nil {
		t.Fatal(err)
	}
	asRoot, asFTM := ctxOf(PrincipalOf(root, KindSession)), ctxOf(PrincipalOf(ftm, KindSession))
	in := UserInput{Email: "x@ferry.example", Name: "X", Role: string(Viewer), Password: longPassword}
	for _, tc := range []struct {
		name string
		do   func() error
		kind fault.Kind
	}{
		{"nobody creates", func() error { _, err := svc.CreateUser(context.Background(), in); return err }, fault.Forbidden},
		{"a manager creates", func() error { _, err := svc.CreateUser(asFTM, in); return err }, fault.Forbidden},
		{"a manager disables", func() error { _, err := svc.SetDisabled(asFTM, root.ID, true); return err }, fault.Forbidden},
		{"a manager unlocks", func() error { _, err := svc.Unlock(asFTM, root.ID); return err }, fault.Forbidden},
		{"a manager changes a role", func() error {
			_, err := svc.UpdateUser(asFTM, ftm.ID, UserInput{Name: "Fran", Role: string(Administrator)})
			return err
		}, fault.Forbidden},
		{"a manager makes a token for another", func() error { _, _, err := svc.CreateToken(asFTM, root.ID, "t"); return err }, fault.Forbidden},
		{"a manager makes an administrator token", func() error { _, _, err := svc.CreateToken(asFTM, 0, "t"); return err }, fault.Forbidden},
		{"an administrator disables themself", func() error { _, err := svc.SetDisabled(asRoot, root.ID, true); return err }, fault.Invalid},
		{"a taken email", func() error {
			_, err := svc.CreateUser(asRoot, UserInput{Email: "FTM@ferry.example", Name: "F", Role: string(Viewer), Password: longPassword})
			return err
		}, fault.Conflict},
		{"a wrong current password", func() error { _, err := svc.ChangePassword(asFTM, "wrong", "another long password"); return err }, fault.Invalid},
		{"an operator has no own password", func() error {
			_, err := svc.ChangePassword(operator, longPassword, "another long password")
			return err
		}, fault.Forbidden},
	} {
		if err := tc.do(); fault.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.kind)
		}
	}
	if _, err := svc.ChangePassword(asFTM, longPassword, "another long password"); err != nil {
		t.Fatalf("change one's own password: %v", err)
	}
	tok, t1, err := svc.CreateToken(asFTM, ftm.ID, "mine")
	if err != nil || !strings.HasPrefix(tok, TokenPrefix) {
		t.Fatalf("make one's own token: %q %v", tok, err)
	}
	if _, err := svc.RevokeToken(asFTM, t1.ID); err != nil {
		t.Fatalf("revoke one's own token: %v", err)
	}
	_, t2, err := svc.CreateToken(asRoot, root.ID, "root's")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(asFTM, t2.ID); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("revoke another's token: %v", err)
	}
	if _, err := svc.RevokeToken(asRoot, t2.ID); err != nil {
		t.Fatal(err)
	}
}

// TestAccountChangesAreAudited: the service records who changed which
// account or token, never a password or a token's value.
func TestAccountChangesAreAudited(t *testing.T) {
	t.Parallel()
	svc, st := newPeople(t)
	ctx := context.Background()
	first, err := svc.Bootstrap(ctx, UserInput{Email: "root@ferry.example", Name: "Root", Password: longPassword})
	if err != nil {
		t.Fatal(err)
	}
	asRoot := ctxOf(PrincipalOf(first, KindSession))
	u, err := svc.CreateUser(asRoot, UserInput{Email: "pat@ferry.example", Name: "Pat", Role: string(Viewer), Password: longPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(asRoot, u.ID, UserInput{Name: "Pat Doe", Role: string(FastTrackEngineer), Password: "a new long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(asRoot, u.ID, UserInput{Name: "Pat Doe", Role: string(FastTrackEngineer)}); err != nil {
		t.Fatal(err) // no change: no entry
	}
	if _, err := svc.SetDisabled(asRoot, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetDisabled(asRoot, u.ID, false); err != nil {
		t.Fatal(err)
	}
	tok, tk, err := svc.CreateToken(asRoot, 0, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(asRoot, tk.ID); err != nil {
		t.Fatal(err)
	}
	entries, err := st.Audit(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- {
		en := entries[i]
		got = append(got, en.Who+" "+en.Action+" "+en.Object)
		for _, secret := range []string{longPassword, "a new long password", tok, first.PasswordHash} {
			if strings.Contains(en.Before+en.After, secret) {
				t.Errorf("a secret in %+v", en)
			}
		}
		if en.Action == auditUpdateUser && (!strings.Contains(en.After, `"password":"changed"`) || !strings.Contains(en.Before, `"role":"viewer"`)) {
			t.Errorf("update recorded as %+v", en)
		}
	}
	want := []string{
		"first-run setup users.create account 1 (root@ferry.example)",
		"root@ferry.example users.create account 2 (pat@ferry.example)",
		"root@ferry.example users.update account 2 (pat@ferry.example)",
		"root@ferry.example users.disable account 2 (pat@ferry.example)",
		"root@ferry.example users.enable account 2 (pat@ferry.example)",
		"root@ferry.example tokens.create token 1 (ci)",
		"root@ferry.example tokens.revoke token 1 (ci)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
