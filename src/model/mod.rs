//! The vocabulary every stage shares: units, limits, errors, back-off models. It
//! imports nothing else of the crate, so any stage may import it.

pub mod atomic_file;
pub mod backoff;
pub mod credentials;
pub mod error;
pub mod kinds;
pub mod limits;
pub mod names;
pub mod registry;
pub mod replication;
pub mod sla;
pub mod ticker;
pub mod toolbox;
pub mod units;
pub mod wire;
