package presets

import "testing"

func TestLookupByNameAndAlias(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"gmail", "gmail"}, {"Google", "gmail"}, {"google-workspace", "gmail"},
		{"m365", "office365"}, {"office365", "office365"}, {" Exchange-Online ", "office365"},
		{"exchange", "exchange"}, {"zimbra", "zimbra"}, {"generic", "imap"},
	}
	for _, tt := range tests {
		if s, ok := Lookup(tt.name); !ok || s.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.name, s.Name, ok, tt.want)
		}
	}
	if _, ok := Lookup("lotus"); ok {
		t.Error("an unknown system was found")
	}
}

// TestPresetsAreConsistent: every system can be connected to, names are
// unique (aliases included), and the providers' limits are set.
func TestPresetsAreConsistent(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range All {
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			if seen[n] {
				t.Errorf("the name %q is used twice", n)
			}
			seen[n] = true
		}
		if s.Port == 0 || (s.Security != "tls" && s.Security != "starttls") || s.Auth == "" {
			t.Errorf("%s: port %d, security %q, auth %q", s.Name, s.Port, s.Security, s.Auth)
		}
	}
	gmail, _ := Lookup("gmail")
	if gmail.DailyDownload != 2500<<20 || gmail.DailyUpload != 500<<20 || gmail.MaxConnections != 15 || !gmail.Labels || gmail.Connections() != 3 {
		t.Errorf("gmail preset %+v", gmail)
	}
	m365, _ := Lookup("m365")
	if m365.MaxMessageSize != 35<<20 || m365.MaxConnections != 20 || m365.Host != "outlook.office365.com" || m365.Folders["sent"] != "Sent Items" {
		t.Errorf("m365 preset %+v", m365)
	}
}
