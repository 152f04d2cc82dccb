-- People in engagement roles are accounts: an assignment names the account
-- (users.id) it puts in the role; person keeps the account's e-mail as it
-- was when assigned. Older rows named free text: those whose text is an
-- account's e-mail (any case) become that account's; the rest keep 0 and
-- show as "not an account yet" until someone assigns an account instead.
ALTER TABLE assignments ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
UPDATE assignments SET user_id = (SELECT u.id FROM users u WHERE lower(u.email) = lower(trim(assignments.person)))
 WHERE EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower(trim(assignments.person)));
CREATE INDEX assignments_by_user ON assignments(user_id);

-- An engagement's success plan (seeds 001 and 002): the customer's goals
-- and the outcomes that show them met, an owner (an account) and the date
-- it was agreed. Initiate exits only with one.
CREATE TABLE success_plans (
    engagement_id BIGINT PRIMARY KEY REFERENCES engagements(id) ON DELETE CASCADE,
    goals         TEXT NOT NULL,
    outcomes      TEXT NOT NULL DEFAULT '',
    owner_id      BIGINT NOT NULL DEFAULT 0,
    owner         TEXT NOT NULL DEFAULT '',
    agreed        TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    updated       TEXT NOT NULL
);

-- A go/no-go decision taken at a go-no-go event: what was decided, by whom
-- (the signed-in person), when, and the evidence shown at that moment (JSON).
CREATE TABLE go_no_go_decisions (
    id            BIGSERIAL PRIMARY KEY,
    engagement_id BIGINT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    event_id      BIGINT NOT NULL REFERENCES scheduled_events(id) ON DELETE CASCADE,
    decision      TEXT NOT NULL,
    who           TEXT NOT NULL,
    who_id        BIGINT NOT NULL DEFAULT 0,
    at            TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX go_no_go_by_engagement ON go_no_go_decisions(engagement_id);

-- The customer's responsibilities of each phase (the playbook's customer
-- checklists), ticked off by the customer's people: one row per item
-- (key: the phase and a hash of the item's text) once someone ticked it.
CREATE TABLE responsibilities (
    engagement_id BIGINT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    item_key      TEXT NOT NULL,
    done          BOOLEAN NOT NULL,
    who           TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (engagement_id, item_key)
);
