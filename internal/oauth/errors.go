package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ferryhq/ferry/internal/imapconn"
)

// tokenError turns a failed token request into an *imapconn.Error that
// says what to do. The token endpoint's refusals (4xx) are permanent: the
// credentials or the app's setup are wrong and trying again changes
// nothing. A failure on its side (5xx, 429) or on the way is temporary.
func (s *Source) tokenError(mailbox string, err error) error {
	op := fmt.Sprintf("get an OAuth2 token for %s from %s", mailbox, s.tokenURL)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e := imapconn.Classify(op, err)
		// x/oauth2/jwt reports a failed HTTP exchange as text only.
		if strings.HasPrefix(err.Error(), "oauth2: cannot fetch token:") {
			e.Temporary = true
		}
		return e
	}
	code, desc := re.ErrorCode, re.ErrorDescription
	if code == "" { // x/oauth2/jwt leaves the body unparsed
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, desc = body.Error, body.Description
		}
	}
	for _, secret := range s.secrets {
		if secret != "" {
			desc = strings.ReplaceAll(desc, secret, "[secret]")
		}
	}
	words := strings.TrimSpace(code + ": " + firstLine(desc))
	if code == "" {
		words = fmt.Sprintf("HTTP %d", re.Response.StatusCode)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return &imapconn.Error{
		Op:        op,
		Err:       errors.New(words),
		Temporary: status >= 500 || status == 429,
		Hint:      s.tokenHint(code, desc),
	}
}

// firstLine keeps the first line of Microsoft's error_description, which
// goes on with a trace ID, correlation ID and timestamp.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	line, _, _ = strings.Cut(line, "\n")
	return strings.TrimSpace(line)
}

// tokenHint is what to do about a token endpoint's refusal: Microsoft's
// AADSTS codes, then RFC 6749's error codes.
func (s *Source) tokenHint(code, desc string) string {
	switch {
	case strings.Contains(desc, "AADSTS7000215"):
		return "the client secret is wrong: copy the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page"
	case strings.Contains(desc, "AADSTS7000222"):
		return "the client secret has expired: add a new one under Certificates & secrets in the app registration and give it to Ferry"
	case strings.Contains(desc, "AADSTS700016"):
		return fmt.Sprintf("no application %s in tenant %s: check the tenant ID and the application (client) ID on the app registration's Overview page; an app of another organisation needs an administrator's consent in this tenant first", s.clientID, s.tenant)
	case strings.Contains(desc, "AADSTS90002"), strings.Contains(desc, "AADSTS900023"):
		return fmt.Sprintf("tenant %q does not exist: use the Directory (tenant) ID from the app registration's Overview page", s.tenant)
	case strings.Contains(desc, "AADSTS65001"), strings.Contains(desc, "AADSTS650057"):
		return "an administrator has not consented to the app's permissions: in the app registration, API permissions, add Office 365 Exchange Online > Application permissions > IMAP.AccessAsApp and press Grant admin consent"
	case strings.Contains(desc, "AADSTS700027"), strings.Contains(desc, "AADSTS700024"):
		return "the certificate was refused: upload its public part (.cer/.pem) under Certificates & secrets in the app registration, and check the machine's clock"
	case strings.Contains(desc, "AADSTS70011"):
		return "the scope is not valid for this grant: use https://outlook.office365.com/.default (or leave the scope empty)"
	case code == "unauthorized_client" && s.perMailbox:
		return fmt.Sprintf("domain-wide delegation is not granted for this scope: in the Google Admin console, Security > Access and data control > API controls > Manage Domain Wide Delegation, add client ID %s with scope %s", s.clientID, GoogleMailScope)
	case code == "invalid_grant" && s.perMailbox:
		return "Google refused the delegation for this mailbox: check that the mailbox exists in the Workspace domain, and that the machine's clock is right"
	case code == "invalid_client":
		return "the client ID or its secret/certificate/key is wrong or was revoked: check them in the app registration (service account) and give Ferry new ones"
	case code == "invalid_scope":
		return "the scope was refused: leave the scope empty to use the default, or ask for one the app is granted"
	}
	return "check the OAuth2 credentials of this endpoint"
}

// Hint says what to do when an IMAP server refuses a freshly issued token
// for mailbox (imapconn asks after its one renewal).
func (s *Source) Hint(mailbox, serverWords string) string {
	lower := strings.ToLower(serverWords)
	switch {
	case strings.Contains(lower, "authenticated but not connected"):
		return fmt.Sprintf("Exchange Online accepted the token but the app may not open %s: register the app's service principal and give it access to the mailbox, in Exchange Online PowerShell:\n"+
			"  Connect-ExchangeOnline -Organization %s\n"+
			"  New-ServicePrincipal -AppId %s -ObjectId <Object ID of the app on the Enterprise applications page>\n"+
			"  Add-MailboxPermission -Identity \"%s\" -User <the service principal's Object ID> -AccessRights FullAccess\n"+
			"and check that the app has the IMAP.AccessAsApp application permission with admin consent", mailbox, s.tenant, s.clientID, mailbox)
	case s.perMailbox:
		return fmt.Sprintf("the server refused a new token for %s: check that IMAP is enabled for the mailbox (Admin console > Apps > Google Workspace > Gmail > End User Access) and that delegation grants %s", mailbox, GoogleMailScope)
	}
	return fmt.Sprintf("the server refused a new token for %s: the app's credentials may have been revoked, or the app lacks IMAP.AccessAsApp or access to this mailbox (New-ServicePrincipal, Add-MailboxPermission)", mailbox)
}
