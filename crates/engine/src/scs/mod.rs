//! Sovereign Cloud Stack integration: the check-script protocol of `scs-check` ([`protocol`]),
//! the compliance report `report.yaml` ([`report`]), and signing and uploading it to the
//! compliance monitor ([`publish`]).

pub mod protocol;
pub mod publish;
pub mod report;
