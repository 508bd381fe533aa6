-- OTLP JSON macros
-- Turn an OTLP/JSON AnyValue (already shaped by json_transform into a struct of its oneof fields)
-- into the text stored in spans.attributes, the same text the Python decoder writes: scalars as
-- written, arrays and kvlists as plain JSON (one level deep; deeper values keep their AnyValue JSON).
create or replace macro otlp_scalar_json(x JSON) as coalesce(
    to_json(json_extract_string(x, '$.stringValue')),
    json_extract_string(x, '$.intValue'),
    json_extract_string(x, '$.doubleValue'),
    json_extract_string(x, '$.boolValue'),
    to_json(json_extract_string(x, '$.bytesValue')),
    json_extract(x, '$.arrayValue')::varchar,
    json_extract(x, '$.kvlistValue')::varchar,
    'null'
);
create or replace macro otlp_text(v) as coalesce(
    v.stringValue,
    v.intValue,
    v.doubleValue,
    v.boolValue,
    '[' || array_to_string(list_transform(json_extract(v.arrayValue::JSON, '$.values[*]'),
                                          lambda x: otlp_scalar_json(x)), ',') || ']',
    '{' || array_to_string(list_transform(json_extract(v.kvlistValue::JSON, '$.values[*]'),
                                          lambda kv: to_json(json_extract_string(kv, '$.key')) || ':'
                                                     || otlp_scalar_json(json_extract(kv, '$.value'))), ',') || '}',
    v.bytesValue
);
create or replace macro otlp_attrs(kvs) as coalesce(
    map_from_entries(list_transform(kvs, lambda kv: {'k': kv.key, 'v': otlp_text(kv.value)})),
    map([], [])::map(varchar, varchar)
);
