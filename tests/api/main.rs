//! End-to-end tests: the real server, over real HTTP, on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used)]

mod flow;
mod signup;
mod login;
