-- PostgreSQL only (migrations/20261202000501_rate_limit_buckets.sql): instances on PostgreSQL
-- share their per-address rate limits through an unlogged table. On SQLite each server keeps
-- its limits in its own memory, so there is no table to create; this file keeps the two
-- migration histories in step.
SELECT 1;
