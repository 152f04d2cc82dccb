package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// Sign-in defaults.
const (
	DefaultSessionIdle = 12 * time.Hour     // a session unused this long ends
	DefaultSessionMax  = 7 * 24 * time.Hour // and every session ends after this
)

// The sign-in throttle. There is no lock an attacker could set off: wrong
// passwords slow down the address they come from, for every account after
// freeFailuresPerAddress and for the account tried after
// freeFailuresPerAccount (counted per account and address): the next try
// waits throttleFirstWait, and each further failure doubles the wait
// from throttleFirstWait up to throttleMaxWait. The owner, signing in from
// their own address, is not slowed by someone else's failures. A success
// clears the address's count for that account. The throttle knows accounts
// by the email as typed, so an unknown email is slowed exactly like a known
// one.
const (
	freeFailuresPerAddress = 10
	freeFailuresPerAccount = 5
	throttleFirstWait      = time.Second
	throttleMaxWait        = 15 * time.Minute
	// throttleEntries bounds the throttle's memory; past it, counts whose
	// wait has passed are forgotten.
	throttleEntries = 10000
)

// Service signs people in and keeps their sessions and accounts.
type Service struct {
	// Store: people and sessions, customers to check a person's list, and
	// the audit log the service records its changes in.
	Store interface {
		store.Portal
		store.Customers
		store.Audit
	}
	// Zero values: the defaults above.
	SessionIdle, SessionMax time.Duration
	Now                     func() time.Time

	mu       sync.Mutex
	failures map[string]*failureCount // by throttle key: addressKey, accountKey
}

