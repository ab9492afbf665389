//! Projection of the OpenAPI 3.1 document utoipa emits onto OpenAPI 3.0.3, the only version progenitor
//! (through the `openapiv3` crate) reads.
//!
//! The projection is a pure `serde_json::Value` rewrite: deterministic (the same input always gives the same
//! output, and keys keep their relative order whatever serde_json's map backend) and idempotent (rewriting
//! its output changes nothing). Schema objects are rewritten wherever they occur; every other object keeps
//! its structure and is only walked to reach the schemas it holds. Example values are never walked, so data
//! that looks like a schema inside an `example` stays as written.

use serde_json::{Map, Value, json};

/// JSON Schema 2020-12 keywords the OpenAPI 3.0 Schema Object does not have. They are dropped rather than
/// kept, so the output is a plain 3.0 document. `$defs` is among them: progenitor resolves `$ref`s only under
/// `#/components/schemas`, and utoipa never emits `$defs`. `contentEncoding` and `contentMediaType` are
/// handled separately because they map onto `format`.
const DROPPED_KEYWORDS: [&str; 20] = [
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$defs",
    "$dynamicAnchor",
    "$dynamicRef",
    "contains",
    "minContains",
    "maxContains",
    "contentSchema",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Keywords that only describe a schema and never interact with its other keywords, so they can move from
/// an `allOf` member to the schema holding it.
const ANNOTATIONS: [&str; 9] = [
    "title",
    "description",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
];

/// Rewrites an OpenAPI 3.1 document into the OpenAPI 3.0.3 form progenitor reads.
///
/// The output always declares `"openapi": "3.0.3"`. Top-level `webhooks` and `jsonSchemaDialect`,
/// `components.pathItems`, `info.summary` and `info.license.identifier` (all 3.1-only) are dropped, and an
/// absent `paths` (optional in 3.1, required in 3.0) becomes `{}`. In every schema:
///
/// - `type: [T, "null"]` becomes `type: T, nullable: true`; a type array of several non-null types becomes
///   an `anyOf` of single-type schemas (with the null-only schema below as one more branch when `"null"` is
///   among them); `type: "null"` (or `["null"]`) alone becomes the null-only schema.
/// - `{type: "null"}` branches of `oneOf`/`anyOf` become one null-only branch `{enum: [null]}`: OpenAPI
///   3.0.3 honours `nullable` only next to a `type`, so `nullable: true` beside a
///   combinator (or an `allOf` of a `$ref`) would not admit null to a strict 3.0 validator. The annotations
///   of a `$ref` branch (utoipa puts a field's doc comment there) move up to the schema, where 3.0 readers
///   look for them, and progenitor (typify) still reads `anyOf: [$ref, null-only]` as `Option<T>`.
/// - numeric `exclusiveMinimum`/`exclusiveMaximum` become `minimum`/`maximum` plus a boolean flag.
/// - `examples: [first, ..]` becomes `example: first` and `const: v` becomes `enum: [v]`;
///   `contentEncoding: base64` becomes `format: byte` and `contentMediaType` alone `format: binary`;
///   `$schema`, `$defs`, `propertyNames`, `unevaluatedProperties`, `dependentSchemas`, `if`/`then`/`else`
///   and the other 2020-12 keywords 3.0 lacks are removed.
/// - a tuple (`prefixItems`) becomes `items` accepting any of its members (with `maxItems` when `items` was
///   `false`), and boolean schemas become `{}` (true) or `{"not": {}}` (false), except
///   `additionalProperties`, which 3.0 lets be a boolean.
/// - a `$ref` with sibling keywords becomes `allOf: [{"$ref": ..}]` next to those siblings, which 3.0 would
///   otherwise ignore.
pub fn to_openapi_3_0(doc: &Value) -> Value {
    let mut out = doc.clone();
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    root.insert("openapi".to_owned(), Value::from("3.0.3"));
    for key in ["webhooks", "jsonSchemaDialect"] {
        take(root, key);
    }
    if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
        take(info, "summary");
        if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
            take(license, "identifier");
        }
    }
    if let Some(components) = root.get_mut("components").and_then(Value::as_object_mut) {
        take(components, "pathItems");
    }
    root.entry("paths").or_insert_with(|| json!({}));
    rewrite_node(&mut out);
    out
}

