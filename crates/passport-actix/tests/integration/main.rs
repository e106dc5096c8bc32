//! The library's integration tests, in one binary (one link instead of five on a small
//! machine). Each module needs the cargo features it exercises.
#![allow(clippy::unwrap_used)]

mod api_key;
#[cfg(feature = "jwt")]
mod api_key_example;
#[cfg(all(feature = "jwt", feature = "local"))]
mod fuzz;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(feature = "local")]
mod local;
#[cfg(all(feature = "jwt", feature = "local"))]
mod middleware;
#[cfg(all(feature = "jwt", feature = "test-util"))]
mod session_tokens;
