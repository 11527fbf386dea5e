//! End-to-end tests of the `svckit` binary with real processes: every check reads what happened
//! from `/proc`, never from svckit's own word.

#![cfg(unix)]

mod activation;
mod ansible;
mod boot;
mod cli;
mod conditions;
mod containment;
mod daemonize;
mod daemons;
mod entrypoint;
mod hardening;
mod health;
mod import;
mod import_served;
mod init;
mod kill;
mod many;
mod memory_status;
mod notify;
mod operator;
mod pidfile;
mod scale;
mod static_build;
mod supervise;
mod support;
mod systemd;
mod terminal;
mod timelog;
mod unit_keys;
mod windows;