/// Walks a non-schema object (the document, `components`, a path item, operation, parameter, header,
/// request body, response, media type or encoding) and rewrites the schemas it holds. Each key below means
/// the same in every object that can have it, so one walker serves them all; other keys (examples, links,
/// security, extensions, ...) are left alone.
fn rewrite_node(node: &mut Value) {
    let Some(object) = node.as_object_mut() else {
        return;
    };
    for (key, child) in object.iter_mut() {
        match key.as_str() {
            "schema" => rewrite_schema(child),
            "schemas" => for_each_child(child, rewrite_schema),
            "components" | "requestBody" | "get" | "put" | "post" | "delete" | "options" | "head"
            | "patch" | "trace" => rewrite_node(child),
            "paths" | "parameters" | "requestBodies" | "responses" | "headers" | "content" | "encoding" => {
                for_each_child(child, rewrite_node);
            }
            // A callback maps expressions to path items.
            "callbacks" => for_each_child(child, |callback| for_each_child(callback, rewrite_node)),
            _ => {}
        }
    }
}

/// Rewrites one schema object, then the schemas nested in it.
fn rewrite_schema(schema: &mut Value) {
    if let Value::Bool(accepts) = *schema {
        *schema = if accepts { json!({}) } else { json!({"not": {}}) };
        return;
    }
    let Some(m) = schema.as_object_mut() else {
        return;
    };

    // First, so annotations this lifts out of a `$ref` branch go through the rewrites below.
    for key in ["oneOf", "anyOf"] {
        drop_null_branches(m, key);
    }
    m.retain(|key, _| !DROPPED_KEYWORDS.contains(&key.as_str()));
    let encoding = take(m, "contentEncoding");
    let format = match (encoding.as_ref().and_then(Value::as_str), take(m, "contentMediaType")) {
        (Some("base64"), _) => Some("byte"),
        (None, Some(_)) => Some("binary"),
        _ => None,
    };
    if let Some(format) = format {
        m.entry("format").or_insert_with(|| Value::from(format));
    }
    if let Some(Value::Array(examples)) = take(m, "examples")
        && let Some(first) = examples.into_iter().next()
    {
        m.entry("example").or_insert(first);
    }
    if let Some(value) = take(m, "const") {
        m.insert("enum".to_owned(), json!([value]));
    }
    exclusive_bound(m, "exclusiveMinimum", "minimum", |bound, limit| bound > limit);
    exclusive_bound(m, "exclusiveMaximum", "maximum", |bound, limit| bound < limit);
    tuple_to_items(m);
    split_type(m);

    if let Some(properties) = m.get_mut("properties") {
        // A map from property name to schema: only its values are schemas.
        for_each_child(properties, rewrite_schema);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(branches) = m.get_mut(key) {
            for_each_child(branches, rewrite_schema);
        }
    }
    for key in ["items", "not"] {
        if let Some(child) = m.get_mut(key) {
            rewrite_schema(child);
        }
    }
    if let Some(additional) = m.get_mut("additionalProperties")
        && additional.is_object()
    {
        rewrite_schema(additional);
    }

    if m.len() > 1
        && let Some(reference) = take(m, "$ref")
    {
        push_all_of(m, json!({"$ref": reference}));
    }
}

/// Turns a 3.1 numeric exclusive bound into the 3.0 pair `bound: n, exclusive: true`, unless the schema's own
/// `bound` is already stricter (`stricter(bound, n)`), in which case the exclusive bound is redundant.
fn exclusive_bound(m: &mut Map<String, Value>, exclusive: &str, bound: &str, stricter: fn(f64, f64) -> bool) {
    let Some(limit) = m.get(exclusive).filter(|value| value.is_number()).cloned() else {
        return;
    };
    let current = m.get(bound).and_then(Value::as_f64);
    if let (Some(current), Some(new)) = (current, limit.as_f64())
        && stricter(current, new)
    {
        take(m, exclusive);
    } else {
        m.insert(bound.to_owned(), limit);
        m.insert(exclusive.to_owned(), Value::Bool(true));
    }
}

