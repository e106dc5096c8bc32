//! End-to-end tests: the real server, over real HTTP, on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used)]

mod cors;
mod faults;
mod flow;
mod input;
mod keys;
mod login;
mod races;
mod rate_limit;
mod resource_server;
mod signup;
mod timing;
mod tokens;