// failureCount is the failed sign-ins of one throttle key.
type failureCount struct {
	n     int
	until time.Time // no attempt before this
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Sign-in refusals, in the one error vocabulary (internal/fault): wrong
// credentials and a disabled account are Unauthenticated, so each door
// answers them as it answers no credentials. Their messages are meant for
// the person signing in; errors.Is tells them apart.
var (
	ErrWrongCredentials error = &fault.Error{Kind: fault.Unauthenticated, Msg: "the email or the password is not right"}
	ErrDisabled         error = &fault.Error{Kind: fault.Unauthenticated, Msg: "this account is disabled; ask an administrator"}
)

// throttled refuses a sign-in while a wait of the throttle runs: too many
// failed sign-ins from this address, for the account or in all; the same
// words whether the account exists or not.
func throttled(wait time.Duration) error {
	return &fault.Error{Kind: fault.Throttled, RetryAfter: wait,
		Msg: fmt.Sprintf("too many failed sign-ins from your address; wait %d seconds and try again", int(wait.Seconds()+0.999))}
}

func addressKey(addr string) string { return "a\x00" + throttleAddr(addr) }
func accountKey(email, addr string) string {
	return "u\x00" + strings.ToLower(strings.TrimSpace(email)) + "\x00" + throttleAddr(addr)
}

// throttleAddr is the client an address belongs to: an IPv6 address's /64
// (a network gives each client a whole /64, so an attacker has 2^64
// addresses to spread guesses over), an IPv4 address itself.
func throttleAddr(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// attempt refuses a sign-in while a wait of the address or of the account
// from the address runs; otherwise it counts the attempt as a failure at
// once (succeeded gives it back), so that guesses sent together are
// counted as they arrive and not only once their hashes are done.
func (s *Service) attempt(email, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var wait time.Duration
	for _, k := range []string{addressKey(addr), accountKey(email, addr)} {
		if f := s.failures[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return throttled(wait)
	}
	if s.failures == nil {
		s.failures = map[string]*failureCount{}
	}
	if len(s.failures) >= throttleEntries {
		for k, f := range s.failures {
			if now.Sub(f.until) > throttleMaxWait {
				delete(s.failures, k)
			}
		}
	}
	for _, k := range []struct {
		key  string
		free int
	}{{addressKey(addr), freeFailuresPerAddress}, {accountKey(email, addr), freeFailuresPerAccount}} {
		f := s.failures[k.key]
		if f == nil {
			f = &failureCount{}
			s.failures[k.key] = f
		}
		f.n++
		if over := f.n - k.free + 1; over > 0 { // the try after the free ones waits
			wait := throttleMaxWait
			if over < 20 {
				wait = min(throttleMaxWait, throttleFirstWait<<(over-1))
			}
			f.until = now.Add(wait)
		}
	}
	return nil
}

// succeeded gives back the attempt counted against the address, and
// clears the account's failures from the address; the address's failures
// on other accounts stay counted.
func (s *Service) succeeded(email, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, accountKey(email, addr))
	if f := s.failures[addressKey(addr)]; f != nil {
		f.n--
		if f.n-freeFailuresPerAddress+1 <= 0 {
			f.until = time.Time{} // the wait this attempt set, if any
		}
	}
}

// SignedIn is a new session. Token goes into the cookie and is never stored.
type SignedIn struct {
	Token   string
	Session store.Session
	User    store.User
}

// HashToken is what the store keeps of a secret token: its hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RandomToken returns n random bytes, base64url encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignIn checks an email and password from a network address and opens a
// session. A wrong password and an unknown email take the same time (the
// password is hashed either way), write nothing and answer the same.
func (s *Service) SignIn(ctx context.Context, email, password, addr string) (*SignedIn, error) {
	if err := s.attempt(email, addr); err != nil {
		return nil, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		VerifyPassword(dummyHash(), password) // same time as a known account
		return nil, ErrWrongCredentials
	}
	if err != nil {
		return nil, err
	}
	if !VerifyPassword(u.PasswordHash, password) {
		return nil, ErrWrongCredentials
	}
	if u.Disabled {
		return nil, ErrDisabled
	}
	s.succeeded(email, addr)
	now := s.now()
	u.FailedSignIns, u.LockedUntil, u.LastSignIn = 0, time.Time{}, now
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	token := RandomToken(32)
	se := store.Session{Hash: HashToken(token), UserID: u.ID, CSRF: RandomToken(32), Created: now, LastSeen: now,
		Expires: now.Add(orDefault(s.SessionIdle, DefaultSessionIdle))}
	if err := s.Store.CreateSession(ctx, se); err != nil {
		return nil, err
	}
	return &SignedIn{Token: token, Session: se, User: u}, nil
}

// ErrNoSession: the cookie names no live session.
var ErrNoSession error = &fault.Error{Kind: fault.Unauthenticated, Msg: "not signed in, or the session ended; sign in again"}

// Session returns the principal and session of a session cookie's value,
// and keeps the session alive.
func (s *Service) Session(ctx context.Context, token string) (*Principal, store.Session, error) {
	se, err := s.Store.Session(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, se, ErrNoSession
	}
	if err != nil {
		return nil, se, err
	}
	now := s.now()
	if !now.Before(se.Expires) || now.Sub(se.Created) >= orDefault(s.SessionMax, DefaultSessionMax) {
		_ = s.Store.DeleteSession(ctx, se.Hash)
		return nil, se, ErrNoSession
	}
	u, err := s.Store.User(ctx, se.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, se, ErrNoSession
	}
	if err != nil {
		return nil, se, err
	}
	if u.Disabled {
		return nil, se, ErrDisabled
	}
	if now.Sub(se.LastSeen) > time.Minute { // write at most once a minute
		se.LastSeen, se.Expires = now, now.Add(orDefault(s.SessionIdle, DefaultSessionIdle))
		if err := s.Store.TouchSession(ctx, se.Hash, se.LastSeen, se.Expires); err != nil {
			return nil, se, err
		}
	}
	return PrincipalOf(u, KindSession), se, nil
}

// SignOut ends the session of a cookie's value.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.Store.DeleteSession(ctx, HashToken(token))
}

// PrincipalOf is the principal a user's requests run as.
func PrincipalOf(u store.User, kind string) *Principal {
	return &Principal{UserID: u.ID, Name: u.Email, Kind: kind, Role: Role(u.Role), Customers: slices.Clone(u.Customers)}
}

// ---- Accounts

func invalid(field, format string, args ...any) error {
	return fault.InvalidField(field, format, args...)
}

// UserInput is a new account or a change to one.
type UserInput struct {
	Email, Name, Role string
	Password          string // empty on update: unchanged
	Customers         []int64
}

func (s *Service) check(ctx context.Context, in *UserInput, creating bool) (Role, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		return "", invalid("email", "%q is not an email address; people sign in with their email, e.g. pat@partner.example", in.Email)
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		return "", invalid("name", "give the person's name, at most 100 characters")
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		return "", invalid("role", "%v", err)
	}
	if creating || in.Password != "" {
		if err := CheckPassword(in.Password); err != nil {
			return "", invalid("password", "%v", err)
		}
	}
	ri, _ := role.Info()
	slices.Sort(in.Customers)
	in.Customers = slices.Compact(in.Customers)
	switch {
	case ri.AllCustomers && len(in.Customers) > 0:
		return "", invalid("customers", "a %s sees every customer; assign no customers", ri.Title)
	case ri.OneCustomer && len(in.Customers) != 1:
		return "", invalid("customers", "a %s belongs to exactly one customer; choose it", ri.Title)
	}
	for _, c := range in.Customers {
		if _, err := s.Store.Customer(ctx, c); errors.Is(err, store.ErrNotFound) {
			return "", invalid("customers", "there is no customer %d", c)
		} else if err != nil {
			return "", err
		}
	}
	return role, nil
}