/// Replaces a tuple's `prefixItems` (3.1 only) with `items` accepting any member, as close as 3.0 gets.
/// `items: false` (no further members) becomes a `maxItems` of the tuple's length; an `items` schema for
/// further members joins the accepted schemas.
fn tuple_to_items(m: &mut Map<String, Value>) {
    let Some(Value::Array(mut members)) = take(m, "prefixItems") else {
        return;
    };
    match take(m, "items") {
        Some(Value::Bool(false)) => {
            m.entry("maxItems").or_insert_with(|| Value::from(members.len()));
        }
        None | Some(Value::Bool(true)) => {}
        Some(rest) => members.push(rest),
    }
    let items = match members.len() {
        0 => json!({}),
        1 => members.remove(0),
        _ => json!({ "anyOf": members }),
    };
    m.insert("items".to_owned(), items);
}

/// The OpenAPI 3.0 schema that admits only `null`: no `type` (so no type excludes `null`) and an `enum` of
/// `null` alone. (`nullable: true` would do nothing here, as it counts only next to a `type`; and a typed
/// `{type: T, nullable: true, enum: [null]}` is not recognised as null by progenitor's typify.)
fn null_only() -> Value {
    json!({"enum": [null]})
}

/// Rewrites a type array (or the 3.1-only `"null"` type) into a single 3.0 `type` plus `nullable`, an `anyOf`
/// of single-type schemas when several non-null types are allowed (the null-only schema among them when
/// `"null"` is), or the null-only schema when only `"null"` is.
fn split_type(m: &mut Map<String, Value>) {
    let types = match m.get("type") {
        Some(Value::Array(types)) => types.clone(),
        Some(Value::String(name)) if name == "null" => vec![Value::from("null")],
        _ => return,
    };
    let mut nullable = false;
    let mut others: Vec<Value> = Vec::new();
    for t in types {
        if t.as_str() == Some("null") {
            nullable = true;
        } else if !others.contains(&t) {
            others.push(t);
        }
    }
    match others.len() {
        0 => {
            take(m, "type");
            if nullable && let Value::Object(null) = null_only() {
                m.extend(null);
            }
        }
        1 => {
            m.insert("type".to_owned(), others.remove(0));
            if nullable {
                m.insert("nullable".to_owned(), Value::Bool(true));
            }
        }
        _ => {
            take(m, "type");
            let mut alternatives: Vec<Value> = others.into_iter().map(|t| json!({ "type": t })).collect();
            if nullable {
                alternatives.push(null_only());
            }
            if m.contains_key("anyOf") {
                push_all_of(m, json!({ "anyOf": alternatives }));
            } else {
                m.insert("anyOf".to_owned(), Value::Array(alternatives));
            }
        }
    }
}

/// Replaces the `{type: "null"}` branches of `oneOf`/`anyOf` (`key`) with one null-only branch at the end.
/// When that leaves a `$ref` as the only other branch, the annotations of that branch that the schema lacks
/// move up to the schema.
fn drop_null_branches(m: &mut Map<String, Value>, key: &str) {
    let Some(Value::Array(branches)) = m.get(key) else {
        return;
    };
    if !branches.iter().any(is_null_schema) {
        return;
    }
    let Some(Value::Array(mut branches)) = m.get_mut(key).map(Value::take) else {
        return;
    };
    branches.retain(|branch| !is_null_schema(branch));
    if let [only] = branches.as_mut_slice()
        && let Some(b) = only.as_object_mut()
        && b.contains_key("$ref")
    {
        for annotation in ANNOTATIONS {
            if !m.contains_key(annotation)
                && let Some(value) = take(b, annotation)
            {
                m.insert(annotation.to_owned(), value);
            }
        }
    }
    branches.push(null_only());
    m.insert(key.to_owned(), Value::Array(branches));
}

