package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
)

// loginCSRFCookie carries the sign-in and setup forms' CSRF token before
// there is a session (double submit: the form repeats the cookie's value).
const loginCSRFCookie = "ferry_login_csrf"

func init() {
	addRoutes(
		route{Pattern: "GET /signin", Public: true, Handle: (*server).signInPage},
		route{Pattern: "POST /signin", Public: true, Handle: (*server).signIn},
		route{Pattern: "POST /signout", Public: true, Handle: (*server).signOut},
		route{Pattern: "GET /setup", Public: true, Handle: (*server).setupPage},
		route{Pattern: "POST /setup", Public: true, Handle: (*server).setupPost},
	)
}

type signInData struct {
	Email, Next, Error, Warning, Banner, LoginCSRF string
	Code, Name                                     string
}

func (s *server) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := auth.RandomToken(32)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: v, Path: "/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return v
}

func checkLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(loginCSRFCookie)
	got := r.PostFormValue(csrfField)
	return err == nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// safeNext keeps only same-origin paths as where to go after signing in;
// anything else goes to the dashboard. Browsers drop tabs and line breaks
// from URLs and read a backslash as a slash, so "/<TAB>/evil.example" and
// "/\\evil.example" mean "//evil.example", another site. The path is checked
// as written and after each round of percent-decoding (a proxy or the
// application behind the redirect may decode once more).
func safeNext(next string) string {
	const home = "/"
	if !strings.HasPrefix(next, "/") || strings.ContainsFunc(next, unsafeInURL) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return home
	}
	path, _, _ := strings.Cut(next, "?")
	path, _, _ = strings.Cut(path, "#")
	for range 3 {
		if strings.HasPrefix(path, "//") || strings.ContainsFunc(path, unsafeInURL) {
			return home
		}
		decoded, err := url.PathUnescape(path)
		if err != nil {
			return home
		}
		if decoded == path {
			return next
		}
		path = decoded
	}
	return home // still encoded after three rounds: no real page looks like that
}

// unsafeInURL: characters a browser drops or rewrites in a URL (controls,
// spaces, backslashes), so a path holding them may not lead where it reads.
func unsafeInURL(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r)
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) error {
	if need, err := s.needsSetup(r); err != nil {
		return err
	} else if need {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return nil
	}
	if _, _, err := s.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	d := &signInData{Next: r.URL.Query().Get("next"), Banner: s.Banner, LoginCSRF: s.loginCSRF(w, r)}
	if !secureRequest(r) {
		d.Warning = "This portal is served over plain HTTP to another machine: passwords and sessions cross the network unencrypted. Serve it over HTTPS (a reverse proxy with TLS)."
	}
	return s.render(w, r, http.StatusOK, "signin.html", newView(r, "Sign in", "", d))
}

func (s *server) signIn(w http.ResponseWriter, r *http.Request) error {
	d := &signInData{Email: r.PostFormValue("email"), Next: r.PostFormValue("next"), Banner: s.Banner}
	if !checkLoginCSRF(r) {
		d.Error = "The sign-in form expired. Try again."
		d.LoginCSRF = s.loginCSRF(w, r)
		return s.render(w, r, http.StatusForbidden, "signin.html", newView(r, "Sign in", "", d))
	}
	d.LoginCSRF = s.loginCSRF(w, r)
	in, err := s.Auth.SignIn(r.Context(), d.Email, r.PostFormValue("password"), clientAddr(r))
	if err != nil {
		// Wrong credentials, a disabled account and the throttle's wait
		// are said on the form; the service's words are the same for an
		// unknown account as for a known one.
		fe, ok := fault.As(err)
		if !ok || (fe.Kind != fault.Unauthenticated && fe.Kind != fault.Throttled) {
			return err
		}
		setRetryAfter(w, fe)
		d.Error = fe.Msg
		return s.render(w, r, statusOfKind[fe.Kind], "signin.html", newView(r, "Sign in", "", d))
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: in.Token, Path: "/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteLaxMode, Expires: in.Session.Created.Add(auth.DefaultSessionMax)})
	http.Redirect(w, r, safeNext(d.Next), http.StatusSeeOther)
	return nil
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) error {
	if _, se, err := s.session(r); err == nil {
		if !validCSRF(r, se.CSRF) {
			return &pageError{Status: http.StatusForbidden, Msg: "This form has expired or came from another site. Reload the page and try again."}
		}
		if c, err := r.Cookie(SessionCookie); err == nil {
			if err := s.Auth.SignOut(r.Context(), c.Value); err != nil {
				return err
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: secureRequest(r), MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

func (s *server) needsSetup(r *http.Request) (bool, error) {
	s.mu.Lock()
	done := s.setup
	s.mu.Unlock()
	if done {
		return false, nil
	}
	need, err := s.Auth.NeedsSetup(r.Context())
	if err == nil && !need {
		s.mu.Lock()
		s.setup = true
		s.mu.Unlock()
	}
	return need, err
}

func (s *server) setupPage(w http.ResponseWriter, r *http.Request) error {
	need, err := s.needsSetup(r)
	if err != nil {
		return err
	}
	if !need {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	d := &signInData{Code: r.URL.Query().Get("code"), LoginCSRF: s.loginCSRF(w, r)}
	return s.render(w, r, http.StatusOK, "setup.html", newView(r, "Set up", "", d))
}

func (s *server) setupPost(w http.ResponseWriter, r *http.Request) error {
	d := &signInData{Code: r.PostFormValue("code"), Name: r.PostFormValue("name"), Email: r.PostFormValue("email")}
	status := http.StatusBadRequest
	switch {
	case !checkLoginCSRF(r):
		d.Error, status = "The form expired. Try again.", http.StatusForbidden
	case s.SetupCode == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(d.Code)), []byte(s.SetupCode)) != 1:
		d.Error, status = "The setup code is not right. Use the code `ferry serve` printed when it started.", http.StatusForbidden
	default:
		_, err := s.Auth.Bootstrap(r.Context(), auth.UserInput{Email: d.Email, Name: d.Name, Password: r.PostFormValue("password")})
		field, msg, invalid := fieldError(err)
		switch {
		case err == nil:
			return s.signIn(w, r)
		case errors.Is(err, auth.ErrSetUpAlready):
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return nil
		case invalid:
			d.Error = labelled(field, msg)
		default:
			return err
		}
	}
	d.LoginCSRF = s.loginCSRF(w, r)
	return s.render(w, r, status, "setup.html", newView(r, "Set up", "", d))
}
