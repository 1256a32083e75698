//! o11y: sets up and proves observability for the Cruddur Flask backend.
//! See docs/ARCHITECTURE.md for the layers and how to add an integration.

pub mod cli;
pub mod commands;
pub mod context;
pub mod doctor;
pub mod env;
pub mod error;
pub mod exit;
pub mod integrations;
pub mod listen;
pub mod net;
pub mod patch;
pub mod project;
pub mod report;
pub mod secrets;
pub mod spec;
pub mod ui;
