//! The feature catalogue: named capabilities of the helpdesk, each with a default per plan,
//! and a tenant's overrides of those defaults. Both planes read this one list: the control
//! plane to validate and show overrides, the app plane to decide what a request may do.
//!
//! A feature that takes away something tenants had before the catalogue existed is on by
//! default on every plan, so adding it changed nobody's helpdesk; a feature that adds
//! something may be off on the smaller plans.

use super::Plan;
use crate::error::FieldError;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

crate::text_enum! {
    /// A named capability of the helpdesk that a plan or an override turns on or off.
    #[derive(PartialOrd, Ord)]
    pub enum Feature as "feature" {
        InternalNotes = "internal_notes",
        TicketSearch = "ticket_search",
    }
}

impl Feature {
    /// What turning the feature on means, for people (docs, OpenAPI, the console).
    pub fn description(self) -> &'static str {
        match self {
            Self::InternalNotes => {
                "Agents and admins may write internal notes (comments with `internal: true`, \
                 hidden from customers). Off: such a comment is refused with 403 `forbidden`; \
                 notes written before stay readable by staff."
            }
            Self::TicketSearch => {
                "`GET /v1/tickets?q=` finds tickets whose title or description contains the \
                 text (case-insensitive). Off: a list with `q` is refused with 403 `forbidden`."
            }
        }
    }

    /// Whether the feature is on for a tenant of `plan` that has no override for it.
    pub fn default_for(self, plan: Plan) -> bool {
        match self {
            // Every tenant could write internal notes before the catalogue: on everywhere.
            Self::InternalNotes => true,
            Self::TicketSearch => !matches!(plan, Plan::Free),
        }
    }
}

/// A tenant's explicit settings, feature by feature; a feature absent here follows the plan.
/// Stored as a JSON object in `tenants.features`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeatureOverrides(BTreeMap<Feature, bool>);

impl FeatureOverrides {
    /// Reads the stored object. Lenient on purpose: a name no longer in the catalogue (a
    /// retired feature) or a value that is not a boolean is skipped, so an old row never
    /// stops a tenant from being served.
    pub fn from_stored(stored: &serde_json::Value) -> Self {
        let entries = stored.as_object().into_iter().flatten();
        Self(
            entries
                .filter_map(|(name, on)| Some((Feature::parse(name).ok()?, on.as_bool()?)))
                .collect(),
        )
    }

