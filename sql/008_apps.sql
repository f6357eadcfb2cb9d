-- Open platform (/cgi, PROTOCOL.md): apps, who may see them, and their
-- access tokens.  Tokens are stored (hashed) so they survive a restart.

CREATE TABLE apps (
  id              INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  app_id          VARCHAR(64) NOT NULL,              -- 'yd' + 32 hex, or a built-in name
  name            VARCHAR(64) NOT NULL,
  description     VARCHAR(255) NOT NULL DEFAULT '',
  builtin         TINYINT NOT NULL DEFAULT 0,
  -- what the app may call (bits): 1 app messages and media, 2 org read and
  -- write, 4 groups and sessions, 8 system messages, 16 mail, 32 sms,
  -- 64 message audit callbacks
  rights          INT UNSIGNED NOT NULL DEFAULT 1,
  aes_key         CHAR(44) NULL,                     -- EncodingAESKey; NULL: no API access yet
  callback_url    VARCHAR(1024) NOT NULL DEFAULT '',
  callback_token  VARCHAR(64) NOT NULL DEFAULT '',
  home_url        VARCHAR(1024) NOT NULL DEFAULT '', -- app portal; $TOKEN$ is replaced
  logo_file_id    BIGINT UNSIGNED NULL,
  scope_all       TINYINT NOT NULL DEFAULT 1,        -- 0: only app_scope sees it
  enabled         TINYINT NOT NULL DEFAULT 1,
  key_rotated_at  DATETIME NULL,
  created_at      DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  updated_at      DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY uk_app_appid (app_id),
  CONSTRAINT fk_app_logo FOREIGN KEY (logo_file_id) REFERENCES files (id)
    ON DELETE SET NULL
) ENGINE=InnoDB;

-- the users and departments (with their subtrees) an app is visible to
CREATE TABLE app_scope (
  app_pk      INT UNSIGNED NOT NULL,
  kind        TINYINT NOT NULL,                      -- 1 department, 2 user
  target_id   BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (app_pk, kind, target_id),
  CONSTRAINT fk_scope_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- several live tokens per app (every SDK client object fetches its own)
CREATE TABLE app_tokens (
  token_hash  CHAR(64) NOT NULL PRIMARY KEY,         -- hex SHA-256 of the token
  app_pk      INT UNSIGNED NOT NULL,
  expires_at  DATETIME NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  KEY k_token_app (app_pk, expires_at),
  KEY k_token_exp (expires_at),
  CONSTRAINT fk_token_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- media uploaded by apps (/cgi/media/upload); the bytes are an ordinary
-- files row (uploader_id NULL).  media_id is opaque (32 hex), so an app
-- cannot name another app's or a user's file.
CREATE TABLE app_media (
  media_id    CHAR(32) NOT NULL PRIMARY KEY,
  app_pk      INT UNSIGNED NOT NULL,
  file_id     BIGINT UNSIGNED NOT NULL,
  type        VARCHAR(8) NOT NULL,                  -- file, image, voice, video
  created_at  DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  KEY k_media_app (app_pk, created_at),
  CONSTRAINT fk_media_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE CASCADE,
  CONSTRAINT fk_media_file FOREIGN KEY (file_id) REFERENCES files (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- callbacks to apps (PROTOCOL.md section 5), delivered by the callback
-- worker with retries; producers insert a row in their own transaction
-- and PUBLISH yd:callback <id> to wake it.  payload is the plaintext JSON
-- object; the worker adds "packageId" (this id, as a string) and
-- "createTime" when missing, encrypts and signs it.
CREATE TABLE app_callbacks (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  app_pk        INT UNSIGNED NOT NULL,
  payload       MEDIUMTEXT NOT NULL,
  url           VARCHAR(1024) NULL,                 -- NULL: the app's callback_url
  token         VARCHAR(64) NULL,                   -- NULL: the app's callback_token
  state         TINYINT NOT NULL DEFAULT 0,         -- 0 pending, 1 delivered, 2 given up
  attempts      INT NOT NULL DEFAULT 0,
  next_at       DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  last_error    VARCHAR(255) NOT NULL DEFAULT '',
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  delivered_at  DATETIME(3) NULL,
  KEY k_cb_due (state, next_at),
  KEY k_cb_app (app_pk, id),
  CONSTRAINT fk_cb_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- the built-in apps of the seed product (DOC a01_00001); an admin gives
-- each a key before it can be used
INSERT INTO apps (app_id, name, description, builtin, rights) VALUES
  ('sysOrgAssistant', 'Organisation assistant',
   'Org chart, groups, sessions and third-party login checks', 1, 1|2|4),
  ('sysMsgAssistant', 'System messages', 'System messages and pop-ups', 1, 1|8),
  ('sysExmailAssistant', 'Enterprise mail', 'New-mail notices', 1, 1|16),
  ('sysSmsAssistant', 'SMS gateway', 'Inbound SMS replies', 1, 1|32),
  ('sysMsgMonitor', 'Message audit', 'Receives copies of messages for audit', 1, 64);

-- how an account logs in (/cgi/user/setauth): 0 local password, 1 RTX,
-- 2 third party (the org app's callback decides).  password_md5 is what
-- setauth delivers (lower-case hex MD5 of the password); the first login
-- that matches it replaces it with an Argon2id hash.
ALTER TABLE users
  ADD COLUMN auth_type TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN password_md5 CHAR(32) NULL;
