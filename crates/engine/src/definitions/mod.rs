//! What is certified against: standard definitions (scopes, modules, test cases and their e2e
//! selections), waivers, the inventories of every spec of an e2e suite, and the images a run
//! needs. Loaded from the files built into the binary ([`builtin`]) or given by the user.

pub mod builtin;
pub mod catalog;
pub mod images;
pub mod inventory;
pub mod selection;
pub mod testname;
pub mod waiver;
