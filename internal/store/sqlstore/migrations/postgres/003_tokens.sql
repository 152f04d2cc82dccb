CREATE TABLE tokens (
    id        BIGSERIAL PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    hash      TEXT NOT NULL UNIQUE,
    created   TEXT NOT NULL,
    last_used TEXT NOT NULL DEFAULT ''
);
