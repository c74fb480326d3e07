//! What both OpenAPI documents share: the `bearer` security scheme, the problem+json
//! `Problem` component, the error answers every route can give and the slug's schema,
//! added here once rather than repeated in each handler's annotation.

use crate::domain::{MAX_SLUG_LEN, MIN_SLUG_LEN, SLUG_PATTERN};
use std::collections::BTreeMap;
use utoipa::Modify;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Adds the `bearer` scheme that handlers name in `security(("bearer" = []))`.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
    }
}

/// A tenant slug's schema, from the limits `TenantSlug::parse` checks (the reserved words,
/// refused with `invalid_tenant_slug`, are not in it).
pub fn slug_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .min_length(Some(MIN_SLUG_LEN))
        .max_length(Some(MAX_SLUG_LEN))
        .pattern(Some(SLUG_PATTERN))
        .build()
        .into()
}

/// Gives every parameter that names a tenant (the path's `{slug}`, the `X-Tenant-Slug`
/// header) the slug's schema.
pub struct SlugParameters;

impl Modify for SlugParameters {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                for param in op.parameters.iter_mut().flatten() {
                    if param.name == "slug" || param.name == TENANT_HEADER {
                        param.schema = Some(RefOr::T(slug_schema()));
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The header naming the tenant on the app plane.
pub const TENANT_HEADER: &str = "X-Tenant-Slug";
/// The security scheme that stands for `X-Tenant-Slug` on every app `/v1` route.
pub const TENANT_SCHEME: &str = "tenant";

/// Gives every error answer of the `/v1` routes the `Problem` body and lists the codes it
/// can carry. Handlers declare only their own errors (403, 404, 409, 422); what follows from
/// the route's shape (a token, a body, a query, a path id) or from the plane (tenancy) is
/// added here, so no route can forget one.
pub struct ProblemResponses;

/// `ProblemResponses` plus, on every `/v1` route, `X-Tenant-Slug` and the app plane's
/// tenancy errors.
pub struct TenantProblemResponses;

impl Modify for TenantProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        add_problems(openapi, true);
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        add_problems(openapi, false);
    }
}

fn add_problems(openapi: &mut OpenApi, tenancy: bool) {
    {
        let components = openapi.components.get_or_insert_with(Default::default);
        if tenancy {
            components.add_security_scheme(
                TENANT_SCHEME,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    TENANT_HEADER,
                    "The tenant's slug; may be left out when the host is `<slug>.<APP_DOMAIN>`.",
                ))),
            );
        }
        components
            .schemas
            .insert("Problem".into(), RefOr::T(problem_schema()));
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/v1/");
            for op in operations(item) {
                let mut codes = declared_codes(op);
                if api {
                    add_route_codes(op, path, tenancy, &mut codes);
                }
                if tenancy && api {
                    add_tenant_header(op);
                }
                write_responses(op, codes);
            }
        }
    }
}

type Codes = BTreeMap<u16, Vec<&'static str>>;

fn add(codes: &mut Codes, status: u16, code: &'static str) {
    let list = codes.entry(status).or_default();
    if !list.contains(&code) {
        list.push(code);
    }
}

/// The codes a handler means by the bare error statuses it declares.
fn declared_codes(op: &Operation) -> Codes {
    let mut codes = Codes::new();
    for status in op.responses.responses.keys() {
        let code = match status.as_str() {
            "400" => "bad_request",
            "401" => "unauthorized",
            "403" => "forbidden",
            "404" => "not_found",
            "409" => "conflict",
            "422" => "validation_failed",
            "429" => "connection_limit",
            "503" => "service_unavailable",
            _ => continue,
        };
        add(&mut codes, status.parse().unwrap_or(0), code);
    }
    codes
}

fn add_route_codes(op: &Operation, path: &str, tenancy: bool, codes: &mut Codes) {
    let params = op.parameters.as_deref().unwrap_or_default();
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) || path.ends_with("/auth/login") {
        add(codes, 401, "unauthorized");
    }
    if op.request_body.is_some() {
        add(codes, 400, "bad_request");
        add(codes, 413, "payload_too_large");
        add(codes, 415, "unsupported_media_type");
        add(codes, 422, "validation_failed");
    }
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        add(codes, 400, "bad_request");
        add(codes, 422, "validation_failed");
    }
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path))
    {
        add(codes, 404, "not_found");
    }
    if path.contains("{slug}") {
        add(codes, 400, "invalid_tenant_slug");
    }
    // Every `/v1` route reaches a database, whose pool can be exhausted or unreachable.
    add(codes, 429, "connection_limit");
    add(codes, 503, "service_unavailable");
    if tenancy {
        for code in ["tenant_required", "invalid_tenant_slug", "ambiguous_tenant"] {
            add(codes, 400, code);
        }
        add(codes, 403, "tenant_inactive");
        add(codes, 403, "tenant_mismatch");
        add(codes, 404, "tenant_not_found");
        add(codes, 429, "rate_limited");
        add(codes, 503, "tenant_provisioning");
        add(codes, 503, "tenant_moving");
    }
}

/// The tenant is named like a credential (a security scheme, not a parameter): clients and
/// fuzzers then send one configured value instead of inventing one per request.
fn add_tenant_header(op: &mut Operation) {
    let security = op.security.get_or_insert_with(Vec::new);
    if security.is_empty() {
        security.push(SecurityRequirement::new(
            TENANT_SCHEME,
            Vec::<String>::new(),
        ));
    } else {
        for requirement in security.iter_mut() {
            *requirement = requirement.clone().add(TENANT_SCHEME, Vec::<String>::new());
        }
    }
}

fn write_responses(op: &mut Operation, codes: Codes) {
    for (status, list) in codes {
        let key = status.to_string();
        let entry = op
            .responses
            .responses
            .entry(key)
            .or_insert_with(|| RefOr::T(Response::new("")));
        let RefOr::T(response) = entry else { continue };
        let words = list
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        response.description = if response.description.is_empty() {
            format!("Problem; code {words}")
        } else {
            format!("{}; code {words}", response.description)
        };
        if !response.content.contains_key(PROBLEM_JSON) {
            response.content.insert(
                PROBLEM_JSON.into(),
                Content::new(Some(Ref::from_schema_name("Problem"))),
            );
        }
        if matches!(status, 429 | 503) && !response.headers.contains_key("Retry-After") {
            response.headers.insert("Retry-After".into(), retry_after());
        }
    }
}

fn retry_after() -> Header {
    let mut header = Header::new(
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .minimum(Some(0))
            .build(),
    );
    header.description = Some("Seconds to wait before trying again.".into());
    header
}

fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
}

/// RFC 9457 with the `code` extension: what `ApiError` sends.
fn problem_schema() -> Schema {
    let field_error = ObjectBuilder::new()
        .property("field", text("The request field at fault."))
        .property("message", text("What is wrong with it."))
        .required("field")
        .required("message");
    Schema::Object(
        ObjectBuilder::new()
            .description(Some("An error (RFC 9457); branch on `code`."))
            .property("type", text("A URI naming the error code."))
            .property("title", text("The status's reason phrase."))
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(400))
                    .maximum(Some(599)),
            )
            .property("detail", text("Human-readable; its wording may change."))
            .property("code", text("The stable, machine-readable error code."))
            .property(
                "errors",
                ArrayBuilder::new()
                    .items(field_error)
                    .description(Some("Every failing field; only on `validation_failed`.")),
            )
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .build(),
    )
}
