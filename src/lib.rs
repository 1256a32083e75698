//! o11y: sets up and proves observability for the Cruddur Flask backend.
//! See DESIGN.md in the repository for the module map.

pub mod cli;
pub mod commands;
pub mod doctor;
pub mod error;
pub mod integrations;
pub mod listen;
pub mod patch;
pub mod project;
pub mod secrets;
pub mod ui;
