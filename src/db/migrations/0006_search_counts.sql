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
CREATE INDEX contact_attribute_values_text ON contact_attribute_values (workspace_id, key, text_value, contact_id)
  WHERE text_value IS NOT NULL;
CREATE INDEX contact_attribute_values_num ON contact_attribute_values (workspace_id, key, num_value, contact_id)
  WHERE num_value IS NOT NULL;
CREATE INDEX contact_attribute_values_bool ON contact_attribute_values (workspace_id, key, bool_value, contact_id)
  WHERE bool_value IS NOT NULL;
-- Counting the live contacts (for negative filters: all live contacts minus the positive set) by index only.
CREATE INDEX contacts_live ON contacts (workspace_id, id) WHERE archived_at IS NULL;

-- Kept exact by statement-level triggers on contacts, so every write path (the contacts module, app
-- uninstalls, bulk SQL) maintains it in the same statement and transaction. Transition tables make a bulk
-- statement one set-based write here instead of one per contact.
CREATE FUNCTION contact_attribute_values_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO contact_attribute_values (workspace_id, contact_id, key, text_value, num_value, bool_value)
  SELECT n.workspace_id, n.id, e.key,
    CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END,
    CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
    CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END
  FROM new_rows n, jsonb_each(n.custom_attributes) e
  WHERE n.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean');
  RETURN NULL;
END
$$;

-- Only contacts whose attributes or archived state changed are touched, and only their changed keys.
CREATE FUNCTION contact_attribute_values_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
  RETURN NULL;
END
$$;

CREATE FUNCTION contact_attribute_values_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM contact_attribute_values v USING old_rows o
  WHERE v.workspace_id = o.workspace_id AND v.contact_id = o.id;
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
  TRUNCATE contact_attribute_values;
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
