-- Full sync jobs of the open platform (/cgi/org/replaceall, /cgi/org/xmlsync,
-- PROTOCOL.md section 4.6).  A job runs detached from the request that
-- started it; while it runs, the worker refreshes heartbeat_at, and a job
-- whose heartbeat is older than the lease (its worker died) is marked
-- failed by the next caller.  "running" is 1 while a job runs and NULL
-- afterwards: the unique key lets only one job run at a time.
CREATE TABLE org_jobs (
  id              CHAR(32) NOT NULL PRIMARY KEY,      -- the jobId (32 hex)
  app_pk          INT UNSIGNED NOT NULL,
  type            VARCHAR(16) NOT NULL,               -- org_replace_all, org_xml_sync
  state           TINYINT NOT NULL DEFAULT 1,         -- 1 running, 3 done, 4 failed
  running         TINYINT NULL DEFAULT 1,
  description     VARCHAR(2048) NOT NULL DEFAULT '',  -- progress, then the outcome
  depts_created   INT NOT NULL DEFAULT 0,
  depts_updated   INT NOT NULL DEFAULT 0,
  depts_deleted   INT NOT NULL DEFAULT 0,
  users_created   INT NOT NULL DEFAULT 0,
  users_updated   INT NOT NULL DEFAULT 0,
  users_deleted   INT NOT NULL DEFAULT 0,
  version         BIGINT UNSIGNED NULL,               -- org version written
  callback_url    VARCHAR(1024) NULL,                 -- NULL: the app's own
  callback_token  VARCHAR(64) NULL,
  owner_pid       INT NOT NULL DEFAULT 0,             -- worker process running it
  heartbeat_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  created_at      DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  finished_at     DATETIME(3) NULL,
  UNIQUE KEY uk_job_running (running),
  KEY k_job_app (app_pk, created_at),
  CONSTRAINT fk_job_app FOREIGN KEY (app_pk) REFERENCES apps (id) ON DELETE CASCADE
) ENGINE=InnoDB;