// CreateUser makes an account; only those who manage accounts may.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (store.User, error) {
	if err := Authorize(PrincipalFrom(ctx), ActionManageUsers, 0); err != nil {
		return store.User{}, err
	}
	return s.createUser(ctx, in)
}

func (s *Service) createUser(ctx context.Context, in UserInput) (store.User, error) {
	role, err := s.check(ctx, &in, true)
	if err != nil {
		return store.User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{Email: in.Email, Name: in.Name, Role: string(role), Customers: in.Customers, PasswordHash: hash, Created: s.now()}
	if err := s.Store.CreateUser(ctx, &u); errors.Is(err, store.ErrDuplicate) {
		return u, duplicateEmail(in.Email)
	} else if err != nil {
		return u, err
	}
	s.record(ctx, accountEntry(u, auditCreateUser, nil, accountFields(u)))
	return u, nil
}

// UpdateUser changes an account's name, role, customers and (when given)
// password. A new password or a role change signs the person out everywhere;
// a new password also revokes the account's API tokens.
func (s *Service) UpdateUser(ctx context.Context, id int64, in UserInput) (store.User, error) {
	if err := Authorize(PrincipalFrom(ctx), ActionManageUsers, 0); err != nil {
		return store.User{}, err
	}
	u, err := s.Store.User(ctx, id)
	if err != nil {
		return u, err
	}
	if in.Email == "" {
		in.Email = u.Email
	}
	role, err := s.check(ctx, &in, false)
	if err != nil {
		return u, err
	}
	if u.Role == string(Administrator) && role != Administrator {
		if err := s.keepAnAdministrator(ctx, u.ID); err != nil {
			return u, err
		}
	}
	before := u
	signOut := in.Password != "" || u.Role != string(role)
	u.Email, u.Name, u.Role, u.Customers = in.Email, in.Name, string(role), in.Customers
	if in.Password != "" {
		if u.PasswordHash, err = HashPassword(in.Password); err != nil {
			return u, err
		}
	}
	return u, s.saveUser(ctx, before, u, signOut)
}

// ChangePassword sets a new password on the principal's own account, given
// its current one; it signs the person out everywhere.
func (s *Service) ChangePassword(ctx context.Context, current, password string) (store.User, error) {
	p := PrincipalFrom(ctx)
	if err := Authorize(p, ActionOwnTokens, 0); err != nil {
		return store.User{}, err
	}
	if p.UserID == 0 {
		return store.User{}, fault.New(fault.Forbidden, "%s has no account of its own; change passwords with: ferry user update ID --password-file FILE", p.Name)
	}
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return u, err
	}
	if !VerifyPassword(u.PasswordHash, current) {
		return u, invalid("current", "the current password is not right")
	}
	if err := CheckPassword(password); err != nil {
		return u, invalid("password", "%v", err)
	}
	before := u
	if u.PasswordHash, err = HashPassword(password); err != nil {
		return u, err
	}
	return u, s.saveUser(ctx, before, u, true)
}

