CREATE TABLE daily_signups (
  day     DATE    PRIMARY KEY,
  signups INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE daily_sales (
  day           DATE    PRIMARY KEY,
  tickets       INTEGER NOT NULL DEFAULT 0,
  revenue_cents BIGINT  NOT NULL DEFAULT 0,
  confirmed     INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  declined      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE concert_sales (
  concert_id    UUID    PRIMARY KEY,
  concert_name  TEXT    NOT NULL,
  tickets       INTEGER NOT NULL DEFAULT 0,
  revenue_cents BIGINT  NOT NULL DEFAULT 0,
  confirmed     INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0
);
