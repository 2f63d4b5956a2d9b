//! What a person watches while a run goes on: progress lines and bars, the `live:`
//! lines and the full-screen dashboard, all fed by the run's events.

pub mod console;
pub mod dashboard;
pub mod live;

pub use console::Console;