// saveUser writes a changed account, records the change and, when asked,
// ends the person's sessions.
func (s *Service) saveUser(ctx context.Context, before, u store.User, signOut bool) error {
	if err := s.Store.UpdateUser(ctx, u); errors.Is(err, store.ErrDuplicate) {
		return duplicateEmail(u.Email)
	} else if err != nil {
		return err
	}
	b, a := changedFields(accountFields(before), accountFields(u))
	if before.PasswordHash != u.PasswordHash {
		a["password"] = "changed"
	}
	if len(a) > 0 {
		s.record(ctx, accountEntry(u, auditUpdateUser, b, a))
	}
	if signOut {
		if err := s.Store.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
	}
	if before.PasswordHash != u.PasswordHash { // whoever learnt the old password may have made a token
		return s.Store.RevokeUserTokens(ctx, u.ID)
	}
	return nil
}

func duplicateEmail(email string) error {
	return &fault.Error{Kind: fault.Conflict, Field: "email", Msg: fmt.Sprintf("there is an account for %s already", email)}
}

// keepAnAdministrator refuses to take away the last enabled administrator.
func (s *Service) keepAnAdministrator(ctx context.Context, leaving int64) error {
	users, err := s.Store.Users(ctx)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.ID != leaving && o.Role == string(Administrator) && !o.Disabled {
			return nil
		}
	}
	return invalid("account", "this is the last administrator; make someone else an administrator first")
}

// SetDisabled disables or enables an account; disabling signs it out
// everywhere and revokes its API tokens. Nobody disables their own account.
func (s *Service) SetDisabled(ctx context.Context, id int64, disabled bool) (store.User, error) {
	p := PrincipalFrom(ctx)
	if err := Authorize(p, ActionManageUsers, 0); err != nil {
		return store.User{}, err
	}
	u, err := s.Store.User(ctx, id)
	if err != nil {
		return u, err
	}
	if disabled && p.UserID != 0 && p.UserID == id {
		return u, invalid("account", "you cannot disable your own account")
	}
	if disabled && u.Role == string(Administrator) {
		if err := s.keepAnAdministrator(ctx, u.ID); err != nil {
			return u, err
		}
	}
	was := u.Disabled
	u.Disabled = disabled
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return u, err
	}
	if was != disabled {
		action := auditEnableUser
		if disabled {
			action = auditDisableUser
		}
		s.record(ctx, accountEntry(u, action, map[string]any{"disabled": was}, map[string]any{"disabled": disabled}))
	}
	if disabled {
		if err := s.Store.DeleteUserSessions(ctx, u.ID); err != nil {
			return u, err
		}
		return u, s.Store.RevokeUserTokens(ctx, u.ID)
	}
	return u, nil
}

// Unlock lifts a lock set by an older Ferry and the throttle's waits on the
// account, from every address.
func (s *Service) Unlock(ctx context.Context, id int64) (store.User, error) {
	if err := Authorize(PrincipalFrom(ctx), ActionManageUsers, 0); err != nil {
		return store.User{}, err
	}
	u, err := s.Store.User(ctx, id)
	if err != nil {
		return u, err
	}
	before := u.LockedUntil
	s.mu.Lock()
	prefix := accountKey(u.Email, "")
	for k := range s.failures {
		if strings.HasPrefix(k, prefix) {
			delete(s.failures, k)
		}
	}
	s.mu.Unlock()
	u.FailedSignIns, u.LockedUntil = 0, time.Time{}
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return u, err
	}
	if !before.IsZero() {
		s.record(ctx, accountEntry(u, auditUnlockUser, map[string]any{"locked_until": before}, map[string]any{"locked_until": nil}))
	}
	return u, nil
}

// ErrSetUpAlready: the first administrator exists; sign in instead.
var ErrSetUpAlready error = &fault.Error{Kind: fault.Conflict, Msg: "Ferry has an administrator already; sign in"}

// setUp is who makes the first administrator: whoever holds the setup code.
var setUp = &Principal{Name: "first-run setup", Kind: "setup", Role: Administrator}

// Bootstrap makes the first administrator, only while there is no account at all.
func (s *Service) Bootstrap(ctx context.Context, in UserInput) (store.User, error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return store.User{}, err
	}
	if n > 0 {
		return store.User{}, ErrSetUpAlready
	}
	in.Role, in.Customers = string(Administrator), nil
	return s.createUser(WithPrincipal(ctx, setUp), in)
}

// NeedsSetup reports whether there is no account yet.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	n, err := s.Store.CountUsers(ctx)
	return n == 0, err
}
