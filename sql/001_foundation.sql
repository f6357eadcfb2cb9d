-- youdu foundation schema: org chart, accounts, sessions, logs.
-- Applied once by build.sh (recorded in schema_migrations). Times are UTC.

CREATE TABLE org_state (
  id           TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  -- bumped by every org write inside its transaction; the row lock also
  -- serialises org writes so versions commit in order
  version      BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

INSERT INTO org_state (id, version) VALUES (1, 1);

CREATE TABLE departments (
  id           INT UNSIGNED NOT NULL PRIMARY KEY,        -- 0 is the root
  parent_id    INT UNSIGNED NULL,                        -- NULL only for the root
  name         VARCHAR(64) NOT NULL,
  sort_id      INT NOT NULL DEFAULT 0,
  alias        VARCHAR(64) NULL,
  path         VARCHAR(2048) NOT NULL,                   -- '/0/3/17/': ancestors and self
  depth        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  version      BIGINT UNSIGNED NOT NULL DEFAULT 1,
  created_at   DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  updated_at   DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY uk_dept_alias (alias),
  KEY k_dept_parent (parent_id, sort_id),
  KEY k_dept_path (path(191)),
  CONSTRAINT fk_dept_parent FOREIGN KEY (parent_id) REFERENCES departments (id)
) ENGINE=InnoDB;

INSERT INTO departments (id, parent_id, name, sort_id, path, depth)
VALUES (0, NULL, 'Company', 0, '/0/', 0);

CREATE TABLE users (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,   -- gid
  account               VARCHAR(64) NOT NULL,
  name                  VARCHAR(64) NOT NULL,
  name_pinyin           VARCHAR(255) NOT NULL DEFAULT '',
  name_initials         VARCHAR(64) NOT NULL DEFAULT '',
  gender                TINYINT NOT NULL DEFAULT 0,        -- 0 male, 1 female (Youdu)
  mobile                VARCHAR(32) NULL,
  phone                 VARCHAR(32) NOT NULL DEFAULT '',
  email                 VARCHAR(128) NOT NULL DEFAULT '',
  title                 VARCHAR(64) NOT NULL DEFAULT '',
  short_code            VARCHAR(32) NOT NULL DEFAULT '',
  enable_state          TINYINT NOT NULL DEFAULT 1,        -- -1 disabled, 0 not activated, 1 enabled
  role                  TINYINT NOT NULL DEFAULT 0,        -- 0 employee, 1 admin, 2 super admin
  confidential          TINYINT UNSIGNED NOT NULL DEFAULT 0, -- bits: 1 mobile, 2 phone, 4 email, 8 title
  password_hash         VARCHAR(200) NULL,
  must_change_password  TINYINT NOT NULL DEFAULT 0,
  failed_logins         INT NOT NULL DEFAULT 0,
  locked_until          DATETIME NULL,
  password_changed_at   DATETIME NULL,
  version               BIGINT UNSIGNED NOT NULL DEFAULT 1,
  created_at            DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  updated_at            DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY uk_user_account (account),
  UNIQUE KEY uk_user_mobile (mobile),
  KEY k_user_name (name),
  KEY k_user_pinyin (name_pinyin),
  KEY k_user_initials (name_initials)
) ENGINE=InnoDB;

CREATE TABLE user_depts (
  user_id      BIGINT UNSIGNED NOT NULL,
  dept_id      INT UNSIGNED NOT NULL,
  position     VARCHAR(64) NOT NULL DEFAULT '',
  weight       INT NOT NULL DEFAULT 0,
  sort_id      INT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, dept_id),
  KEY k_ud_dept (dept_id, sort_id),
  CONSTRAINT fk_ud_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT fk_ud_dept FOREIGN KEY (dept_id) REFERENCES departments (id)
) ENGINE=InnoDB;

-- one row per entity touched by an org write; clients ask "changes since V"
CREATE TABLE org_changes (
  version      BIGINT UNSIGNED NOT NULL,
  kind         TINYINT NOT NULL,                  -- 1 department, 2 user
  target_id    BIGINT UNSIGNED NOT NULL,
  op           TINYINT NOT NULL,                  -- 1 upsert, 2 delete
  at           DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  PRIMARY KEY (version, kind, target_id),
  KEY k_changes_target (kind, target_id)
) ENGINE=InnoDB;

CREATE TABLE sessions (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id            BIGINT UNSIGNED NOT NULL,
  device_type        VARCHAR(16) NOT NULL,
  device_name        VARCHAR(128) NOT NULL DEFAULT '',
  ip                 VARCHAR(64) NOT NULL DEFAULT '',
  user_agent         VARCHAR(255) NOT NULL DEFAULT '',
  refresh_hash       CHAR(64) NOT NULL,
  prev_refresh_hash  CHAR(64) NULL,
  refresh_expires    DATETIME NOT NULL,
  created_at         DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  last_seen          DATETIME NOT NULL DEFAULT UTC_TIMESTAMP(),
  revoked_at         DATETIME NULL,
  revoke_reason      VARCHAR(32) NULL,
  UNIQUE KEY uk_sess_refresh (refresh_hash),
  KEY k_sess_prev (prev_refresh_hash),
  KEY k_sess_user (user_id, revoked_at),
  CONSTRAINT fk_sess_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE login_log (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id      BIGINT UNSIGNED NULL,
  account      VARCHAR(64) NOT NULL,
  at           DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  ip           VARCHAR(64) NOT NULL DEFAULT '',
  device_type  VARCHAR(16) NOT NULL DEFAULT '',
  result       VARCHAR(32) NOT NULL,              -- ok, bad_password, unknown_account, locked, disabled, rate_limited
  KEY k_login_user (user_id, at),
  KEY k_login_at (at)
) ENGINE=InnoDB;

CREATE TABLE audit_log (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  actor_id     BIGINT UNSIGNED NULL,
  action       VARCHAR(64) NOT NULL,
  target       VARCHAR(191) NOT NULL DEFAULT '',
  detail       TEXT NULL,
  ip           VARCHAR(64) NOT NULL DEFAULT '',
  at           DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY k_audit_at (at),
  KEY k_audit_actor (actor_id, at)
) ENGINE=InnoDB;

-- ISO 8601 UTC text for API replies (keeps format strings out of C code)
CREATE FUNCTION yd_iso(t DATETIME) RETURNS VARCHAR(24) DETERMINISTIC
  RETURN DATE_FORMAT(t, '%Y-%m-%dT%H:%i:%sZ');

CREATE FUNCTION yd_iso_ms(t DATETIME(3)) RETURNS VARCHAR(28) DETERMINISTIC
  RETURN DATE_FORMAT(t, '%Y-%m-%dT%H:%i:%s.%fZ');
