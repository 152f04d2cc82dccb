-- The SASL mechanism an endpoint's OAuth2 token goes with: XOAUTH2 or
-- OAUTHBEARER (RFC 7628); empty chooses from the server's capabilities.
ALTER TABLE endpoints ADD COLUMN oauth2_mechanism TEXT NOT NULL DEFAULT '';
