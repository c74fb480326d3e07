//! A tenant's registry row. Never serialised directly: responses go through `TenantView`,
//! which has no credential fields.

use sea_orm::entity::prelude::*;
use tenancy_core::domain::{FeatureOverrides, Features, Plan, TenantStatus};

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    /// Counts status changes; a job works for one generation (see `jobs`).
    pub generation: i32,
    /// The database server the tenant's database lives on (`db_servers.name`).
    pub server: String,
    pub db_name: String,
    pub db_role: String,
    pub db_password_sealed: Option<Vec<u8>>,
    pub db_key_version: Option<i16>,
    pub seed_admin_email: Option<String>,
    pub seed_admin_password_hash: Option<String>,
    /// The first admin's password sealed for the job to hash (see `registry::seed_aad`);
    /// erased when the hash is recorded.
    pub seed_admin_password_sealed: Option<Vec<u8>>,
    pub seed_admin_key_version: Option<i16>,
    /// Feature overrides, `{"name": bool}`; read through `FeatureOverrides::from_stored`.
    #[sea_orm(column_type = "JsonBinary")]
    pub features: Json,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub deleted_at: Option<DateTimeWithTimeZone>,
    pub purged_at: Option<DateTimeWithTimeZone>,
}

// Hand-written so credentials and hashes never reach a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .field("status", &self.status)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// The tenant's explicit feature settings.
    pub fn feature_overrides(&self) -> FeatureOverrides {
        FeatureOverrides::from_stored(&self.features)
    }

    /// What the tenant may use: its plan's defaults with its overrides on top.
    pub fn effective_features(&self) -> Features {
        Features::resolve(self.plan, &self.feature_overrides())
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::provisioning_jobs::Entity")]
    Jobs,
}

impl Related<super::provisioning_jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
