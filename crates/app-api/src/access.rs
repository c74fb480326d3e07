//! Who a tenant's user is allowed to be: the role and the cached access record. A leaf
//! module, so the extractor (`auth`), the users repository and the shared state all depend
//! on it and not on each other.

tenancy_core::text_enum! {
    /// What a tenant's user may do; stored in `users.role`.
    #[derive(utoipa::ToSchema)]
    pub enum Role as "role" {
        Admin = "admin",
        Agent = "agent",
        Customer = "customer",
    }
}

impl Role {
    /// Admins and agents work tickets; customers only see their own.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Admin | Self::Agent)
    }
}

/// A user's current role and whether the account is active, cached briefly so a role
/// change or deactivation takes effect within seconds without a query per request.
#[derive(Clone, Debug)]
pub struct UserAccess {
    pub role: Role,
    pub active: bool,
}
