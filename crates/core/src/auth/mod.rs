//! Who may do what: the access rules of the v1 API ([`access`]) and the signed tokens that
//! prove who is calling ([`tokens`]).

mod access;
pub mod oidc;
mod personal;
mod tokens;

pub use access::{Access, Principal, TaskGrant, ALL_PROJECTS};
pub use oidc::OidcVerifier;
pub use personal::{PersonalToken, PERSONAL_MAX_DAYS};
pub use tokens::{parse_ttl, IssuedToken, TokenAuthority};
