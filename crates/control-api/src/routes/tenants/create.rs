//! `POST /v1/tenants`: registers a tenant as `provisioning` and queues its provisioning job.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry::{self, NewTenant};
use crate::routes::tenants::parse_slug;
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::servers::ServerName;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::domain::{Email, Plan};
use tenancy_core::error::FieldError;
use tenancy_core::{ApiError, password};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Not one of the reserved words (`api`, `www`, `admin`, ...).
    #[schema(
        example = "acme",
        min_length = 3,
        max_length = 50,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: String,
    #[schema(example = "Acme Corp", min_length = 1, max_length = 200)]
    pub name: String,
    /// `free` when absent. Read as text so a bad word is reported with the other fields.
    #[schema(value_type = Option<Plan>, example = "pro")]
    pub plan: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub admin_email: String,
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub admin_password: SecretString,
    /// The database server to place the tenant on; by default the accepting server with
    /// the most room for its capacity. Unknown: 422; draining or full: 409.
    #[schema(
        example = "default",
        min_length = 1,
        max_length = 30,
        pattern = "^[a-z](-?[a-z0-9])*$"
    )]
    pub server: Option<String>,
}

fn field(field: &'static str, message: &'static str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Everything but the slug is checked together so the client sees all problems at once.
fn validate(body: &CreateTenant) -> Result<(String, Plan, Email, Option<ServerName>), ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(field("name", "must be 1 to 200 characters"));
    }
    let plan = match body.plan.as_deref() {
        None => Some(Plan::Free),
        Some(raw) => Plan::parse(raw).ok(),
    };
    if plan.is_none() {
        errors.push(field("plan", "must be one of free, pro, enterprise"));
    }
    let email = Email::parse(&body.admin_email).ok();
    if email.is_none() {
        errors.push(field("admin_email", "must be a valid email address"));
    }
    if let Err(msg) = password::check_length(&body.admin_password) {
        errors.push(field("admin_password", msg));
    }
    errors.extend(text::unstorable("name", &body.name));
    errors.extend(text::unstorable("admin_email", &body.admin_email));
    errors.extend(text::unstorable(
        "admin_password",
        body.admin_password.expose_secret(),
    ));
    let server = match body.server.as_deref().map(ServerName::parse) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(rule)) => {
            errors.push(field("server", rule));
            None
        }
    };
    match (plan, email) {
        (Some(plan), Some(email)) if errors.is_empty() => Ok((name, plan, email, server)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Creates a tenant; provisioning continues in the background.
#[utoipa::path(
    operation_id = "create_tenant",
    request_body = CreateTenant,
    responses(
        (status = 202, body = TenantWithJob, description = "registered; provisioning queued", headers(("Location" = String, description = "The tenant: `/v1/tenants/{slug}`"))),
        (status = 400, description = "invalid_tenant_slug"),
        (status = 409, description = "slug taken, or the named server is draining or full"),
        (status = 422, description = "validation_failed"),
    ),
    security(("bearer" = [])),
    tag = "tenants"
)]
#[post("/v1/tenants")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn create(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let slug = parse_slug(&body.slug)?;
    tracing::Span::current().record("tenant.slug", slug.as_str());
    let (name, plan, email, server) = validate(&body)?;

    let (tenant, job) = registry::register(
        &state,
        &audit::Context::admin(&req, &admin),
        NewTenant {
            slug: slug.clone(),
            name,
            plan,
            admin_email: email,
            admin_password: body.admin_password,
            server,
        },
    )
    .await?;

    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/tenants/{slug}")))
        .json(TenantWithJob {
            tenant: TenantView::from(&tenant),
            job: JobView::from(&job),
        }))
}
