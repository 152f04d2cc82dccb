package web

import (
	"net/http"
	"strconv"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /users", Action: auth.ActionManageUsers, Handle: (*server).users},
		route{Pattern: "POST /users", Action: auth.ActionManageUsers, Handle: (*server).createUser},
		route{Pattern: "POST /users/{id}", Action: auth.ActionManageUsers, Handle: (*server).updateUser},
		route{Pattern: "GET /account", Action: auth.ActionOwnTokens, Handle: (*server).account},
		route{Pattern: "POST /account/password", Action: auth.ActionOwnTokens, Handle: (*server).changePassword},
		route{Pattern: "POST /account/tokens", Action: auth.ActionOwnTokens, Handle: (*server).createToken},
		route{Pattern: "POST /account/tokens/{id}/revoke", Action: auth.ActionOwnTokens, Handle: (*server).revokeToken},
	)
}

type usersData struct {
	Users     []store.User
	Customers []store.Customer
	Names     map[int64]string
	Form      auth.UserInput
	Error     string
	EditID    int64
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request, status int, d *usersData, flash string) error {
	var err error
	if d.Users, err = s.Store.Users(r.Context()); err != nil {
		return err
	}
	if d.Customers, err = s.Store.Customers(r.Context()); err != nil {
		return err
	}
	d.Names = map[int64]string{}
	for _, c := range d.Customers {
		d.Names[c.ID] = c.Name
	}
	v := newView(r, "People", "users", d)
	v.Flash = flash
	return s.render(w, r, status, "users.html", v)
}

func (s *server) users(w http.ResponseWriter, r *http.Request) error {
	return s.usersPage(w, r, http.StatusOK, &usersData{}, r.URL.Query().Get("done"))
}

func userForm(r *http.Request) (auth.UserInput, error) {
	in := auth.UserInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: r.PostFormValue("role"),
		Password: r.PostFormValue("password")}
	for _, v := range r.PostForm["customers"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return in, fault.InvalidField("customers", "%s is not a customer id", v)
		}
		in.Customers = append(in.Customers, id)
	}
	return in, nil
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	in, err := userForm(r)
	if err == nil {
		_, err = s.Auth.CreateUser(r.Context(), in)
	}
	if field, msg, ok := fieldError(err); ok {
		in.Password = ""
		return s.usersPage(w, r, http.StatusBadRequest, &usersData{Form: in, Error: labelled(field, msg)}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/users?done="+urlQueryEscape("Account created for "+in.Email+"."))
}

// updateUser changes a role, customers or password, disables/enables or unlocks an account.
func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.allow(r, 0); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.Store.User(r.Context(), id)
	if err != nil {
		return err
	}
	done := ""
	switch r.PostFormValue("do") {
	case "disable":
		_, err = s.Auth.SetDisabled(r.Context(), id, true)
		done = u.Email + " is disabled and signed out."
	case "enable":
		_, err = s.Auth.SetDisabled(r.Context(), id, false)
		done = u.Email + " is enabled."
	case "unlock":
		_, err = s.Auth.Unlock(r.Context(), id)
		done = u.Email + " is unlocked."
	default:
		var in auth.UserInput
		if in, err = userForm(r); err == nil {
			in.Email = u.Email
			_, err = s.Auth.UpdateUser(r.Context(), id, in)
		}
		done = u.Email + " is updated."
	}
	if field, msg, ok := fieldError(err); ok {
		return s.usersPage(w, r, http.StatusBadRequest, &usersData{Error: u.Email + ": " + labelled(field, msg), EditID: id}, "")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/users?done="+urlQueryEscape(done))
}

type accountData struct {
	User     store.User
	Tokens   []store.Token
	NewToken string
	Error    string
}

func (s *server) accountPage(w http.ResponseWriter, r *http.Request, status int, d *accountData, flash string) error {
	p := principal(r)
	var err error
	if d.User, err = s.Store.User(r.Context(), p.UserID); err != nil {
		return err
	}
	all, err := s.Store.Tokens(r.Context())
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.UserID == p.UserID {
			d.Tokens = append(d.Tokens, t)
		}
	}
	v := newView(r, "My account", "account", d)
	v.Flash = flash
	return s.render(w, r, status, "account.html", v)
}

func (s *server) account(w http.ResponseWriter, r *http.Request) error {
	return s.accountPage(w, r, http.StatusOK, &accountData{}, r.URL.Query().Get("done"))
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) error {
	_, err := s.Auth.ChangePassword(r.Context(), r.PostFormValue("current"), r.PostFormValue("password"))
	if field, msg, ok := fieldError(err); ok {
		return s.accountPage(w, r, http.StatusBadRequest, &accountData{Error: labelled(field, msg)}, "")
	}
	if err != nil {
		return err
	}
	// A new password signs out every session, this one too.
	return redirect(w, r, "/signin")
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	tok, _, err := s.Auth.CreateToken(r.Context(), principal(r).UserID, r.PostFormValue("name"))
	if field, msg, ok := fieldError(err); ok {
		return s.accountPage(w, r, http.StatusBadRequest, &accountData{Error: labelled(field, msg)}, "")
	}
	if err != nil {
		return err
	}
	return s.accountPage(w, r, http.StatusOK, &accountData{NewToken: tok}, "")
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	all, err := s.Store.Tokens(r.Context())
	if err != nil {
		return err
	}
	for _, t := range all {
		// Here a person revokes only their own tokens, administrators too.
		if t.ID == id && t.UserID == principal(r).UserID {
			if _, err := s.Auth.RevokeToken(r.Context(), id); err != nil {
				return err
			}
			return redirect(w, r, "/account?done="+urlQueryEscape("Token "+t.Name+" revoked."))
		}
	}
	return &pageError{Status: http.StatusNotFound, Msg: "You have no token " + strconv.FormatInt(id, 10) + "."}
}
