package web

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/projects"
)

// The portal's words: every page names fields, passes, roles, counts,
// sizes and rates through these (template funcs registered in init), so
// the person reads the seeds' words and never the code's.

// fieldLabels name the inputs a fault.Error's Field names (the API keeps
// the field as it is; the pages show its label).
var fieldLabels = map[string]string{
	"account":                     "Account",
	"admin_user":                  "Administrator user name",
	"agreed":                      "Agreed on",
	"at":                          "Time",
	"count":                       "Count",
	"csrf":                        "Form token",
	"csv":                         "CSV file",
	"current":                     "Current password",
	"customer_id":                 "Customer",
	"customers":                   "Customers",
	"date_from":                   "From date",
	"dav":                         "Calendars and contacts",
	"dav_url":                     "Calendars and contacts URL",
	"decision":                    "Decision",
	"delete":                      "Delete",
	"description":                 "What is wrong",
	"destination":                 "Destination mailbox",
	"destination_endpoint_id":     "Destination endpoint",
	"destination_password":        "Destination password",
	"domain":                      "Domain",
	"due":                         "Due date",
	"email":                       "Email",
	"ends":                        "Ends",
	"engagement_id":               "Engagement",
	"event_id":                    "Go/no-go event",
	"every":                       "Repeat every",
	"ews":                         "Exchange Web Services",
	"ews_url":                     "Exchange Web Services URL",
	"expires":                     "Expires",
	"file":                        "File",
	"format":                      "Format",
	"goals":                       "Goals",
	"google_service_account":      "Google service account key",
	"graph_mailbox":               "Microsoft 365 mailbox",
	"graph_url":                   "Microsoft Graph URL",
	"host":                        "Server",
	"id":                          "Id",
	"ids":                         "Selection",
	"item":                        "Mailbox",
	"item_ids":                    "Selected mailboxes",
	"item_types":                  "Item types",
	"key":                         "Responsibility",
	"kind":                        "Kind",
	"mailbox":                     "Mailbox",
	"mailboxes":                   "Mailboxes file",
	"max_concurrent_migrations":   "Maximum concurrent migrations",
	"max_errors_per_migration":    "Maximum errors per migration",
	"max_gb_per_wave":             "Most GB per wave",
	"max_message_mb":              "Largest message (MB)",
	"max_per_wave":                "Most mailboxes per wave",
	"migrated_at":                 "Migrated at",
	"minutes":                     "Log time (minutes)",
	"name":                        "Name",
	"note":                        "Why",
	"notes":                       "Notes",
	"oauth2":                      "OAuth2 credentials",
	"oauth2_certificate":          "Certificate file",
	"oauth2_certificate_password": "Certificate password",
	"oauth2_client_id":            "Client ID",
	"oauth2_client_secret":        "Client secret",
	"oauth2_mechanism":            "Sign-in mechanism",
	"oauth2_tenant":               "Tenant",
	"oauth2_token_url":            "Token URL",
	"older_than_days":             "Older than (days)",
	"override":                    "Override",
	"owner":                       "Owner",
	"pass":                        "Pass",
	"password":                    "Password",
	"percent":                     "Percent complete",
	"percent_complete":            "Percent complete",
	"permissions":                 "Permissions file",
	"person":                      "Person",
	"phase":                       "Phase",
	"port":                        "Port",
	"prestage_days_before":        "Pre-stage days ahead",
	"primary_domain":              "Primary domain",
	"project":                     "Project",
	"project_id":                  "Project",
	"reason":                      "Reason",
	"recurrence":                  "Repeats",
	"reopened":                    "Reopened",
	"resolver":                    "DNS resolver",
	"retired":                     "Retired",
	"role":                        "Role",
	"scope":                       "Scope",
	"search":                      "Search",
	"seats":                       "Licensed seats",
	"security":                    "Security",
	"selection":                   "Selection",
	"service":                     "Service",
	"services":                    "Services",
	"source":                      "Source mailbox",
	"source_endpoint_id":          "Source endpoint",
	"source_password":             "Source password",
	"start":                       "First wave",
	"starts":                      "Starts",
	"state":                       "State",
	"status":                      "Status",
	"statuses":                    "Statuses",
	"time_note":                   "About the time",
	"time_zone":                   "Time zone",
	"title":                       "Title",
	"type":                        "Type",
	"user":                        "Person",
	"verification_txt":            "Verification TXT record",
	"waves":                       "Waves",
	"who":                         "Who",
	"workloads":                   "Source workloads",
	"write":                       "Write",
}

// indexed is a field inside a list ("items[3].password").
var indexed = regexp.MustCompile(`^([a-z_]+)\[(\d+)\]\.?(.*)$`)

// fieldLabel is the label of an input a fault names, as the form shows it.
func fieldLabel(field string) string {
	if field == "" {
		return ""
	}
	if m := indexed.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[2])
		what := "Row"
		if m[1] == "items" || m[1] == "item" {
			what = "Mailbox"
		}
		label := fmt.Sprintf("%s %d", what, n+1)
		if m[3] != "" {
			label += ", " + strings.ToLower(fieldLabel(m[3]))
		}
		return label
	}
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	// A field nobody named yet: its words without the code's underscores.
	s := strings.TrimSuffix(field, "_id")
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// faultMessage is a fault as a person reads it: its field's label, then
// what to do.
func faultMessage(fe *fault.Error) string {
	if fe.Field == "" {
		return fe.Msg
	}
	return fieldLabel(fe.Field) + ": " + fe.Msg
}

// passWords are the passes as the seeds name them (the service's table).
var passWords = projects.PassNames

// passName is a pass (as the engine names it) in the seeds' words.
func passName(p string) string {
	if n, ok := passWords[p]; ok {
		return n
	}
	return p
}

// num writes a count with thousands separators: 27,692.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// anyInt reads the integers templates hand to num.
func anyInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	case uint:
		return int64(n)
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// size writes bytes in decimal units (1 kB = 1,000 B): 950 B, 27.7 MB.
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return num(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// minRated is the shortest pass whose speed is worth a figure: below a
// second a rate is noise ("0s, 27,692 MB/hr").
const minRated = time.Second

// rate writes a per-hour figure measured over d, or "—" when d is too
// short to measure anything.
func rate(perHour float64, d time.Duration) string {
	if d < minRated {
		return "—"
	}
	return decimal(perHour)
}

// decimal writes a figure with thousands separators: one decimal below
// 100, none above.
func decimal(f float64) string {
	if f < 100 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return num(int64(f + 0.5))
}

// duration writes a pass's length: "under a second", "42s", "3m 12s", "2h 05m".
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// playbookWords are the funcs that need the playbook: a task's role by its
// name in the playbook ("FastTrack Manager", not "ftm").
func playbookWords(pb *playbook.Playbook) map[string]any {
	return map[string]any{
		"taskRole": func(id string) string {
			if pb != nil {
				if ro, ok := pb.Role(id); ok {
					return ro.Name
				}
			}
			return id
		},
	}
}

func init() {
	funcs["fieldLabel"] = fieldLabel
	funcs["passName"] = passName
	funcs["num"] = func(v any) string { return num(anyInt(v)) }
	funcs["bytes"] = size
	funcs["rate"] = rate
	funcs["decimal"] = decimal
	funcs["duration"] = duration
	// Replaced per server by playbookWords (parseTemplates).
	funcs["taskRole"] = func(id string) string { return id }
}
