//! The passport-rs auth server: signup, login and JWT-guarded routes on PostgreSQL or an
//! embedded SQLite file, built on `passport-actix`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod browser;
pub mod client_ip;
pub mod configuration;
pub mod connections;
pub mod demo;
pub mod errors;
pub mod keygen;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod oidc;
pub mod openapi;
pub mod rate_limit;
pub mod revocation;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
