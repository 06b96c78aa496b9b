-- schema 1: made by commit 09b9a82 (Store, pipeline, outbox with log channel, and the CLI composition root (run/hist) with its schema only: its command line could not run; tests/data/schemas/make_schemas.py
BEGIN TRANSACTION;
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
INSERT INTO "_sqlite_migrations" VALUES(1,'trialmon','0001_initial','2026-11-30 17:47:52.023100+00:00');
CREATE TABLE "changes" (
   "id" INTEGER PRIMARY KEY,
   "nct_id" TEXT NOT NULL,
   "from_snapshot_id" INTEGER,
   "to_snapshot_id" INTEGER,
   "detected_at" TEXT NOT NULL,
   "category" TEXT NOT NULL,
   "field" TEXT NOT NULL,
   "severity" TEXT NOT NULL,
   "old_value" TEXT,
   "new_value" TEXT,
   "summary" TEXT NOT NULL,
   "run_id" INTEGER
);
CREATE TABLE "deliveries" (
   "id" INTEGER PRIMARY KEY,
   "run_id" INTEGER,
   "channel" TEXT NOT NULL,
   "status" TEXT NOT NULL,
   "attempts" INTEGER DEFAULT 0,
   "last_error" TEXT,
   "created_at" TEXT NOT NULL,
   "sent_at" TEXT,
   "payload" TEXT
);
CREATE TABLE "meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);
CREATE TABLE "runs" (
   "id" INTEGER PRIMARY KEY,
   "started_at" TEXT NOT NULL,
   "finished_at" TEXT,
   "status" TEXT NOT NULL,
   "source" TEXT,
   "studies_checked" INTEGER,
   "studies_new" INTEGER,
   "studies_changed" INTEGER,
   "studies_unchanged" INTEGER,
   "changes_found" INTEGER,
   "errors" INTEGER,
   "error_details" TEXT
);
CREATE TABLE "snapshots" (
   "id" INTEGER PRIMARY KEY,
   "nct_id" TEXT NOT NULL,
   "captured_at" TEXT NOT NULL,
   "source" TEXT NOT NULL,
   "content_hash" TEXT NOT NULL,
   "last_update_posted" TEXT,
   "record" TEXT NOT NULL,
   "run_id" INTEGER,
   "version" INTEGER
);
CREATE TABLE "studies" (
   "nct_id" TEXT PRIMARY KEY,
   "title" TEXT,
   "overall_status" TEXT,
   "first_seen" TEXT NOT NULL,
   "last_checked" TEXT,
   "last_changed" TEXT,
   "latest_snapshot_id" INTEGER,
   "last_update_posted" TEXT,
   "content_hash" TEXT,
   "consecutive_failures" INTEGER DEFAULT 0,
   "last_error" TEXT
);
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE INDEX "idx_snapshots_nct_id_captured_at"
    ON "snapshots" ("nct_id", "captured_at");
CREATE INDEX "idx_changes_nct_id"
    ON "changes" ("nct_id");
CREATE INDEX "idx_changes_detected_at"
    ON "changes" ("detected_at");
CREATE INDEX "idx_changes_run_id"
    ON "changes" ("run_id");
CREATE INDEX "idx_deliveries_status"
    ON "deliveries" ("status");
COMMIT;
