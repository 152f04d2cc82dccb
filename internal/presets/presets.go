// Package presets is Ferry's one table of mail systems: for each, the
// connection settings, the way administrators sign in, the names of its
// special folders and the limits its provider documents. The CLI
// (--from-type, --to-type), the portal's endpoint form, the API and the
// services all read it from here; every value is a default the user can
// override. Sources for each figure are in docs/systems/limits.md.
package presets

import (
	"strings"
	"time"
)

// Auth says how Ferry signs in to a system.
type Auth string

const (
	// AuthPassword: each mailbox's own user name and password.
	AuthPassword Auth = "password"
	// AuthAdmin: an administrator signs in and acts for each mailbox
	// (SASL PLAIN authorization identity: Dovecot master users, Exchange
	// impersonation, Zimbra admin delegation).
	AuthAdmin Auth = "admin"
	// AuthOAuth2: XOAUTH2 with a token for each mailbox (Microsoft 365
	// app-only, Google Workspace domain-wide delegation).
	AuthOAuth2 Auth = "oauth2"
)

// System describes a kind of mail system and its documented limits.
type System struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Aliases are other names the CLI accepts (--to-type m365).
	Aliases []string `json:"aliases,omitempty"`
	// Host is the provider's IMAP host; empty for systems run on premises.
	Host     string `json:"host,omitempty"`
	Port     int    `json:"default_port"`
	Security string `json:"default_security"`
	Auth     Auth   `json:"auth"`
	// Folders names the special folders by role (sent, drafts, trash,
	// junk, archive), for servers that do not announce SPECIAL-USE.
	Folders        map[string]string `json:"folders,omitempty"`
	MaxMessageSize int64             `json:"max_message_size"`
	// Folder limits a destination of this system enforces, as pre-flight
	// checks them (0: none known).
	MaxFolderItems      int64 `json:"max_folder_items,omitempty"`
	MaxFolderDepth      int   `json:"max_folder_depth,omitempty"`
	MaxFolderNameLength int   `json:"max_folder_name_length,omitempty"`
	MaxFolderPathLength int   `json:"max_folder_path_length,omitempty"`
	// MaxConnections is how many IMAP connections the provider accepts
	// for one mailbox at once; Ferry opens fewer.
	MaxConnections int   `json:"max_connections,omitempty"`
	DailyDownload  int64 `json:"daily_download,omitempty"`
	DailyUpload    int64 `json:"daily_upload,omitempty"`
	// Throttling is how the provider slows clients down, for people.
	Throttling string `json:"throttling,omitempty"`
	// Backoff is how long to wait when the provider throttles without
	// saying for how long.
	Backoff time.Duration `json:"-"`
	// UserIsEmail: log-in names must be email addresses.
	UserIsEmail bool `json:"user_is_email"`
	// Labels: the system has Gmail's labels (X-GM-EXT-1) rather than folders.
	Labels bool `json:"labels,omitempty"`
}

// Connections is how many connection pairs Ferry opens for one mailbox of
// this system: at most half of what the provider accepts (each pair is two
// connections to it when it is both sides' system, and a user's own mail
// client needs some), and 0 (the engine's default) when it sets no limit.
func (s System) Connections() int {
	if s.MaxConnections == 0 {
		return 0
	}
	return max(1, s.MaxConnections/4)
}

// All are the systems Ferry knows, in the order the portal lists them.
var All = []System{
	{Name: "imap", Label: "Generic IMAP", Aliases: []string{"generic"}, Port: 993, Security: "tls", Auth: AuthPassword},
	{Name: "exchange", Label: "Exchange Server 2003+", Aliases: []string{"exchange-onprem"}, Port: 993, Security: "tls", Auth: AuthAdmin,
		Folders:        map[string]string{"sent": "Sent Items", "drafts": "Drafts", "trash": "Deleted Items", "junk": "Junk Email", "archive": "Archive"},
		MaxConnections: 16, Backoff: time.Minute,
		MaxFolderItems: 1_000_000, MaxFolderDepth: 300, MaxFolderNameLength: 255,
		Throttling: "throttling policies slow IMAP clients and answer 'Request is throttled'; an administrator with impersonation rights acts for each mailbox"},
	{Name: "office365", Label: "Office 365", Aliases: []string{"m365", "microsoft365", "exchange-online"}, Host: "outlook.office365.com",
		Port: 993, Security: "tls", Auth: AuthOAuth2, UserIsEmail: true,
		Folders:        map[string]string{"sent": "Sent Items", "drafts": "Drafts", "trash": "Deleted Items", "junk": "Junk Email", "archive": "Archive"},
		MaxMessageSize: 35 << 20, MaxConnections: 20, Backoff: 5 * time.Minute,
		MaxFolderItems: 1_000_000, MaxFolderDepth: 300, MaxFolderNameLength: 255, MaxFolderPathLength: 255,
		Throttling: "answers 'Request is throttled' with a suggested back-off of about 300 s and drops the connection after repeated errors; Ferry honours the hint"},
	{Name: "gmail", Label: "Gmail / Google Workspace", Aliases: []string{"google", "google-workspace", "workspace"}, Host: "imap.gmail.com",
		Port: 993, Security: "tls", Auth: AuthOAuth2, UserIsEmail: true, Labels: true,
		Folders:        map[string]string{"sent": "[Gmail]/Sent Mail", "drafts": "[Gmail]/Drafts", "trash": "[Gmail]/Trash", "junk": "[Gmail]/Spam", "archive": "[Gmail]/All Mail"},
		MaxMessageSize: 25 << 20, MaxConnections: 15, DailyDownload: 2500 << 20, DailyUpload: 500 << 20, Backoff: time.Hour,
		Throttling: "about 2,500 MB download and 500 MB upload per user per day; answers [THROTTLED] or 'Account exceeded command or bandwidth limits'"},
	{Name: "dovecot", Label: "Dovecot", Port: 993, Security: "tls", Auth: AuthAdmin},
	{Name: "cyrus", Label: "Cyrus", Port: 993, Security: "tls", Auth: AuthAdmin},
	{Name: "zimbra", Label: "Zimbra", Port: 993, Security: "tls", Auth: AuthAdmin,
		Folders: map[string]string{"sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk"}},
}

// Lookup finds a system by its name or one of its aliases, in any case.
func Lookup(name string) (System, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, s := range All {
		if s.Name == name {
			return s, true
		}
		for _, a := range s.Aliases {
			if a == name {
				return s, true
			}
		}
	}
	return System{}, false
}

// Names lists the systems' names, for messages that say what to write.
func Names() string {
	var n []string
	for _, s := range All {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}
