//! Super-admin accounts.

use crate::entity::super_admins::{self, Entity as SuperAdmins};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};
use tenancy_core::domain::Email;
use uuid::Uuid;

#[tracing::instrument(skip_all)]
pub async fn find_by_email(
    db: &DatabaseConnection,
    email: &Email,
) -> Result<Option<super_admins::Model>, DbErr> {
    SuperAdmins::find()
        .filter(super_admins::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

/// Creates the admin, or resets the password of an existing one with that email.
#[tracing::instrument(skip_all, fields(admin.email = %email))]
pub async fn upsert(
    db: &DatabaseConnection,
    email: &Email,
    password_hash: String,
) -> Result<(), DbErr> {
    let now = chrono::Utc::now().fixed_offset();
    let row = super_admins::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(email.as_str().to_string()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        updated_at: Set(now),
    };
    SuperAdmins::insert(row)
        .on_conflict(
            OnConflict::column(super_admins::Column::Email)
                .update_columns([
                    super_admins::Column::PasswordHash,
                    super_admins::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
