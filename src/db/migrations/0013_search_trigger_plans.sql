-- The update and delete triggers of 0006 again: a statement touching more than 64 contacts has its trigger
-- statements planned for its own size (EXECUTE) instead of reusing the connection's cached plan.
--
-- PL/pgSQL plans a statement without parameters once per connection and keeps the plan, and a transition table's
-- row estimate is its size at that first run. Nearly every connection's first contact update touches one row, so
-- every later update joined old_rows to new_rows by a nested loop, whatever its size: quadratic. A 5,000-contact
-- update took 18.2 s instead of 0.5 s (one trigger statement compared 25 million row pairs), its contacts
-- row-locked meanwhile. An attribute deletion's batches of 2,000, an app uninstall's and bulk SQL all hit it
-- (docs/benchmarks.md, "Deleting an attribute under live writes"). A delete cached the other way round (first
-- run large: a hash join over a sequential scan of contact_attribute_values) would make every later one-contact
-- delete read the whole table.
--
-- Planning at every run instead cost ~0.8 ms more per one-contact update (3,000 updates: 3.0-3.3 s against
-- 0.74-0.85 s), so statements of up to 64 contacts keep the cached plans, whose worst case is small there (with
-- this split: 0.54-0.81 s). Hence each statement twice: PL/pgSQL caches only literal statements, EXECUTE takes text.
CREATE OR REPLACE FUNCTION contact_attribute_values_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  IF (SELECT count(*) FROM new_rows) <= 64 THEN
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
  ELSE
    EXECUTE $q$DELETE FROM contact_attribute_values v
    USING old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
    WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id
      AND (o.custom_attributes IS DISTINCT FROM n.custom_attributes
        OR (o.archived_at IS NULL) <> (n.archived_at IS NULL))
      AND (n.archived_at IS NOT NULL OR (n.custom_attributes -> v.key) IS DISTINCT FROM (o.custom_attributes -> v.key))$q$;
    EXECUTE $q$INSERT INTO contact_attribute_values (workspace_id, contact_id, key, text_value, num_value, bool_value)
    SELECT n.workspace_id, n.id, e.key,
      CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END,
      CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
      CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END
    FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id,
      jsonb_each(n.custom_attributes) e
    WHERE n.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')
      AND (o.archived_at IS NOT NULL OR (o.custom_attributes -> e.key) IS DISTINCT FROM e.value)$q$;
    EXECUTE $q$INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
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
    GROUP BY 1, 2, 3 HAVING sum(d) <> 0$q$;
  END IF;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 AND random() < 1.0 / 16 THEN
    PERFORM contact_search_counts_compact(ARRAY(SELECT DISTINCT workspace_id FROM new_rows));
  END IF;
  RETURN NULL;
END
$$;


CREATE OR REPLACE FUNCTION contact_attribute_values_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  IF (SELECT count(*) FROM old_rows) <= 64 THEN
    DELETE FROM contact_attribute_values v USING old_rows o
    WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id;
    INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
    SELECT workspace_id, key, value_type, sum(d) FROM (
      SELECT o.workspace_id, '' AS key, '' AS value_type, -1 AS d FROM old_rows o WHERE o.archived_at IS NULL
      UNION ALL
      SELECT o.workspace_id, e.key, jsonb_typeof(e.value), -1 FROM old_rows o, jsonb_each(o.custom_attributes) e
      WHERE o.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
    GROUP BY 1, 2, 3;
  ELSE
    EXECUTE $q$DELETE FROM contact_attribute_values v USING old_rows o
    WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id$q$;
    EXECUTE $q$INSERT INTO contact_search_counts (workspace_id, key, value_type, delta)
    SELECT workspace_id, key, value_type, sum(d) FROM (
      SELECT o.workspace_id, '' AS key, '' AS value_type, -1 AS d FROM old_rows o WHERE o.archived_at IS NULL
      UNION ALL
      SELECT o.workspace_id, e.key, jsonb_typeof(e.value), -1 FROM old_rows o, jsonb_each(o.custom_attributes) e
      WHERE o.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
    GROUP BY 1, 2, 3$q$;
  END IF;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 AND random() < 1.0 / 16 THEN
    PERFORM contact_search_counts_compact(ARRAY(SELECT DISTINCT workspace_id FROM old_rows));
  END IF;
  RETURN NULL;
END
$$;

