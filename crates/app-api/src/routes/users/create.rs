//! `POST /v1/users` (admin).

use crate::auth::{AuthUser, Role};
use crate::repo::users::{self, User};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, post, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::borrow::Cow;
use tenancy_core::domain::Email;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::error::FieldError;
use tenancy_core::{ApiError, password};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Read as text so a bad word is reported against this field with the others.
    #[schema(value_type = Role)]
    pub role: String,
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub password: SecretString,
}

pub(crate) fn field(field: &'static str, message: impl Into<Cow<'static, str>>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Adds a user to the tenant.
#[utoipa::path(operation_id = "create_user", request_body = CreateUser, responses((status = 201, body = User, headers(("Location" = String, description = "The user: `/v1/users/{id}`"))), (status = 409), (status = 422)), security(("bearer" = [])), tag = "users")]
#[post("/users")]
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    tenant: Tenant,
    user: AuthUser,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let body = body.into_inner();
    let mut errors = Vec::new();
    let email = Email::parse(&body.email).ok();
    if email.is_none() {
        errors.push(field("email", "must be a valid email address"));
    }
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(field("name", "must be 1 to 200 characters"));
    }
    let role = Role::parse(&body.role)
        .map_err(|e| errors.push(field("role", e.must_be())))
        .ok();
    if let Err(msg) = password::check_length(&body.password) {
        errors.push(field("password", msg));
    }
    errors.extend(text::unstorable("email", &body.email));
    errors.extend(text::unstorable("name", &body.name));
    errors.extend(text::unstorable("password", body.password.expose_secret()));
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let secret = body.password;
    let hash = web::block(move || password::hash(&secret))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let conn = tenant.conn().await?;
    let created = users::insert(&conn, email.as_str(), &name, role, &hash).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/users/{}", created.id)))
        .json(created))
}
