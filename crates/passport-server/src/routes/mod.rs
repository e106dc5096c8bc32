//! The HTTP routes.

mod bench;
mod health;
mod jwks;
mod login;
mod profile;
mod signup;

pub use bench::{bench_db, bench_guarded, bench_plain};
pub use health::{health, ready};
pub use jwks::jwks;
pub use login::login;
pub use profile::profile;
pub use signup::signup;
