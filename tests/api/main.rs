//! End-to-end tests: the real server, over real HTTP, on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used)]

mod admission;
mod audit;
mod cookies;
mod cors;
mod credential_races;
mod demo;
mod edges;
mod emails;
mod faults;
mod flow;
mod hashers;
mod input;
mod keys;
mod login;
mod mail;
mod metrics;
mod mfa;
mod oidc;
mod openapi;
mod races;
mod rate_limit;
mod refresh_grace;
mod resource_server;
mod revocation;
mod scaleout;
mod sessions;
mod signup;
mod slow_bodies;
mod timing;
mod tokens;
