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

/// How long a user's access is cached: the bound within which a change made through
/// another replica (or straight in the database) takes effect here.
pub const USER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A user's current role, whether the account is active and its token version, cached
/// briefly (`USER_CACHE_TTL`) so a role change, deactivation or password change takes
/// effect on every replica within that bound without a query per request (and at once on
/// the replica that made it, which drops its entry).
#[derive(Clone, Debug)]
pub struct UserAccess {
    pub role: Role,
    pub active: bool,
    /// Tokens claiming another version were issued before a password change or a
    /// deactivation and no longer work.
    pub token_version: i32,
}
