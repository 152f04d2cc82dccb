package projects

import (
	"fmt"
	"sync"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/store"
)

// tokenSources keeps one token source per endpoint credentials, so that
// every item of an endpoint shares its cached tokens (one Microsoft app
// token serves the whole tenant). New credentials make a new key.
var tokenSources sync.Map // string -> *oauth.Source

// endpointTokens opens an endpoint's sealed OAuth2 credentials and returns
// their token source.
func (s *Service) endpointTokens(ep store.Endpoint) (imapconn.TokenSource, error) {
	key := fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s\x00%s", ep.ID, ep.SealedOAuth2, ep.OAuth2Tenant, ep.OAuth2ClientID, ep.OAuth2TokenURL, ep.OAuth2Scope)
	if src, ok := tokenSources.Load(key); ok {
		return src.(*oauth.Source), nil
	}
	opened, err := s.Sealer.Open(ep.SealedOAuth2, EndpointAAD(ep.ID, "oauth2"))
	if err != nil {
		return nil, err
	}
	cfg := oauth.Config{Tenant: ep.OAuth2Tenant, ClientID: ep.OAuth2ClientID, TokenURL: ep.OAuth2TokenURL, Scope: ep.OAuth2Scope}
	if err := cfg.SetSecrets(opened); err != nil {
		return nil, err
	}
	src, err := oauth.New(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", ep.Name, err)
	}
	actual, _ := tokenSources.LoadOrStore(key, src)
	return actual.(*oauth.Source), nil
}
