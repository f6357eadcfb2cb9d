-- Single sign-on identify tokens (PROTOCOL.md 4.9): a signed-in user asks
-- for one (POST /api/v1/sso/token), his client puts it in an app's URL
-- ($TOKEN$), the app's server trades it once for his identity
-- (GET /cgi/identify?token=).  Only a hash is stored; a token is valid 3
-- minutes, once, and only while the session it came from is alive.

CREATE TABLE sso_tokens (
  token_hash  CHAR(64) NOT NULL PRIMARY KEY,          -- hex SHA-256 of the token
  user_id     BIGINT UNSIGNED NOT NULL,
  session_id  BIGINT UNSIGNED NOT NULL,
  app_pk      INT UNSIGNED NULL,                      -- the app it was asked for
  expires_at  DATETIME NOT NULL,
  used_at     DATETIME NULL,
  created_at  DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  KEY k_sso_user (user_id, expires_at),
  CONSTRAINT fk_sso_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT fk_sso_session FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE,
  CONSTRAINT fk_sso_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE SET NULL
) ENGINE=InnoDB;
