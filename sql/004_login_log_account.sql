-- login_log by account name: the admin filter, and counting recent misses of
-- an unknown account name (answered like a known account's lockout).
CREATE INDEX k_login_account ON login_log (account, at);
