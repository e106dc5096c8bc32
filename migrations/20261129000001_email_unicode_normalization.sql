-- Emails are now normalized with Unicode NFKC and IDNA (UTS #46) besides trimming and
-- lower-casing (passport_actix::local::normalize_email), so look-alike spellings of one address
-- are one account. Rows stored under the older rule are renormalized by the server once, at its
-- next start (IDNA cannot be done in SQL); this table records that such a one-off data
-- migration ran, so it never runs twice. A row whose new form is already taken by another
-- account is left as it is, and the server logs its id.
CREATE TABLE data_migrations (
    name       TEXT        PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
