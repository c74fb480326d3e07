//! Tenant lifecycle words and plans, spelled exactly as the contract spells them.

crate::text_enum! {
    /// Where a tenant is in its life; only `active` tenants are served.
    #[derive(utoipa::ToSchema)]
    pub enum TenantStatus as "tenant status" {
        Provisioning = "provisioning",
        Active = "active",
        Suspended = "suspended",
        Failed = "failed",
        Deleted = "deleted",
        /// Its database is being moved or restored: the app plane serves reads and answers writes 503 `tenant_moving`.
        Moving = "moving",
    }
}

impl TenantStatus {
    /// The lifecycle's legal moves. `deleted` is final: a purge keeps the word and drops the
    /// database; only provisioning jobs move a tenant out of `provisioning`; `moving` is a
    /// fence entered from `active` and left only back to `active` (by the job that set it).
    pub fn can_become(self, to: Self) -> bool {
        use TenantStatus::*;
        matches!(
            (self, to),
            (Provisioning, Active | Failed | Deleted)
                | (Active, Suspended | Deleted | Moving)
                | (Moving, Active)
                | (Suspended, Active | Deleted)
                | (Failed, Provisioning | Deleted)
        )
    }
}

crate::text_enum! {
    /// What a tenant pays for; sets its connection allowance and request rate. A request that
    /// names no plan gets `free` (said where the request is read); a stored plan is never guessed.
    #[derive(utoipa::ToSchema)]
    pub enum Plan as "plan" {
        Free = "free",
        Pro = "pro",
        Enterprise = "enterprise",
    }
}

impl Plan {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_words_round_trip() {
        let words: Vec<_> = TenantStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            words,
            [
                "provisioning",
                "active",
                "suspended",
                "failed",
                "deleted",
                "moving"
            ]
        );
        for s in TenantStatus::ALL {
            assert_eq!(TenantStatus::parse(s.as_str()), Ok(s));
        }
        for p in Plan::ALL {
            assert_eq!(p.to_string().parse::<Plan>(), Ok(p));
        }
        assert_eq!(
            serde_json::to_value(Plan::Enterprise).unwrap(),
            "enterprise"
        );
    }

    #[test]
    fn the_api_schema_lists_the_words_not_the_variant_names() {
        let schema = <TenantStatus as utoipa::PartialSchema>::schema();
        assert_eq!(
            serde_json::to_value(schema).unwrap()["enum"],
            serde_json::json!(TenantStatus::TEXTS)
        );
        let schema = <Plan as utoipa::PartialSchema>::schema();
        assert_eq!(
            serde_json::to_value(schema).unwrap()["enum"],
            serde_json::json!(["free", "pro", "enterprise"])
        );
    }

    #[test]
    fn moving_is_entered_from_active_and_left_only_back_to_active() {
        use TenantStatus::*;
        for from in TenantStatus::ALL {
            assert_eq!(
                from.can_become(Moving),
                from == Active,
                "{from:?} -> moving"
            );
        }
        for to in TenantStatus::ALL {
            assert_eq!(Moving.can_become(to), to == Active, "moving -> {to:?}");
        }
    }

    #[test]
    fn unknown_words_are_errors_not_defaults() {
        let err = Plan::parse("gold").unwrap_err();
        assert_eq!(err.what, "plan");
        assert_eq!(err.value, "gold");
        assert!(TenantStatus::parse("Active").is_err());
        assert!(TenantStatus::parse("").is_err());
        assert!(serde_json::from_value::<Plan>("platinum".into()).is_err());
    }
}
