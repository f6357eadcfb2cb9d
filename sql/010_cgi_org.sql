-- Org chart extras for the open platform (/cgi/dept/*, /cgi/user/*,
-- PROTOCOL.md sections 4.4 and 4.5).

-- Resignation (/cgi/user/quit): the account is disabled and leaves the org
-- chart (its memberships move to user_quit_depts), but the row, its
-- messages and its history stay; /cgi/user/restore puts it back.
ALTER TABLE users ADD COLUMN quit_at DATETIME NULL;

CREATE TABLE user_quit_depts (
  user_id      BIGINT UNSIGNED NOT NULL,
  dept_id      INT UNSIGNED NOT NULL,
  position     VARCHAR(64) NOT NULL DEFAULT '',
  weight       INT NOT NULL DEFAULT 0,
  sort_id      INT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, dept_id),
  CONSTRAINT fk_uqd_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- extended attributes of a user ("attrs":[{"name","value"}]), in order
CREATE TABLE user_attrs (
  user_id      BIGINT UNSIGNED NOT NULL,
  seq          SMALLINT UNSIGNED NOT NULL,
  name         VARCHAR(64) NOT NULL,
  value        VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (user_id, seq),
  CONSTRAINT fk_uattr_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;
