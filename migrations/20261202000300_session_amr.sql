-- How each session's login was authenticated: RFC 8176 `amr` values, space-separated
-- ("pwd", "pwd otp", "fed otp"). Every access token of the session (refreshed ones too)
-- carries them. Sessions begun before this migration were password logins.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
