//! Papote: an anonymous, registration-free, real-time chat site with safety in every layer.
//!
//! Module map (who owns what):
//! - [`config`]: the one documented configuration (`papote serve` flags and `PAPOTE_*` variables).
//! - [`app`]: `start`/`run` wire a node on an already-bound listener: store, engine, hub, router.
//! - [`protocol`]: wire types by direction, `ClientMsg` (browser → server) and `ServerMsg`.
//! - [`http`]: axum routes (entry, communes, session, WebSocket upgrade, the embedded client).
//! - [`ws`]: the per-connection loop: reads frames, dispatches to the hub, writes in batches.
//! - [`entry`]: anonymous entry, the adults-only gate and device lock, postcodes and distances.
//! - [`hub`]: live state: sessions, rooms (one task each), private conversations, presence, outboxes.
//! - [`chat`]: the message pipeline, sanitise → rate limit → flood → safety.
//! - [`moderation`]: sanctions, statements of reasons, appeals, escalation, panic mode, audit.
//! - [`broker`]: what nodes share (events, claims, counters, liveness): in-process or Redis.
//! - [`store`]: the `Store` trait and its backends (SQLite embedded).
//! - [`telemetry`]: Prometheus metrics.
//! - [`i18n`]: every sentence the server says, in French and English.
//!
//! Dependency rule: `http` and `ws` call the domain (`entry`, `hub`, `chat`); the domain calls
//! `store`, `protocol` and `papote_safety`, never axum routing or sqlx directly.

pub mod app;
pub mod broker;
pub mod chat;
pub mod clock;
pub mod config;
pub mod entry;
pub mod http;
pub mod hub;
pub mod i18n;
pub mod moderation;
pub mod protocol;
pub mod store;
pub mod telemetry;
pub mod ws;
