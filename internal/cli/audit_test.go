package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// TestCommandLineChangesAreAudited: every change to customers, endpoints,
// accounts and tokens made on the command line leaves an audit entry naming
// the person who ran it; no command writes past the audit log.
func TestCommandLineChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	newPW := e.write("new.pw", "An0ther-secret\n")
	userPW := e.write("user.pw", "a long enough password\n")

	var cust, ep, user idJSON
	steps := []struct {
		action string   // the audit entry's action
		object string   // a part of its object
		args   []string // the command; "{id}" stands for the id of the last created
	}{
		{"customers.create", "Tailspin", []string{"customer", "add", "--name", "Tailspin", "--domain", "tailspin.com"}},
		{"endpoints.create", "spare", []string{"endpoint", "add", "--customer", "{customer}", "--name", "spare", "--type", "dovecot",
			"--host", "mail.tailspin.com", "--admin", "master", "--password-file", e.adminPW}},
		{"endpoints.credentials", "spare", []string{"endpoint", "credentials", "{endpoint}", "--admin", "master", "--password-file", newPW}},
		{"endpoints.delete", "spare", []string{"endpoint", "delete", "{endpoint}"}},
		{"users.create", "pat@tailspin.com", []string{"user", "create", "--email", "pat@tailspin.com", "--name", "Pat", "--role", "viewer",
			"--customer", "{customer}", "--password-file", userPW}},
		{"users.disable", "pat@tailspin.com", []string{"user", "disable", "{user}"}},
		{"tokens.create", "reporting", []string{"token", "create", "--name", "reporting"}},
		{"tokens.revoke", "reporting", []string{"token", "revoke", "{token}"}},
		{"customers.delete", "Tailspin", []string{"customer", "delete", "{customer}"}},
	}
	var tokenID int64
	for _, st := range steps {
		args := make([]string, len(st.args))
		for i, a := range st.args {
			args[i] = strings.NewReplacer("{customer}", id(cust.ID), "{endpoint}", id(ep.ID), "{user}", id(user.ID), "{token}", id(tokenID)).Replace(a)
		}
		switch st.action {
		case "customers.create":
			e.okJSON(&cust, args...)
		case "endpoints.create":
			e.okJSON(&ep, args...)
		case "users.create":
			e.okJSON(&user, args...)
		case "tokens.create":
			e.ok(args...)
			var toks []store.Token
			if err := json.Unmarshal([]byte(e.ok("token", "list", "--json")), &toks); err != nil || len(toks) != 1 {
				t.Fatalf("token list: %v %+v", err, toks)
			}
			tokenID = toks[0].ID
		default:
			e.ok(args...)
		}
	}

	st, err := sqlstore.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Audit(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		found := false
		for _, en := range entries {
			if en.Action == step.action && strings.Contains(en.Object, step.object) {
				found = true
				if !strings.HasPrefix(en.Who, "command line") {
					t.Errorf("%s of %s: recorded as made by %q, want the command line's user", step.action, en.Object, en.Who)
				}
				for _, s := range append(allSecrets, "An0ther-secret", "a long enough password") {
					if strings.Contains(en.Before+en.After, s) {
						t.Errorf("%s: a secret in the audit log: %+v", step.action, en)
					}
				}
			}
		}
		if !found {
			t.Errorf("ferry %s: no audit entry %s of %q", strings.Join(step.args[:2], " "), step.action, step.object)
		}
	}
}
