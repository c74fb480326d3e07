//! Tenant lifecycle words and plans, spelled exactly as the contract spells them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Provisioning,
    Active,
    Suspended,
    Failed,
    Deleted,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 5] = [
        Self::Provisioning,
        Self::Active,
        Self::Suspended,
        Self::Failed,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The lifecycle's legal moves. `deleted` is final: a purge keeps the word and drops the
    /// database; only provisioning jobs move a tenant out of `provisioning`.
    pub fn can_become(self, to: Self) -> bool {
        use TenantStatus::*;
        matches!(
            (self, to),
            (Provisioning, Active | Failed | Deleted)
                | (Active, Suspended | Deleted)
                | (Suspended, Active | Deleted)
                | (Failed, Provisioning | Deleted)
        )
    }
}

/// What a tenant pays for; sets its connection allowance and request rate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    #[default]
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Self::Free, Self::Pro, Self::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Connections this plan's pool may hold (capped again by `POOL_MAX_PER_TENANT`).
    pub fn max_connections(self) -> usize {
        match self {
            Self::Free => 2,
            Self::Pro => 5,
            Self::Enterprise => 10,
        }
    }

    /// Requests per second this plan is allowed on the app plane.
    pub fn requests_per_second(self) -> u32 {
        match self {
            Self::Free => 20,
            Self::Pro => 100,
            Self::Enterprise => 500,
        }
    }
}
