-- OAuth2 administrator credentials of an endpoint (Microsoft 365 app-only,
-- Google service account): Ferry gets the tokens itself. The secret parts
-- (client secret, certificate, service account key) are sealed together in
-- sealed_oauth2; the rest is not secret.
ALTER TABLE endpoints ADD COLUMN oauth2_tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN oauth2_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN oauth2_token_url TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN oauth2_scope TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN sealed_oauth2 TEXT NOT NULL DEFAULT '';
