-- People in engagement roles are accounts: an assignment names the account
-- (users.id) it puts in the role; person keeps the account's e-mail as it
-- was when assigned. Older rows named free text: those whose text is an
-- account's e-mail (any case) become that account's; the rest keep 0 and
-- show as "not an account yet" until someone assigns an account instead.
ALTER TABLE assignments ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
UPDATE assignments SET user_id = (SELECT u.id FROM users u WHERE lower(u.email) = lower(trim(assignments.person)))
 WHERE EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower(trim(assignments.person)));
CREATE INDEX assignments_by_user ON assignments(user_id);
