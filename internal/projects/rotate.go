package projects

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferryhq/ferry/internal/store"
)

// ResealAll is the reseal step of a key rotation. It opens every sealed
// credential in the store (endpoint passwords and tokens, item passwords)
// with the service's Sealer and seals again, bound to the same associated
// data, each one the Sealer reports as sealed with an older key (every one
// when the Sealer cannot tell; secrets.Keyring can). It returns how many it
// resealed.
//
// Opening every value also checks that each is still usable: values that do
// not open are left as they are and named in the returned error (where they
// live, never what they hold), after the others were resealed.
func (s *Service) ResealAll(ctx context.Context) (int, error) {
	creds, err := s.Store.SealedCredentials(ctx)
	if err != nil {
		return 0, err
	}
	needs, canTell := s.Sealer.(interface{ NeedsReseal(sealed string) bool })
	n := 0
	var bad []error
	for _, c := range creds {
		current, aad, err := s.sealedNow(ctx, c)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return n, err
		}
		if current == "" {
			continue // erased since it was listed (a closed project)
		}
		c.Value = current
		plain, err := s.Sealer.Open(c.Value, aad)
		if err != nil {
			bad = append(bad, fmt.Errorf("%s: %w", describeSealed(c), err))
			continue
		}
		if canTell && !needs.NeedsReseal(c.Value) {
			continue
		}
		if c.Value, err = s.Sealer.Seal(plain, aad); err != nil {
			return n, fmt.Errorf("%s: %w", describeSealed(c), err)
		}
		if err := s.Store.Reseal(ctx, c); err != nil {
			return n, fmt.Errorf("%s: %w", describeSealed(c), err)
		}
		n++
	}
	if len(bad) > 0 {
		return n, fmt.Errorf("%d credential(s) could not be opened with any key and were left as they are; set them again: %w",
			len(bad), errors.Join(bad...))
	}
	return n, nil
}

// sealedNow reads the row a sealed value belongs to again (so a value
// changed since the listing is not overwritten with an older one) and
// rebuilds the associated data it was sealed with.
func (s *Service) sealedNow(ctx context.Context, c store.SealedCredential) (value, aad string, err error) {
	switch c.Table {
	case "endpoints":
		e, err := s.Store.Endpoint(ctx, c.ID)
		if err != nil {
			return "", "", err
		}
		switch c.Column {
		case "sealed_password":
			return e.SealedPassword, EndpointAAD(e.ID, "password"), nil
		case "sealed_token":
			return e.SealedToken, EndpointAAD(e.ID, "token"), nil
		case "sealed_oauth2":
			return e.SealedOAuth2, EndpointAAD(e.ID, "oauth2"), nil
		}
	case "items":
		it, err := s.Store.Item(ctx, c.ID)
		if err != nil {
			return "", "", err
		}
		switch c.Column {
		case "sealed_source_password":
			return it.SealedSourcePassword, itemAAD(it.ProjectID, it.Source, "source"), nil
		case "sealed_dest_password":
			return it.SealedDestPassword, itemAAD(it.ProjectID, it.Source, "destination"), nil
		}
	}
	return "", "", fmt.Errorf("unknown sealed credential %s.%s", c.Table, c.Column)
}

func describeSealed(c store.SealedCredential) string {
	switch c.Table + "." + c.Column {
	case "endpoints.sealed_password":
		return fmt.Sprintf("endpoint %d administrator password", c.ID)
	case "endpoints.sealed_token":
		return fmt.Sprintf("endpoint %d OAuth2 token", c.ID)
	case "endpoints.sealed_oauth2":
		return fmt.Sprintf("endpoint %d OAuth2 app credentials", c.ID)
	case "items.sealed_source_password":
		return fmt.Sprintf("item %d source password", c.ID)
	case "items.sealed_dest_password":
		return fmt.Sprintf("item %d destination password", c.ID)
	}
	return fmt.Sprintf("%s %d %s", c.Table, c.ID, c.Column)
}
