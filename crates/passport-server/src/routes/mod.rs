//! The HTTP routes.

mod account;
mod bench;
mod health;
mod login;
mod logout;
mod profile;
mod refresh;
mod signup;

pub use account::{change_password, delete_account};
pub use bench::{bench_db, bench_guarded, bench_plain};
pub use health::{health, ready};
pub use login::login;
pub use logout::logout;
pub use profile::profile;
pub use refresh::refresh;
pub use signup::signup;
