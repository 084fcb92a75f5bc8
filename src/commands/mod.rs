//! One module per subcommand: each maps its arguments to engine calls and renders the result.

pub mod fleet;
pub mod images;
pub mod listing;
pub mod manage;
pub mod plan;
pub mod publish;
pub mod release_data;
pub mod run;
pub mod scs_check;
pub mod verdict;
