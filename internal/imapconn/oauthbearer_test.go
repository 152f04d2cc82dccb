package imapconn

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestOAuth2MechanismChoiceAndResponse: XOAUTH2 unless the server offers
// only OAUTHBEARER or the endpoint asks; OAUTHBEARER's GS2 header escapes
// ',' and '=' in the user (RFC 5801) and carries host and port (RFC 7628).
func TestOAuth2MechanismChoiceAndResponse(t *testing.T) {
	t.Parallel()
	caps := func(c ...string) imap.CapSet {
		s := imap.CapSet{}
		for _, x := range c {
			s[imap.Cap(x)] = struct{}{}
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		choice string
		caps   imap.CapSet
		want   OAuth2Mechanism
	}{
		{"both offered", "auto", caps("AUTH=XOAUTH2", "AUTH=OAUTHBEARER"), XOAuth2},
		{"only OAUTHBEARER", "", caps("AUTH=OAUTHBEARER"), OAuthBearer},
		{"none announced", "", caps(), XOAuth2},
		{"asked", "OAuthBearer", caps("AUTH=XOAUTH2"), OAuthBearer},
		{"forced XOAUTH2", "xoauth2", caps("AUTH=OAUTHBEARER"), XOAuth2},
	} {
		m, err := ParseOAuth2Mechanism(tc.choice)
		if err != nil {
			t.Fatal(err)
		}
		if got := (Endpoint{OAuth2Mechanism: m}).oauth2Mechanism(tc.caps); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if _, err := ParseOAuth2Mechanism("plain"); err == nil {
		t.Error("plain accepted as an OAuth2 mechanism")
	}
	if got := string(oauth2Response(OAuthBearer, "a,b=c@x", "imap.example", 993, "tok")); got != "n,a=a=2Cb=3Dc@x,\x01host=imap.example\x01port=993\x01auth=Bearer tok\x01\x01" {
		t.Errorf("OAUTHBEARER response %q", got)
	}
	if got := string(oauth2Response(XOAuth2, "a@x", "h", 1, "tok")); got != "user=a@x\x01auth=Bearer tok\x01\x01" {
		t.Errorf("XOAUTH2 response %q", got)
	}
}
