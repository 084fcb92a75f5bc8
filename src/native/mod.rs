//! Native checks (placeholder).
