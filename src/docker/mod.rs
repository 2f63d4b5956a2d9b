//! The Docker engine: the API client drill acts through, and the helper images it
//! builds locally.

pub mod compose;
pub mod engine;
pub mod host;
pub mod images;
