-- Exact search counts without reading contacts (docs/search.md, "Counts"). PostgreSQL cannot answer count(*)
-- from the expression indexes on contacts.custom_attributes (no index-only scans on expressions), so a count
-- visited every matching ~0.5 kB contact row. This narrow table holds one row per live contact and custom
-- attribute whose JSON value is a string, number or boolean, in a typed column; its btree indexes answer a
-- filter's matching contact ids by index-only scans, and counts of compound queries combine those id sets.
--
-- It mirrors the JSON types, not the attribute definitions (a value counts only if its JSON type matches the
-- definition's, exactly as the search expressions decide), so redefining an attribute changes nothing here.
-- Archived contacts have no rows: every row belongs to a contact search can return.
CREATE TABLE contact_attribute_values (
  workspace_id text NOT NULL,
  contact_id text NOT NULL,
  key text NOT NULL,
  -- Byte order, as search compares and sorts strings; plain columns so the indexes allow index-only scans.
  text_value text COLLATE "C",
  num_value numeric,
  bool_value boolean,
  PRIMARY KEY (workspace_id, contact_id, key)
);
-- Counts here are index-only scans of tens of milliseconds; parallel workers cost more to start and to share two
-- cores with the page query than they save (165k-entry range count at 1M contacts, loaded machine: 115-180 ms
-- with two workers, 35-50 ms without).
ALTER TABLE contact_attribute_values SET (parallel_workers = 0);
CREATE INDEX contact_attribute_values_text ON contact_attribute_values (workspace_id, key, text_value, contact_id)
  WHERE text_value IS NOT NULL;
CREATE INDEX contact_attribute_values_num ON contact_attribute_values (workspace_id, key, num_value, contact_id)
  WHERE num_value IS NOT NULL;
CREATE INDEX contact_attribute_values_bool ON contact_attribute_values (workspace_id, key, bool_value, contact_id)
  WHERE bool_value IS NOT NULL;
-- Without the contact id, btree deduplication stores each distinct value once with a list of row pointers,
-- so a filter's count reads a fraction of the pages (Pro among 1M contacts: ~160 pages instead of ~1,800). Set
-- operations between filters need the ids, hence the indexes above as well.
CREATE INDEX contact_attribute_values_text_count ON contact_attribute_values (workspace_id, key, text_value)
  WHERE text_value IS NOT NULL;
CREATE INDEX contact_attribute_values_num_count ON contact_attribute_values (workspace_id, key, num_value)
  WHERE num_value IS NOT NULL;
CREATE INDEX contact_attribute_values_bool_count ON contact_attribute_values (workspace_id, key, bool_value)
  WHERE bool_value IS NOT NULL;

-- The number of live contacts per workspace (key '') and of live contacts having each attribute with each JSON
-- type, as deltas appended by the triggers below and summed when read. Negative filters are counted as
-- (live contacts) − (positive set) and `= null` as (live) − (having it); scanning a million index entries for
-- those alone would cost ~100 ms. Appending (never updating a shared counter row) keeps concurrent contact
-- writers from queueing on one row lock, and the sum is exact under MVCC: each delta commits or rolls back
-- with the contact change that made it. Triggers now and then fold a workspace's deltas into one row per key.
CREATE TABLE contact_search_counts (
  workspace_id text NOT NULL,
  key text NOT NULL,
  value_type text NOT NULL,
  delta bigint NOT NULL
);
CREATE INDEX contact_search_counts_key ON contact_search_counts (workspace_id, key, value_type) INCLUDE (delta);

CREATE FUNCTION contact_search_counts_compact(workspaces text[]) RETURNS void LANGUAGE sql AS $$
  -- Rows another transaction is folding are skipped, not waited for; rows not yet committed are not seen.
  WITH taken AS (
    DELETE FROM contact_search_counts WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM contact_search_counts WHERE workspace_id = ANY (workspaces) FOR UPDATE SKIP LOCKED))
    RETURNING workspace_id, key, value_type, delta)
  INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
  SELECT workspace_id, key, value_type, sum(delta) FROM taken GROUP BY 1, 2, 3 HAVING sum(delta) <> 0;
$$;

