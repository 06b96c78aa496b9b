-- schema 12: made by commit 04d25cc (Across registries: each trial's ids in other registries (NCT, EU CT, ISRCTN by t) with two offline cycles over the seeds of trialmon 0.1; tests/data/schemas/make_schemas.py
BEGIN TRANSACTION;
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
INSERT INTO "_sqlite_migrations" VALUES(1,'trialmon','0001_initial','2026-11-30 17:48:00.402227+00:00');
INSERT INTO "_sqlite_migrations" VALUES(2,'trialmon','0003_views','2026-11-30 17:48:00.402416+00:00');
INSERT INTO "_sqlite_migrations" VALUES(3,'trialmon','0004_backfill','2026-11-30 17:48:00.402634+00:00');
INSERT INTO "_sqlite_migrations" VALUES(4,'trialmon','0005_source_keys','2026-11-30 17:48:00.402812+00:00');
INSERT INTO "_sqlite_migrations" VALUES(5,'trialmon','0006_registry_state','2026-11-30 17:48:00.402979+00:00');
INSERT INTO "_sqlite_migrations" VALUES(6,'trialmon','0007_trial_ids','2026-11-30 17:48:00.406139+00:00');
INSERT INTO "_sqlite_migrations" VALUES(7,'trialmon','0008_canonical_v2','2026-11-30 17:48:00.406322+00:00');
INSERT INTO "_sqlite_migrations" VALUES(8,'trialmon','0009_across_registries','2026-11-30 17:48:00.406706+00:00');
INSERT INTO "_sqlite_migrations" VALUES(9,'trialmon.ctgov','0001_keyed_state','2026-11-30 17:48:00.407016+00:00');
CREATE TABLE "backfill_versions" (
   "trial_id" TEXT NOT NULL,
   "version" INTEGER NOT NULL,
   "captured_at" TEXT NOT NULL,
   "snapshot_id" INTEGER NOT NULL,
   "stored" INTEGER NOT NULL,
   "run_id" INTEGER,
   "done_at" TEXT NOT NULL,
   PRIMARY KEY ("trial_id", "version")
);
CREATE TABLE "changes" (
   "id" INTEGER PRIMARY KEY,
   "trial_id" TEXT NOT NULL,
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
, registry text);
INSERT INTO "changes" VALUES(1,'NCT06009107',1,2,'2026-11-30T17:48:00Z','status','status.overall_status','critical','"NOT_YET_RECRUITING"','"WITHDRAWN"','Overall status: NOT_YET_RECRUITING → WITHDRAWN',2,'ctgov');
INSERT INTO "changes" VALUES(2,'NCT06009107',1,2,'2026-11-30T17:48:00Z','dates','dates.start','major','{"date":"2024-12-31"}','{"date":"2025-06-30"}','Start date: 2024-12-31 → 2025-06-30 (+181 days)',2,'ctgov');
INSERT INTO "changes" VALUES(3,'NCT06009107',1,2,'2026-11-30T17:48:00Z','dates','dates.completion','major','{"date":"2026-12-31"}','{"date":"2027-12-30"}','Completion date: 2026-12-31 → 2027-12-30 (+364 days)',2,'ctgov');
INSERT INTO "changes" VALUES(4,'NCT06009107',1,2,'2026-11-30T17:48:00Z','administrative','admin.last_update_posted','info','{"date":"2023-08-23"}','{"date":"2025-08-08"}','Last update posted: 2023-08-23 → 2025-08-08',2,'ctgov');
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
INSERT INTO "deliveries" VALUES(1,2,'log','sent',1,NULL,'2026-11-30T17:48:00Z','2026-11-30T17:48:00Z','{"run_id":2,"created_at":"2026-11-30T17:48:00Z","studies":[{"trial_id":"NCT06009107","title":"A Study of HY004 Treatment in Adult Relapsed/Refractory B-precursor Acute Lymphoblastic Leukemia (r/r B-ALL)","changes":[{"category":"status","field":"status.overall_status","severity":"critical","summary":"Overall status: NOT_YET_RECRUITING → WITHDRAWN","old_value":"NOT_YET_RECRUITING","new_value":"WITHDRAWN","detected_at":"2026-11-30T17:48:00Z"},{"category":"dates","field":"dates.start","severity":"major","summary":"Start date: 2024-12-31 → 2025-06-30 (+181 days)","old_value":{"date":"2024-12-31"},"new_value":{"date":"2025-06-30"},"detected_at":"2026-11-30T17:48:00Z"},{"category":"dates","field":"dates.completion","severity":"major","summary":"Completion date: 2026-12-31 → 2027-12-30 (+364 days)","old_value":{"date":"2026-12-31"},"new_value":{"date":"2027-12-30"},"detected_at":"2026-11-30T17:48:00Z"}],"queries":[],"registry":"ctgov","also":[]}],"notices":[],"route":[],"test":false}');
CREATE TABLE "disagreements" (
   "id" INTEGER PRIMARY KEY,
   "trial_id" TEXT NOT NULL,
   "other_id" TEXT NOT NULL,
   "kind" TEXT NOT NULL,
   "opened_at" TEXT NOT NULL,
   "opened_values" TEXT,
   "resolved_at" TEXT,
   "resolved_values" TEXT
);
CREATE TABLE "meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);
CREATE TABLE "registry_state" (
   "registry" TEXT,
   "scope" TEXT,
   "key" TEXT,
   "value" TEXT NOT NULL,
   PRIMARY KEY ("registry", "scope", "key")
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
INSERT INTO "runs" VALUES(1,'2026-11-30T17:48:00Z','2026-11-30T17:48:00Z','ok','files',1,1,0,0,0,0,'[]');
INSERT INTO "runs" VALUES(2,'2026-11-30T17:48:00Z','2026-11-30T17:48:00Z','ok','files',1,0,1,0,4,0,'[]');
CREATE TABLE "snapshots" (
   "id" INTEGER PRIMARY KEY,
   "trial_id" TEXT NOT NULL,
   "captured_at" TEXT NOT NULL,
   "source" TEXT NOT NULL,
   "content_hash" TEXT NOT NULL,
   "last_update_posted" TEXT,
   "record" TEXT NOT NULL,
   "run_id" INTEGER,
   "version" INTEGER
, registry text);
INSERT INTO "snapshots" VALUES(1,'NCT06009107','2026-11-30T17:48:00Z','files','v2:e9c91f7428d44c2618b361ca546069ce5b1f9f58fd8066ebe0b277c93d086cb0','2023-08-23','{"admin":{"last_update_posted":{"date":"2023-08-23"}},"arms":[{"description":"Participants with relapsed or refractory B-precursor acute lymphoblastic leukemia (r/r B-ALL) will receive conditioning chemotherapy (fludarabine 25-30 mg/m^2 intravenously [IV] over 30 minutes on Day -5, Day -4, and Day -3 and cyclophosphamide 500 mg/m^2 IV over 60 minutes on Day -5, Day -4), following a single IV infusion of chimeric antigen receptor (CAR) transduced autologous T cells(HY004).","interventions":["Biological: HY004","Drug: Cyclophosphamide","Drug: Fludarabine Phosphate"],"label":"Participant Group","type":"EXPERIMENTAL"}],"conditions":{"conditions":["B-cell Acute Lymphoblastic Leukemia"]},"contacts":{"officials":[{"affiliation":"Institute of Hematology & Blood Diseases Hospital","name":"Jianxiang Wang M.D.","role":"PRINCIPAL_INVESTIGATOR"}]},"dates":{"completion":{"date":"2026-12-31"},"start":{"date":"2024-12-31"}},"description":{"brief_summary":"This is a multi-center, phase I/II trial to evaluate the safety and efficacy of HY004 treatment in Adult patients with relapsed or refractory B-cell acute lymphoblastic leukemia (r/r B-cell ALL).","detailed":"This trial is a multi-center, open label, single-arm, phase I/II trial to evaluate the safety and efficacy of HY004 treatment in Adult (aged 18~65 years old) patients with r/r B-cell ALL. The phase I part of the trial is to evaluate the safety, optimal dose of HY004, Pharmacokinetics/Pharmacodynamics(PK/PD)and preliminary efficacy in the treatment of Adult patients with r/r B-cell ALL. The phase II part of the trial is to evaluate the efficacy and safety of HY004 in in the treatment of Adult patients with r/r B-cell ALL. The study includes screening, pre-treatment (Cell Product manufacture & lymphodepletion), HY004 infusion, safety and efficacy follow-up, and survival follow-up. All subjects who have received HY004 infusion will be followed for up to 2 years."},"design":{"allocation":"NA","intervention_model":"SINGLE_GROUP","masking":"NONE","phases":["PHASE1","PHASE2"],"primary_purpose":"TREATMENT","study_type":"INTERVENTIONAL"},"eligibility":{"criteria":"Inclusion Criteria: 1. Signed written informed consent prior to any study procedures (patient and/or parent or legal guardian); 2. Gender is not limited, and the age at the time of screening is ≥ 18 years old and ≤ 65 years old; 3. Relapsed or refractory acute lymphoblastic leukemia (ALL); 4. Documentation of CD19 and/orCD22 tumor expression demonstrated in bone marrow or peripheral blood within 3 months before screening; 5. Bone marrow with ≥ 5% lymphoblasts by morphologic assessment at screening; 6. ECOG score 0-1 points; 7. Organ function requirements: All patients must have adequate renal and liver functions. Exclusion Criteria: 1. Active Central Nervous System (CNS) involvement by malignancy; 2. Isolated extra-medullary disease relapse; 3. Patients with Burkitt''s lymphoma/leukemia; 4. History of concomitant genetic syndrome; 5. Patients with acute graft-versus-host disease (GVHD) or moderate-tosevere chronic GVHD within 4 weeks before screening; Patients with a history of allogeneic hematopoietic stem cell transplantation within 12 weeks before single collection; 6. Active systemic autoimmune disease; 7. Known infection with human immunodeficiency virus (HIV) or chronic infection with hepatitis B virus (HbsAg positive) or hepatitis C virus (anti- HCV positive); 8. Patients with active infections at screening; 9. Patients who have used CAR-T cell therapy before screening; 10. Patients with an expected lifespan of less than 3 months.","healthy_volunteers":false,"maximum_age":"65 Years","minimum_age":"18 Years","sex":"ALL"},"identification":{"brief_title":"A Study of HY004 Treatment in Adult Relapsed/Refractory B-precursor Acute Lymphoblastic Leukemia (r/r B-ALL)","org_study_id":{"id":"HY004101"},"registry":"ctgov","trial_id":"NCT06009107"},"interventions":[{"arms":["Participant Group"],"description":"A single infusion of Autologous 2nd generation CD19/CD22-directed CAR-T cells administered intravenously.","name":"HY004","type":"BIOLOGICAL"},{"arms":["Participant Group"],"description":"Administered intravenously.","name":"Cyclophosphamide","type":"DRUG"},{"arms":["Participant Group"],"description":"Administered intravenously.","name":"Fludarabine Phosphate","type":"DRUG"}],"results":{"has_results":false},"sponsor":{"lead":{"class":"INDUSTRY","name":"Juventas Cell Therapy Ltd."},"responsible_party":{"type":"SPONSOR"}},"status":{"overall_status":"NOT_YET_RECRUITING"}}',1,NULL,'ctgov');
INSERT INTO "snapshots" VALUES(2,'NCT06009107','2026-11-30T17:48:00Z','files','v2:b98d969102a3709d007ef8254a2f21739fad27dee0502b77486512e317f854e2','2025-08-08','{"admin":{"last_update_posted":{"date":"2025-08-08"}},"arms":[{"description":"Participants with relapsed or refractory B-precursor acute lymphoblastic leukemia (r/r B-ALL) will receive conditioning chemotherapy (fludarabine 25-30 mg/m^2 intravenously [IV] over 30 minutes on Day -5, Day -4, and Day -3 and cyclophosphamide 500 mg/m^2 IV over 60 minutes on Day -5, Day -4), following a single IV infusion of chimeric antigen receptor (CAR) transduced autologous T cells(HY004).","interventions":["Biological: HY004","Drug: Cyclophosphamide","Drug: Fludarabine Phosphate"],"label":"Participant Group","type":"EXPERIMENTAL"}],"conditions":{"conditions":["B-cell Acute Lymphoblastic Leukemia"]},"contacts":{"officials":[{"affiliation":"Institute of Hematology & Blood Diseases Hospital","name":"Jianxiang Wang M.D.","role":"PRINCIPAL_INVESTIGATOR"}]},"dates":{"completion":{"date":"2027-12-30"},"start":{"date":"2025-06-30"}},"description":{"brief_summary":"This is a multi-center, phase I/II trial to evaluate the safety and efficacy of HY004 treatment in Adult patients with relapsed or refractory B-cell acute lymphoblastic leukemia (r/r B-cell ALL).","detailed":"This trial is a multi-center, open label, single-arm, phase I/II trial to evaluate the safety and efficacy of HY004 treatment in Adult (aged 18~65 years old) patients with r/r B-cell ALL. The phase I part of the trial is to evaluate the safety, optimal dose of HY004, Pharmacokinetics/Pharmacodynamics(PK/PD)and preliminary efficacy in the treatment of Adult patients with r/r B-cell ALL. The phase II part of the trial is to evaluate the efficacy and safety of HY004 in in the treatment of Adult patients with r/r B-cell ALL. The study includes screening, pre-treatment (Cell Product manufacture & lymphodepletion), HY004 infusion, safety and efficacy follow-up, and survival follow-up. All subjects who have received HY004 infusion will be followed for up to 2 years."},"design":{"allocation":"NA","intervention_model":"SINGLE_GROUP","masking":"NONE","phases":["PHASE1","PHASE2"],"primary_purpose":"TREATMENT","study_type":"INTERVENTIONAL"},"eligibility":{"criteria":"Inclusion Criteria: 1. Signed written informed consent prior to any study procedures (patient and/or parent or legal guardian); 2. Gender is not limited, and the age at the time of screening is ≥ 18 years old and ≤ 65 years old; 3. Relapsed or refractory acute lymphoblastic leukemia (ALL); 4. Documentation of CD19 and/orCD22 tumor expression demonstrated in bone marrow or peripheral blood within 3 months before screening; 5. Bone marrow with ≥ 5% lymphoblasts by morphologic assessment at screening; 6. ECOG score 0-1 points; 7. Organ function requirements: All patients must have adequate renal and liver functions. Exclusion Criteria: 1. Active Central Nervous System (CNS) involvement by malignancy; 2. Isolated extra-medullary disease relapse; 3. Patients with Burkitt''s lymphoma/leukemia; 4. History of concomitant genetic syndrome; 5. Patients with acute graft-versus-host disease (GVHD) or moderate-tosevere chronic GVHD within 4 weeks before screening; Patients with a history of allogeneic hematopoietic stem cell transplantation within 12 weeks before single collection; 6. Active systemic autoimmune disease; 7. Known infection with human immunodeficiency virus (HIV) or chronic infection with hepatitis B virus (HbsAg positive) or hepatitis C virus (anti- HCV positive); 8. Patients with active infections at screening; 9. Patients who have used CAR-T cell therapy before screening; 10. Patients with an expected lifespan of less than 3 months.","healthy_volunteers":false,"maximum_age":"65 Years","minimum_age":"18 Years","sex":"ALL"},"identification":{"brief_title":"A Study of HY004 Treatment in Adult Relapsed/Refractory B-precursor Acute Lymphoblastic Leukemia (r/r B-ALL)","org_study_id":{"id":"HY004101"},"registry":"ctgov","trial_id":"NCT06009107"},"interventions":[{"arms":["Participant Group"],"description":"A single infusion of Autologous 2nd generation CD19/CD22-directed CAR-T cells administered intravenously.","name":"HY004","type":"BIOLOGICAL"},{"arms":["Participant Group"],"description":"Administered intravenously.","name":"Cyclophosphamide","type":"DRUG"},{"arms":["Participant Group"],"description":"Administered intravenously.","name":"Fludarabine Phosphate","type":"DRUG"}],"results":{"has_results":false},"sponsor":{"lead":{"class":"INDUSTRY","name":"Juventas Cell Therapy Ltd."},"responsible_party":{"type":"SPONSOR"}},"status":{"overall_status":"WITHDRAWN"}}',2,NULL,'ctgov');
CREATE TABLE "source_keys" (
   "trial_id" TEXT PRIMARY KEY,
   "snapshot_id" INTEGER NOT NULL,
   "source_key" TEXT NOT NULL
);
INSERT INTO "source_keys" VALUES('NCT06009107',2,'v2:04c044f9b6c772c9e60f2a6f6b7ae093733ac6c9708635c310c77ab4d9b6c8b8');
CREATE TABLE "studies" (
   "trial_id" TEXT PRIMARY KEY,
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
, registry text);
INSERT INTO "studies" VALUES('NCT06009107','A Study of HY004 Treatment in Adult Relapsed/Refractory B-precursor Acute Lymphoblastic Leukemia (r/r B-ALL)','WITHDRAWN','2026-11-30T17:48:00Z','2026-11-30T17:48:00Z','2026-11-30T17:48:00Z',2,'2025-08-08','v2:b98d969102a3709d007ef8254a2f21739fad27dee0502b77486512e317f854e2',0,NULL,'ctgov');
CREATE TABLE "trial_links" (
   "trial_id" TEXT,
   "registry" TEXT,
   "linked_id" TEXT,
   "kind" TEXT NOT NULL,
   PRIMARY KEY ("trial_id", "linked_id")
);
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE INDEX "idx_snapshots_nct_id_captured_at"
    ON "snapshots" ("trial_id", "captured_at");
CREATE INDEX "idx_changes_nct_id"
    ON "changes" ("trial_id");
CREATE INDEX "idx_changes_detected_at"
    ON "changes" ("detected_at");
CREATE INDEX "idx_changes_run_id"
    ON "changes" ("run_id");
CREATE INDEX "idx_deliveries_status"
    ON "deliveries" ("status");
CREATE UNIQUE INDEX idx_snapshots_history_version on snapshots (trial_id, version) where source = 'history';
CREATE VIEW status_history AS SELECT
  c.id AS change_id,
  c.trial_id,
  c.registry,
  t.title,
  json_extract(c.old_value, '$') AS from_status,
  json_extract(c.new_value, '$') AS to_status,
  coalesce(s.last_update_posted, substr(s.captured_at, 1, 10)) AS version_date,
  c.detected_at,
  c.severity,
  json_extract(s.record, '$.status.why_stopped') AS why_stopped,
  c.from_snapshot_id,
  c.to_snapshot_id,
  c.summary
FROM changes c
LEFT JOIN snapshots s ON s.id = c.to_snapshot_id
LEFT JOIN studies t ON t.trial_id = c.trial_id
WHERE c.category = 'status' AND c.field = 'status.overall_status'
ORDER BY c.trial_id, version_date, c.id;
CREATE VIEW date_shifts AS WITH raw AS (
  SELECT
    c.id AS change_id,
    c.trial_id,
    c.registry,
    CASE c.field WHEN 'dates.start' THEN 'start' WHEN 'dates.primary_completion' THEN 'primary_completion' WHEN 'dates.completion' THEN 'completion'
    END AS date_field,
    c.field,
    CASE WHEN (CASE json_type(c.old_value) WHEN 'object' THEN json_extract(c.old_value, '$.date') WHEN 'text' THEN json_extract(c.old_value, '$') END) GLOB '[0-9][0-9][0-9][0-9]*' THEN (CASE json_type(c.old_value) WHEN 'object' THEN json_extract(c.old_value, '$.date') WHEN 'text' THEN json_extract(c.old_value, '$') END) END AS old_date,
    CASE WHEN (CASE json_type(c.new_value) WHEN 'object' THEN json_extract(c.new_value, '$.date') WHEN 'text' THEN json_extract(c.new_value, '$') END) GLOB '[0-9][0-9][0-9][0-9]*' THEN (CASE json_type(c.new_value) WHEN 'object' THEN json_extract(c.new_value, '$.date') WHEN 'text' THEN json_extract(c.new_value, '$') END) END AS new_date,
    CASE json_type(c.old_value) WHEN 'object' THEN json_extract(c.old_value, '$.type') WHEN 'text' THEN CASE WHEN json_extract(c.old_value, '$') GLOB '[0-9][0-9][0-9][0-9]*' THEN NULL ELSE json_extract(c.old_value, '$') END END AS old_type,
    CASE json_type(c.new_value) WHEN 'object' THEN json_extract(c.new_value, '$.type') WHEN 'text' THEN CASE WHEN json_extract(c.new_value, '$') GLOB '[0-9][0-9][0-9][0-9]*' THEN NULL ELSE json_extract(c.new_value, '$') END END AS new_type,
    c.detected_at,
    c.severity,
    c.summary,
    c.from_snapshot_id,
    c.to_snapshot_id
  FROM changes c
  WHERE c.category = 'dates'
),
cut AS (
  SELECT raw.*, min(length(old_date), length(new_date)) AS common FROM raw
  WHERE date_field IS NOT NULL
)
SELECT
  cut.change_id,
  cut.trial_id,
  cut.registry,
  t.title,
  json_extract(s.record, '$.sponsor.lead.name') AS lead_sponsor,
  cut.date_field,
  cut.old_date,
  cut.new_date,
  cut.old_type,
  cut.new_type,
  CASE length(cut.old_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END AS old_precision,
  CASE length(cut.new_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END AS new_precision,
  CAST(round(
    julianday(substr(cut.new_date, 1, cut.common) || CASE cut.common WHEN 4 THEN '-01-01' WHEN 7 THEN '-01' ELSE '' END)
    - julianday(substr(cut.old_date, 1, cut.common) || CASE cut.common WHEN 4 THEN '-01-01' WHEN 7 THEN '-01' ELSE '' END)
  ) AS INTEGER) AS shift_days,
  CASE
    WHEN cut.old_date IS NULL OR cut.new_date IS NULL THEN
      CASE WHEN cut.old_date IS cut.new_date THEN 'type' ELSE 'set' END
    WHEN substr(cut.old_date, 1, cut.common) || CASE cut.common WHEN 4 THEN '-01-01' WHEN 7 THEN '-01' ELSE '' END
      = substr(cut.new_date, 1, cut.common) || CASE cut.common WHEN 4 THEN '-01-01' WHEN 7 THEN '-01' ELSE '' END THEN
      CASE WHEN cut.old_date = cut.new_date THEN 'type' ELSE 'precision' END
    ELSE 'shift'
  END AS kind,
  coalesce(s.last_update_posted, substr(s.captured_at, 1, 10)) AS version_date,
  cut.detected_at,
  cut.severity,
  cut.field,
  cut.from_snapshot_id,
  cut.to_snapshot_id,
  cut.summary
FROM cut
LEFT JOIN snapshots s ON s.id = cut.to_snapshot_id
LEFT JOIN studies t ON t.trial_id = cut.trial_id
ORDER BY cut.trial_id, version_date, cut.change_id;
CREATE VIEW latest_changes AS SELECT
  c.id AS change_id,
  c.trial_id,
  c.registry,
  t.title,
  t.overall_status,
  c.detected_at,
  c.category,
  c.field,
  c.severity,
  CASE c.severity WHEN 'info' THEN 0 WHEN 'minor' THEN 1 WHEN 'major' THEN 2 WHEN 'critical' THEN 3 ELSE 0 END AS severity_rank,
  c.summary,
  c.old_value,
  c.new_value,
  c.from_snapshot_id,
  c.to_snapshot_id
FROM changes c
JOIN (SELECT trial_id, max(detected_at) AS latest FROM changes GROUP BY trial_id) m
  ON m.trial_id = c.trial_id AND m.latest = c.detected_at
LEFT JOIN studies t ON t.trial_id = c.trial_id
ORDER BY c.detected_at DESC, severity_rank DESC, c.id;
CREATE INDEX "idx_trial_links_linked_id"
    ON "trial_links" ("linked_id");
CREATE UNIQUE INDEX idx_disagreements_open on disagreements (trial_id, other_id, kind) where resolved_at is null;
COMMIT;
