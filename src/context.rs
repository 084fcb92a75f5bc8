//! Loading what every command needs: the catalog, the waivers and the cluster context.

use jiff::civil::Date;
use scs_conformance::definitions::builtin;
use scs_conformance::definitions::catalog::{Catalog, SourceFile};
use scs_conformance::definitions::waiver::{self, Waiver};
use scs_conformance::evidence::cni::Cni;

use crate::Failure;
use crate::args::Definitions;

/// Loads and validates the standard definitions.
pub fn catalog(defs: &Definitions) -> Result<Catalog, Failure> {
    let files = match &defs.standards_dir {
        Some(dir) => SourceFile::read_dir(dir).map_err(Failure::input)?,
        None => builtin::standards(),
    };
    if files.is_empty() {
        return Err(Failure::input(format!(
            "no standard definitions (*.yaml) in {}",
            defs.standards_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        )));
    }
    Catalog::load(&files).map_err(|e| Failure::input(format!("invalid standard definitions:\n{e}")))
}

/// Loads the waivers (files, plus SCS's okToFail list when given).
pub fn waivers(defs: &Definitions, catalog: &Catalog) -> Result<Vec<Waiver>, Failure> {
    let files = match &defs.waivers_dir {
        Some(dir) => SourceFile::read_dir(dir).map_err(Failure::input)?,
        None => builtin::waivers(),
    };
    let mut all = waiver::load(&files, catalog)
        .map_err(|e| Failure::input(format!("invalid waivers:\n{e}")))?;
    if let Some(path) = &defs.waivers_from_scs {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        let file = SourceFile {
            name: path.display().to_string(),
            text,
        };
        all.extend(
            waiver::from_scs_ok_to_fail(&file)
                .map_err(|e| Failure::input(format!("invalid okToFail file:\n{e}")))?,
        );
    }
    Ok(all)
}

/// Parses `--cni`.
pub fn cni(flag: Option<&str>) -> Result<Option<Cni>, Failure> {
    flag.map(|v| Cni::from_flag(v).map_err(|e| Failure::input(format!("--cni: {e}"))))
        .transpose()
}

/// The reference date for waiver expiry: `--date`, or today (UTC).
pub fn today(date: Option<Date>) -> Date {
    date.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    })
}

/// Checks `--date` against the date of the evidence (`evidence`, UTC). A waiver date earlier
/// than the evidence's revives waivers that had expired when the evidence was produced: refused
/// for a report (`report`, i.e. `--subject`), else the warning returned goes into every output.
pub fn waiver_date(
    date: Option<Date>,
    evidence: Option<Date>,
    report: bool,
) -> Result<Option<String>, Failure> {
    let (Some(date), Some(evidence)) = (date, evidence) else {
        return Ok(None);
    };
    if date >= evidence {
        return Ok(None);
    }
    if report {
        return Err(Failure::input(format!(
            "--date {date} is earlier than the evidence (produced {evidence}): waivers would be \
             judged as of a day before the tests ran, reviving expired ones; a report \
             (--subject) needs --date {evidence} or later, or no --date"
        )));
    }
    Ok(Some(format!(
        "waivers judged as of --date {date}, earlier than the evidence (produced {evidence}): \
         waivers that had expired by then may have applied"
    )))
}