-- Kept exact by statement-level triggers on contacts, so every write path (the contacts module, app
-- uninstalls, bulk SQL) maintains it in the same statement and transaction. Transition tables make a bulk
-- statement one set-based write here instead of one per contact.
CREATE FUNCTION contact_attribute_values_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  INSERT INTO contact_attribute_values (workspace_id, contact_id, key, text_value, num_value, bool_value)
  SELECT n.workspace_id, n.id, e.key,
    CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END,
    CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
    CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END
  FROM new_rows n, jsonb_each(n.custom_attributes) e
  WHERE n.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean');
  INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
  SELECT workspace_id, key, value_type, sum(d) FROM (
    SELECT n.workspace_id, '' AS key, '' AS value_type, 1 AS d FROM new_rows n WHERE n.archived_at IS NULL
    UNION ALL
    SELECT n.workspace_id, e.key, jsonb_typeof(e.value), 1 FROM new_rows n, jsonb_each(n.custom_attributes) e
    WHERE n.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
  GROUP BY 1, 2, 3;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 AND random() < 1.0 / 16 THEN
    PERFORM contact_search_counts_compact(ARRAY(SELECT DISTINCT workspace_id FROM new_rows));
  END IF;
  RETURN NULL;
END
$$;

-- Only contacts whose attributes or archived state changed are touched, and only their changed keys.
CREATE FUNCTION contact_attribute_values_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  DELETE FROM contact_attribute_values v
  USING old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
  WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id
    AND (o.custom_attributes IS DISTINCT FROM n.custom_attributes
      OR (o.archived_at IS NULL) <> (n.archived_at IS NULL))
    AND (n.archived_at IS NOT NULL OR (n.custom_attributes -> v.key) IS DISTINCT FROM (o.custom_attributes -> v.key));
  INSERT INTO contact_attribute_values (workspace_id, contact_id, key, text_value, num_value, bool_value)
  SELECT n.workspace_id, n.id, e.key,
    CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END,
    CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
    CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END
  FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id,
    jsonb_each(n.custom_attributes) e
  WHERE n.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')
    AND (o.archived_at IS NOT NULL OR (o.custom_attributes -> e.key) IS DISTINCT FROM e.value);
  INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
  SELECT workspace_id, key, value_type, sum(d) FROM (
    SELECT n.workspace_id, '' AS key, '' AS value_type, CASE WHEN n.archived_at IS NULL THEN 1 ELSE -1 END AS d
    FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
    WHERE (o.archived_at IS NULL) <> (n.archived_at IS NULL)
    UNION ALL
    SELECT c.workspace_id, e.key, jsonb_typeof(e.value), c.sign
    FROM (
      SELECT n.workspace_id, n.custom_attributes AS attrs, 1 AS sign, n.archived_at
      FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
      WHERE o.custom_attributes IS DISTINCT FROM n.custom_attributes
        OR (o.archived_at IS NULL) <> (n.archived_at IS NULL)
      UNION ALL
      SELECT o.workspace_id, o.custom_attributes, -1, o.archived_at
      FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
      WHERE o.custom_attributes IS DISTINCT FROM n.custom_attributes
        OR (o.archived_at IS NULL) <> (n.archived_at IS NULL)) c,
      jsonb_each(c.attrs) e
    WHERE c.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
  GROUP BY 1, 2, 3 HAVING sum(d) <> 0;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 AND random() < 1.0 / 16 THEN
    PERFORM contact_search_counts_compact(ARRAY(SELECT DISTINCT workspace_id FROM new_rows));
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION contact_attribute_values_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  DELETE FROM contact_attribute_values v USING old_rows o
  WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id;
  INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
  SELECT workspace_id, key, value_type, sum(d) FROM (
    SELECT o.workspace_id, '' AS key, '' AS value_type, -1 AS d FROM old_rows o WHERE o.archived_at IS NULL
    UNION ALL
    SELECT o.workspace_id, e.key, jsonb_typeof(e.value), -1 FROM old_rows o, jsonb_each(o.custom_attributes) e
    WHERE o.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
  GROUP BY 1, 2, 3;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 AND random() < 1.0 / 16 THEN
    PERFORM contact_search_counts_compact(ARRAY(SELECT DISTINCT workspace_id FROM old_rows));
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER contact_attribute_values_insert AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_attribute_values_insert();
CREATE TRIGGER contact_attribute_values_update AFTER UPDATE ON contacts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION contact_attribute_values_update();
CREATE TRIGGER contact_attribute_values_delete AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_attribute_values_delete();
CREATE FUNCTION contact_attribute_values_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE contact_attribute_values, contact_search_counts;
  RETURN NULL;
END
$$;
CREATE TRIGGER contact_attribute_values_truncate AFTER TRUNCATE ON contacts
  FOR EACH STATEMENT EXECUTE FUNCTION contact_attribute_values_truncate();

-- Backfill: the insert trigger's rows for the contacts that exist now.
INSERT INTO contact_attribute_values (workspace_id, contact_id, key, text_value, num_value, bool_value)
SELECT c.workspace_id, c.id, e.key,
  CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END,
  CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
  CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END
FROM contacts c, jsonb_each(c.custom_attributes) e
WHERE c.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean');
INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
SELECT workspace_id, key, value_type, count(*) FROM (
  SELECT c.workspace_id, '' AS key, '' AS value_type FROM contacts c WHERE c.archived_at IS NULL
  UNION ALL
  SELECT c.workspace_id, e.key, jsonb_typeof(e.value) FROM contacts c, jsonb_each(c.custom_attributes) e
  WHERE c.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
GROUP BY 1, 2, 3;