    /// The stored form: `{"name": bool, ...}`.
    pub fn to_stored(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(f, on)| (f.as_str().to_string(), (*on).into()))
                .collect(),
        )
    }

    pub fn get(&self, feature: Feature) -> Option<bool> {
        self.0.get(&feature).copied()
    }

    /// Applies a change: `Some(on)` sets an override, `None` removes it.
    pub fn apply(&mut self, changes: &FeatureChanges) {
        for (feature, on) in &changes.0 {
            match on {
                Some(on) => self.0.insert(*feature, *on),
                None => self.0.remove(feature),
            };
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A requested change of overrides: feature -> `Some(on)` to set, `None` to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureChanges(BTreeMap<Feature, Option<bool>>);

impl FeatureChanges {
    /// Parses a request's `features` object, `{name: true | false | null}`. Every bad entry
    /// is reported, each against its own field (`features.<name>`).
    pub fn parse(
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut changes = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in raw {
            let field = format!("features.{name}");
            let Ok(feature) = Feature::parse(name) else {
                errors.push(FieldError {
                    field: field.into(),
                    message: format!(
                        "unknown feature; known features: {}",
                        Feature::TEXTS.join(", ")
                    )
                    .into(),
                });
                continue;
            };
            match value {
                serde_json::Value::Bool(on) => changes.insert(feature, Some(*on)),
                serde_json::Value::Null => changes.insert(feature, None),
                _ => {
                    errors.push(FieldError {
                        field: field.into(),
                        message: "must be true, false or null (null removes the override)".into(),
                    });
                    continue;
                }
            };
        }
        if errors.is_empty() {
            Ok(Self(changes))
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a tenant may use: every feature of the catalogue, on or off, after its overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Features(BTreeMap<Feature, bool>);

impl Features {
    /// The plan's defaults with the tenant's overrides on top.
    pub fn resolve(plan: Plan, overrides: &FeatureOverrides) -> Self {
        Self(
            Feature::ALL
                .into_iter()
                .map(|f| (f, overrides.get(f).unwrap_or_else(|| f.default_for(plan))))
                .collect(),
        )
    }

    pub fn enabled(&self, feature: Feature) -> bool {
        self.0.get(&feature).copied().unwrap_or(false)
    }
}

/// An object schema with one property per feature, described from the catalogue, so the
/// OpenAPI document lists the names and refuses others.
fn catalogue_object(value: impl Fn() -> SchemaType, required: bool, what: &str) -> Schema {
    let mut object = ObjectBuilder::new()
        .description(Some(what))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for feature in Feature::ALL {
        let property = ObjectBuilder::new()
            .schema_type(value())
            .description(Some(feature.description()));
        object = object.property(feature.as_str(), property);
        if required {
            object = object.required(feature.as_str());
        }
    }
    Schema::Object(object.build())
}

impl utoipa::PartialSchema for Features {
    fn schema() -> RefOr<Schema> {
        RefOr::T(catalogue_object(
            || SchemaType::Type(Type::Boolean),
            true,
            "Every feature of the catalogue and whether this tenant has it: the plan's default unless overridden.",
        ))
    }
}
impl utoipa::ToSchema for Features {}

impl utoipa::PartialSchema for FeatureOverrides {
    fn schema() -> RefOr<Schema> {
        RefOr::T(catalogue_object(
            || SchemaType::Type(Type::Boolean),
            false,
            "This tenant's explicit settings; a feature not listed follows the plan.",
        ))
    }
}
impl utoipa::ToSchema for FeatureOverrides {}

/// The OpenAPI schema of a request's `features` object (`true`/`false` set an override,
/// `null` removes it); the request itself is read with [`FeatureChanges::parse`].
pub struct FeatureChangesSchema;

impl utoipa::PartialSchema for FeatureChangesSchema {
    fn schema() -> RefOr<Schema> {
        RefOr::T(catalogue_object(
            || SchemaType::Array(vec![Type::Boolean, Type::Null]),
            false,
            "Overrides to set (true or false) or remove (null); features not named are left as they are.",
        ))
    }
}
impl utoipa::ToSchema for FeatureChangesSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "FeatureChanges".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_set_the_defaults_and_overrides_win() {
        let none = FeatureOverrides::default();
        let free = Features::resolve(Plan::Free, &none);
        assert!(free.enabled(Feature::InternalNotes));
        assert!(!free.enabled(Feature::TicketSearch));
        for plan in [Plan::Pro, Plan::Enterprise] {
            let f = Features::resolve(plan, &none);
            assert!(f.enabled(Feature::InternalNotes) && f.enabled(Feature::TicketSearch));
        }
        let overrides =
            FeatureOverrides::from_stored(&json!({"ticket_search": true, "internal_notes": false}));
        let f = Features::resolve(Plan::Free, &overrides);
        assert!(f.enabled(Feature::TicketSearch));
        assert!(!f.enabled(Feature::InternalNotes));
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"internal_notes": false, "ticket_search": true})
        );
    }

    #[test]
    fn changes_set_and_remove_overrides() {
        let mut o = FeatureOverrides::from_stored(&json!({"ticket_search": true}));
        let raw = json!({"ticket_search": null, "internal_notes": false});
        let changes = FeatureChanges::parse(raw.as_object().unwrap()).unwrap();
        o.apply(&changes);
        assert_eq!(o.to_stored(), json!({"internal_notes": false}));
    }

    #[test]
    fn unknown_names_and_non_booleans_are_field_errors() {
        let raw = json!({"bogus": true, "internal_notes": "yes", "ticket_search": false});
        let errors = FeatureChanges::parse(raw.as_object().unwrap()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(fields, ["features.bogus", "features.internal_notes"]);
    }

    #[test]
    fn stored_leftovers_are_skipped_not_fatal() {
        let o = FeatureOverrides::from_stored(&json!({"retired": true, "ticket_search": 1}));
        assert!(o.is_empty());
        assert!(FeatureOverrides::from_stored(&json!("not an object")).is_empty());
    }

    #[test]
    fn the_schema_lists_every_feature_and_no_other() {
        let schema = serde_json::to_value(<Features as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"], json!(Feature::TEXTS));
        for f in Feature::ALL {
            assert_eq!(schema["properties"][f.as_str()]["type"], "boolean");
        }
    }
}