/// Whether a schema only admits `null` (`type: "null"` or `type: ["null"]`).
fn is_null_schema(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(name)) => name == "null",
        Some(Value::Array(types)) => !types.is_empty() && types.iter().all(|t| t.as_str() == Some("null")),
        _ => false,
    }
}

/// Appends `schema` to the `allOf` list, creating it when absent.
fn push_all_of(m: &mut Map<String, Value>, schema: Value) {
    match m.get_mut("allOf") {
        Some(Value::Array(all_of)) => all_of.push(schema),
        _ => {
            m.insert("allOf".to_owned(), Value::Array(vec![schema]));
        }
    }
}

/// Calls `f` on each element of an array or each value of an object.
fn for_each_child(value: &mut Value, f: impl FnMut(&mut Value)) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(f),
        Value::Object(map) => map.values_mut().for_each(f),
        _ => {}
    }
}

/// Removes `key` and returns its value, keeping the other keys in order (serde_json's `remove` swaps the last
/// key into the gap when `preserve_order` is enabled).
fn take(m: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let value = m.get_mut(key).map(Value::take)?;
    m.retain(|k, _| k != key);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites `schema` placed at `components.schemas.S` of a minimal document, checks the rest of the
    /// document and idempotence, and returns the rewritten schema.
    fn rewrite(schema: Value) -> Value {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"S": schema}}
        });
        let mut out = to_openapi_3_0(&doc);
        assert_idempotent(&out);
        let rewritten = out["components"]["schemas"]["S"].take();
        assert_eq!(
            out,
            json!({
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "paths": {},
                "components": {"schemas": {"S": null}}
            })
        );
        rewritten
    }

    /// Asserts that rewriting `out` again gives the same bytes.
    fn assert_idempotent(out: &Value) {
        let again = to_openapi_3_0(out);
        assert_eq!(again.to_string(), out.to_string());
    }

    #[test]
    fn version_becomes_3_0_3_and_3_1_only_top_level_fields_go() {
        let doc = json!({
            "openapi": "3.1.0",
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": {
                "title": "t",
                "summary": "s",
                "version": "1",
                "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
            },
            "webhooks": {"w": {"post": {"responses": {}}}},
            "components": {"pathItems": {"p": {}}, "schemas": {}}
        });
        let out = to_openapi_3_0(&doc);
        assert_eq!(
            out,
            json!({
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1", "license": {"name": "Apache-2.0"}},
                "components": {"schemas": {}},
                "paths": {}
            })
        );
        assert_idempotent(&out);
    }

    #[test]
    fn type_with_null_becomes_nullable_in_either_order() {
        let expected = json!({"type": "string", "maxLength": 5, "nullable": true});
        assert_eq!(rewrite(json!({"type": ["string", "null"], "maxLength": 5})), expected);
        assert_eq!(rewrite(json!({"type": ["null", "string"], "maxLength": 5})), expected);
        assert_eq!(rewrite(json!({"type": ["integer"]})), json!({"type": "integer"}));
    }

    #[test]
    fn null_type_alone_becomes_the_null_only_schema() {
        assert_eq!(
            rewrite(json!({"type": ["null"], "description": "d"})),
            json!({"description": "d", "enum": [null]})
        );
        assert_eq!(rewrite(json!({"type": "null"})), null_only());
    }

    #[test]
    fn several_non_null_types_become_any_of() {
        assert_eq!(
            rewrite(json!({"type": ["string", "integer", "null"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}, null_only()]})
        );
        assert_eq!(
            rewrite(json!({"type": ["string", "boolean"], "anyOf": [{"minLength": 1}, {"enum": [true]}]})),
            json!({
                "anyOf": [{"minLength": 1}, {"enum": [true]}],
                "allOf": [{"anyOf": [{"type": "string"}, {"type": "boolean"}]}]
            })
        );
    }

    /// OpenAPI 3.0.3 reads `nullable` only next to a `type`: `{allOf: [$ref], nullable: true}` admits no null
    /// there, so a nullable reference keeps its combinator with a typed null-only branch.
    #[test]
    fn one_of_ref_or_null_keeps_the_ref_and_gets_a_typed_null_branch() {
        assert_eq!(
            rewrite(json!({
                "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Tag"}],
                "description": "the tag",
                "default": null
            })),
            json!({
                "oneOf": [{"$ref": "#/components/schemas/Tag"}, null_only()],
                "description": "the tag",
                "default": null
            })
        );
        // utoipa's `Option<Struct>` field with a doc comment: the description moves up out of the `$ref`.
        assert_eq!(
            rewrite(json!({
                "oneOf": [
                    {"$ref": "#/components/schemas/Owner", "description": "The owner."},
                    {"type": "null"}
                ]
            })),
            json!({
                "oneOf": [{"$ref": "#/components/schemas/Owner"}, null_only()],
                "description": "The owner."
            })
        );
    }

    #[test]
    fn any_of_with_several_branches_and_null_stays_any_of() {
        assert_eq!(
            rewrite(
                json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": ["null"]}, {"type": "string"}]})
            ),
            json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "string"}, null_only()]})
        );
        assert_eq!(rewrite(json!({"oneOf": [{"type": "null"}]})), json!({"oneOf": [null_only()]}));
    }

    /// Every null the 3.1 document admits is admitted by the 3.0 projection read strictly (a `nullable` only
    /// counts next to a `type`), and nothing else is added: the only `nullable` left is on typed schemas.
    #[test]
    fn every_nullable_in_the_projection_sits_next_to_a_type() {
        let (_, projected) = crate::spec::documents();
        let doc: Value = serde_json::from_str(&projected).expect("JSON");
        fn walk(value: &Value, at: &str, bad: &mut Vec<String>) {
            match value {
                Value::Object(m) => {
                    if m.get("nullable") == Some(&Value::Bool(true)) && !m.contains_key("type") {
                        bad.push(at.to_owned());
                    }
                    for (k, v) in m {
                        walk(v, &format!("{at}/{k}"), bad);
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, &format!("{at}/{i}"), bad);
                    }
                }
                _ => {}
            }
        }
        let mut bad = Vec::new();
        walk(&doc, "#", &mut bad);
        assert!(bad.is_empty(), "nullable without a type (not nullable to 3.0 validators): {bad:?}");
    }

    #[test]
    fn numeric_exclusive_bounds_become_boolean_flags() {
        assert_eq!(
            rewrite(json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10.5})),
            json!({
                "type": "integer",
                "exclusiveMinimum": true,
                "exclusiveMaximum": true,
                "minimum": 0,
                "maximum": 10.5
            })
        );
        // A stricter inclusive bound makes the exclusive one redundant; an equal or looser one is replaced.
        assert_eq!(
            rewrite(json!({"minimum": 5, "exclusiveMinimum": 1, "maximum": 2, "exclusiveMaximum": 9})),
            json!({"minimum": 5, "maximum": 2})
        );
        assert_eq!(
            rewrite(json!({"minimum": 3, "exclusiveMinimum": 3, "maximum": 9, "exclusiveMaximum": 9})),
            json!({"minimum": 3, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": true})
        );
        assert_eq!(
            rewrite(json!({"minimum": 1, "exclusiveMinimum": 3, "maximum": 20, "exclusiveMaximum": 9})),
            json!({"minimum": 3, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": true})
        );
    }

    #[test]
    fn examples_become_example_and_const_becomes_enum() {
        assert_eq!(
            rewrite(json!({"type": "string", "examples": ["a", "b"], "const": "a"})),
            json!({"type": "string", "example": "a", "enum": ["a"]})
        );
        assert_eq!(
            rewrite(json!({"type": "string", "example": "kept", "examples": ["a"]})),
            json!({"type": "string", "example": "kept"})
        );
        assert_eq!(rewrite(json!({"type": "string", "examples": []})), json!({"type": "string"}));
    }

    #[test]
    fn keywords_without_a_3_0_counterpart_are_dropped() {
        assert_eq!(
            rewrite(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": {"X": {"type": "string"}},
                "type": "object",
                "propertyNames": {"pattern": "^[a-z]+$"},
                "unevaluatedProperties": false,
                "dependentSchemas": {"a": {"required": ["b"]}},
                "if": {"required": ["a"]},
                "then": {"required": ["b"]},
                "else": {"required": ["c"]},
                "patternProperties": {"^x-": {}}
            })),
            json!({"type": "object"})
        );
        assert_eq!(
            rewrite(json!({"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"})),
            json!({"type": "string", "format": "byte"})
        );
        assert_eq!(
            rewrite(json!({"type": "string", "contentMediaType": "application/octet-stream"})),
            json!({"type": "string", "format": "binary"})
        );
    }

    #[test]
    fn ref_with_siblings_is_wrapped_in_all_of() {
        assert_eq!(
            rewrite(
                json!({"$ref": "#/components/schemas/Tag", "description": "d", "examples": [{"key": "k"}]})
            ),
            json!({
                "description": "d",
                "example": {"key": "k"},
                "allOf": [{"$ref": "#/components/schemas/Tag"}]
            })
        );
        assert_eq!(
            rewrite(json!({"$ref": "#/components/schemas/Tag", "$comment": "dropped"})),
            json!({"$ref": "#/components/schemas/Tag"})
        );
    }

    #[test]
    fn tuples_and_boolean_schemas_become_3_0_schemas() {
        assert_eq!(
            rewrite(json!({
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": ["integer", "null"]}],
                "items": false
            })),
            json!({
                "type": "array",
                "maxItems": 2,
                "items": {"anyOf": [{"type": "string"}, {"type": "integer", "nullable": true}]}
            })
        );
        assert_eq!(
            rewrite(json!({
                "type": "object",
                "properties": {"a": true, "b": false},
                "additionalProperties": false
            })),
            json!({
                "type": "object",
                "properties": {"a": {}, "b": {"not": {}}},
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn nested_schemas_in_responses_parameters_and_additional_properties_are_rewritten() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/images/{id}/tags": {
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": ["string", "null"]}}
                ],
                "get": {
                    "parameters": [{
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                        "examples": {"small": {"value": {"type": ["string", "null"]}}}
                    }],
                    "responses": {"200": {
                        "description": "ok",
                        "headers": {"X-Count": {"schema": {"type": ["integer", "null"]}}},
                        "content": {"application/json": {
                            "schema": {"type": "array", "items": {"type": "object", "properties": {
                                "value": {"type": ["string", "null"]},
                                "meta": {
                                    "type": "object",
                                    "additionalProperties": {"type": ["string", "null"]}
                                }
                            }}},
                            "example": [{"value": null, "meta": {"type": ["string", "null"]}}]
                        }}
                    }}
                }
            }}
        });
        let out = to_openapi_3_0(&doc);
        assert_eq!(
            out,
            json!({
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "paths": {"/images/{id}/tags": {
                    "parameters": [{
                        "name": "id",
                        "in": "path",
                        "required": true,
                        "schema": {"type": "string", "nullable": true}
                    }],
                    "get": {
                        "parameters": [{
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "exclusiveMinimum": true,
                                "minimum": 0,
                                "nullable": true
                            },
                            "examples": {"small": {"value": {"type": ["string", "null"]}}}
                        }],
                        "responses": {"200": {
                            "description": "ok",
                            "headers": {"X-Count": {"schema": {"type": "integer", "nullable": true}}},
                            "content": {"application/json": {
                                "schema": {"type": "array", "items": {"type": "object", "properties": {
                                    "value": {"type": "string", "nullable": true},
                                    "meta": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string", "nullable": true}
                                    }
                                }}},
                                "example": [{"value": null, "meta": {"type": ["string", "null"]}}]
                            }}
                        }}
                    }
                }}
            })
        );
        assert_idempotent(&out);
    }

    #[test]
    fn components_request_bodies_and_callbacks_are_walked() {
        let nullable_in = json!({"schema": {"type": ["string", "null"]}});
        let nullable_out = json!({"schema": {"type": "string", "nullable": true}});
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {
                "parameters": {"p": nullable_in},
                "headers": {"h": nullable_in},
                "requestBodies": {"b": {"content": {"application/json": nullable_in}}},
                "responses": {"r": {"description": "r", "content": {"text/plain": nullable_in}}},
                "callbacks": {"c": {"{$request.body#/url}": {"post": {"requestBody": {
                    "content": {"multipart/form-data": {
                        "schema": {"type": "object"},
                        "encoding": {"file": {"headers": {"X-Part": nullable_in}}}
                    }}
                }}}}},
                "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}
            }
        });
        assert_eq!(
            to_openapi_3_0(&doc)["components"],
            json!({
                "parameters": {"p": nullable_out},
                "headers": {"h": nullable_out},
                "requestBodies": {"b": {"content": {"application/json": nullable_out}}},
                "responses": {"r": {"description": "r", "content": {"text/plain": nullable_out}}},
                "callbacks": {"c": {"{$request.body#/url}": {"post": {"requestBody": {
                    "content": {"multipart/form-data": {
                        "schema": {"type": "object"},
                        "encoding": {"file": {"headers": {"X-Part": nullable_out}}}
                    }}
                }}}}},
                "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}
            })
        );
    }

    #[test]
    fn properties_named_like_keywords_are_left_alone() {
        assert_eq!(
            rewrite(json!({
                "type": "object",
                "required": ["type", "examples"],
                "properties": {
                    "type": {"type": ["string", "null"]},
                    "examples": {"type": "array", "items": {"type": "string"}},
                    "const": {"type": "string"},
                    "$ref": {"type": "string"}
                }
            })),
            json!({
                "type": "object",
                "required": ["type", "examples"],
                "properties": {
                    "type": {"type": "string", "nullable": true},
                    "examples": {"type": "array", "items": {"type": "string"}},
                    "const": {"type": "string"},
                    "$ref": {"type": "string"}
                }
            })
        );
    }

    #[test]
    fn removals_keep_the_order_of_the_other_keys() {
        // Sorted input, so the expected bytes hold with and without serde_json's `preserve_order`.
        let doc = json!({
            "info": {
                "license": {"identifier": "MIT", "name": "MIT", "url": "u"},
                "summary": "s",
                "title": "t",
                "version": "1"
            },
            "openapi": "3.1.0",
            "paths": {}
        });
        assert_eq!(
            to_openapi_3_0(&doc)["info"].to_string(),
            r#"{"license":{"name":"MIT","url":"u"},"title":"t","version":"1"}"#
        );
    }

    #[test]
    fn composite_document_is_idempotent_and_deterministic() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
            "paths": {"/tags": {"post": {
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Tag"}
                }}},
                "responses": {"201": {"description": "c", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Tag", "description": "created"}
                }}}}
            }}},
            "components": {"schemas": {
                "Tag": {
                    "type": "object",
                    "required": ["key"],
                    "properties": {
                        "key": {"type": "string", "maxLength": 128, "examples": ["env"]},
                        "value": {"type": ["string", "null"], "const": "x"},
                        "owner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Owner"}]},
                        "count": {"type": ["integer", "string", "null"], "exclusiveMaximum": 100},
                        "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": false}
                    }
                },
                "Owner": {"description": "maybe a tag", "anyOf": [
                    {"type": "null"},
                    {"$ref": "#/components/schemas/Tag", "description": "x", "examples": [{"key": "k"}]}
                ]}
            }}
        });
        let once = to_openapi_3_0(&doc);
        assert_eq!(
            once["components"]["schemas"]["Owner"],
            json!({
                "description": "maybe a tag",
                "anyOf": [{"description": "x", "allOf": [{"$ref": "#/components/schemas/Tag"}]}, null_only()],
                "example": {"key": "k"}
            })
        );
        assert_eq!(once["openapi"], "3.0.3");
        assert_idempotent(&once);
        assert_eq!(to_openapi_3_0(&doc).to_string(), once.to_string());
    }
}
